"""Still images: one decoder of image files, two views of it, and one PNG writer.

`_decode` reads 8-bit and 16-bit PNG, JPEG, BMP, TIFF, WebP; palette and CMYK images become
RGB[A], bilevel becomes grey. Its two views:
- `read_photo`, for the photos a user deblurs: float RGB + alpha and what is needed to write
  the result back alike (grey replicated to RGB and averaged back, alpha passed through, 16-bit
  kept), with the EXIF orientation of camera photos applied;
- `read_rgb_uint8`, for dataset frames: exact 8-bit RGB values as stored (no EXIF rotation, so
  `image_size`, which reads only the header, agrees with it); 16-bit frames are refused.
`write_png` writes 8/16-bit PNGs atomically. No TensorFlow.
"""

import dataclasses
import os
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from deepdeblur_jax import quantization
from deepdeblur_jax.io import storage
from deepdeblur_jax.io.atomic import atomic_open
from deepdeblur_jax.io.png16 import encode_png16, read_png16

PathLike = Union[str, os.PathLike]

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class ImageError(ValueError):
  """An input image cannot be read; the message names the file."""


@dataclasses.dataclass
class Photo:
  """An image as the model sees it plus what is needed to write the result alike.

  rgb: float32 HxWx3 in [0, 1]. alpha: float32 HxW in [0, 1] or None. channels: 1 (grey),
  2 (grey + alpha), 3 or 4, as in the file. bit_depth: 8 or 16.
  """
  rgb: np.ndarray
  alpha: Optional[np.ndarray]
  channels: int
  bit_depth: int


def round_to_uint8(x: np.ndarray) -> np.ndarray:
  """Rounds floats on the [0, 255] scale half up to uint8, clipping to the range (the official
  rule, see `deepdeblur_jax.quantization`)."""
  return quantization.to_uint8(x)


def is_image_file(path: PathLike) -> bool:
  """Whether `path` has an image extension that Pillow reads."""
  return str(path).lower().endswith(IMAGE_EXTENSIONS)


def _decode(path: PathLike, orient: bool) -> tuple[np.ndarray, int]:
  """(pixels as stored: HxW or HxWxC uint8/uint16 with C in 2..4, bit depth 8 or 16) of an image
  file, turned by its EXIF orientation when `orient`; raises ImageError naming `path`."""
  try:
    source = storage.readable(path)  # a local path, or a bucket object's bytes
    png16 = read_png16(source)
    if png16 is not None:
      return png16, 16
    with Image.open(source) as im:
      if orient:
        im = ImageOps.exif_transpose(im)
      if im.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N'):
        return np.asarray(im, np.uint16), 16
      if im.mode in ('I', 'F'):  # 16/32-bit grey TIFFs
        values = np.asarray(im)
        if values.dtype.kind == 'f' or values.max() > 65535 or values.min() < 0:
          raise ImageError(f'{path}: {im.mode} image with values outside 0..65535 is not supported')
        return values.astype(np.uint16), 16
      if im.mode == 'P':
        im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
      elif im.mode in ('1', 'L'):
        im = im.convert('L')
      elif im.mode not in ('LA', 'RGB', 'RGBA'):
        im = im.convert('RGBA' if 'A' in im.mode else 'RGB')
      return np.asarray(im), 8
  except ImageError:
    raise
  except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
          Image.DecompressionBombError) as e:
    raise ImageError(f'cannot read image {path}: {e}') from e


def _from_array(array: np.ndarray, bit_depth: int) -> Photo:
  peak = 65535.0 if bit_depth == 16 else 255.0
  a = np.asarray(array, np.float32) / peak
  if a.ndim == 2:
    a = a[..., None]
  channels = a.shape[2]
  color = a[..., :1] if channels in (1, 2) else a[..., :3]
  alpha = a[..., -1] if channels in (2, 4) else None
  return Photo(np.ascontiguousarray(np.broadcast_to(color, a.shape[:2] + (3,))), alpha,
               channels, bit_depth)


