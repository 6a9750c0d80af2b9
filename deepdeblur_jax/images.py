"""Reading any photo as float RGB (+ alpha) and writing the result back in the same layout.

Handles 8-bit and 16-bit PNG, JPEG, BMP, TIFF, WebP; grayscale (replicated to RGB and averaged
back), RGBA (alpha passed through untouched), palette and CMYK images (converted to RGB[A]),
and the EXIF orientation of camera photos. 16-bit inputs are processed at float precision and
written as 16-bit PNG. No TensorFlow.
"""

import dataclasses
from typing import Optional

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from deepdeblur_jax import quantization
from deepdeblur_jax.png import read_png16


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


def read_photo(path: str) -> Photo:
  """Reads an image file; raises ImageError naming `path` when it cannot be decoded."""
  try:
    png16 = read_png16(path)
    if png16 is not None:
      return _from_array(png16, 16)
    with Image.open(path) as im:
      im = ImageOps.exif_transpose(im)
      if im.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N'):
        return _from_array(np.asarray(im, np.uint16), 16)
      if im.mode in ('I', 'F'):  # 16/32-bit grey TIFFs
        values = np.asarray(im)
        if values.dtype.kind == 'f' or values.max() > 65535 or values.min() < 0:
          raise ImageError(f'{path}: {im.mode} image with values outside 0..65535 is not supported')
        return _from_array(values.astype(np.uint16), 16)
      if im.mode == 'P':
        im = im.convert('RGBA' if 'transparency' in im.info else 'RGB')
      elif im.mode in ('1', 'L'):
        im = im.convert('L')
      elif im.mode not in ('LA', 'RGB', 'RGBA'):
        im = im.convert('RGBA' if 'A' in im.mode else 'RGB')
      return _from_array(np.asarray(im), 8)
  except ImageError:
    raise
  except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
          Image.DecompressionBombError) as e:
    raise ImageError(f'{path}: cannot read image ({e})') from e


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


def side_by_side(left: np.ndarray, right: np.ndarray, gap: int = 8) -> np.ndarray:
  """Two equal-shaped arrays next to each other with a white gap (for --compare)."""
  if left.shape != right.shape:
    raise ValueError(f'side_by_side needs equal shapes, got {left.shape} and {right.shape}')
  peak = np.iinfo(left.dtype).max if left.dtype.kind == 'u' else 1.0
  spacer = np.full((left.shape[0], gap) + left.shape[2:], peak, left.dtype)
  return np.concatenate([left, spacer, right], axis=1)