def read_photo(path: PathLike) -> Photo:
  """Reads an image file, EXIF orientation applied; raises ImageError naming `path` when it
  cannot be decoded."""
  return _from_array(*_decode(path, orient=True))


def read_rgb_uint8(path: PathLike) -> np.ndarray:
  """Reads an 8-bit image as an HxWx3 uint8 array, values as stored; grayscale, palette and
  RGBA become RGB (alpha dropped).

  Raises FileNotFoundError for a missing file and ImageError (a ValueError) naming the path for
  a file that cannot be decoded or is 16-bit.
  """
  path = storage.path(path, expand_user=False)
  if not path.is_file():
    raise FileNotFoundError(f'image file not found: {path}')
  array, bit_depth = _decode(path, orient=False)
  if bit_depth != 8:
    raise ImageError(f'{path}: 16-bit images are not supported as data (8-bit RGB expected)')
  if array.ndim == 2:
    array = array[..., None]
  color = array[..., :1] if array.shape[2] in (1, 2) else array[..., :3]
  return np.ascontiguousarray(np.broadcast_to(color, array.shape[:2] + (3,)))


def image_size(path: PathLike) -> tuple[int, int]:
  """Returns (height, width) from the image header without decoding the pixels."""
  path = storage.path(path, expand_user=False)
  if not path.is_file():
    raise FileNotFoundError(f'image file not found: {path}')
  try:
    with Image.open(storage.readable(path)) as img:
      width, height = img.size
  except (OSError, SyntaxError) as e:
    raise ValueError(f'cannot read image header of {path}: {e}') from e
  return height, width


def to_array(rgb: np.ndarray, like: Photo) -> np.ndarray:
  """Clips float RGB in [0, 1] and quantises it to `like`'s bit depth and channel layout."""
  peak = 65535.0 if like.bit_depth == 16 else 255.0
  dtype = np.uint16 if like.bit_depth == 16 else np.uint8
  color = np.clip(np.asarray(rgb, np.float32), 0.0, 1.0)
  if like.channels in (1, 2):
    color = color.mean(axis=-1, keepdims=True)
  if like.alpha is not None:
    color = np.concatenate([color, like.alpha[..., None]], axis=-1)
  out = quantization.quantize(color * np.float32(peak), peak).astype(dtype)
  return out[..., 0] if out.shape[-1] == 1 else out


def write_png(path: PathLike, array: np.ndarray) -> None:
  """Writes an HxW or HxWx{1,2,3,4} uint8 or uint16 array as PNG atomically, creating parent dirs.

  The image is written to a temporary file in the same folder and renamed, so a
  reader never sees a half-written file. 16-bit arrays are written as 16-bit PNG.
  """
  path = storage.path(path, expand_user=False)
  array = np.asarray(array)
  if array.dtype not in (np.uint8, np.uint16):
    raise ValueError(f'{path}: expected a uint8 or uint16 array, got {array.dtype}')
  if array.ndim == 3 and array.shape[-1] == 1:
    array = array[..., 0]
  if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (2, 3, 4))):
    raise ValueError(f'{path}: expected HxW or HxWx{{1,2,3,4}}, got shape {array.shape}')
  with atomic_open(path) as f:
    if array.dtype == np.uint16:
      f.write(encode_png16(array))
    else:
      Image.fromarray(array).save(f, format='PNG', compress_level=1)


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
  """Two equal-shaped arrays next to each other with a white gap (for --compare)."""
  if left.shape != right.shape:
    raise ValueError(f'side_by_side needs equal shapes, got {left.shape} and {right.shape}')
  peak = np.iinfo(left.dtype).max if left.dtype.kind == 'u' else 1.0
  spacer = np.full((left.shape[0], gap) + left.shape[2:], peak, left.dtype)
  return np.concatenate([left, spacer, right], axis=1)
