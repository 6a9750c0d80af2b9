"""Reading 8-bit RGB images and atomically writing 8/16-bit PNGs with Pillow."""

import os
import pathlib
from typing import Union

import numpy as np
from PIL import Image

from deepdeblur_jax import quantization
from deepdeblur_jax.atomic_files import atomic_open
from deepdeblur_jax.png import encode_png16

PathLike = Union[str, os.PathLike]

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def round_to_uint8(x: np.ndarray) -> np.ndarray:
  """Rounds floats on the [0, 255] scale half up to uint8, clipping to the range (the official
  rule, see `deepdeblur_jax.quantization`)."""
  return quantization.to_uint8(x)


def is_image_file(path: PathLike) -> bool:
  """Whether `path` has an image extension that Pillow reads."""
  return str(path).lower().endswith(IMAGE_EXTENSIONS)


def read_rgb_uint8(path: PathLike) -> np.ndarray:
  """Reads an image as an HxWx3 uint8 array; grayscale, palette and RGBA become RGB.

  Raises FileNotFoundError for a missing file and ValueError naming the path for a
  file Pillow cannot decode.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'image file not found: {path}')
  try:
    with Image.open(path) as img:
      img.load()
      if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        raise ValueError(f'{path}: 16/32-bit images are not supported (mode {img.mode})')
      rgb = img.convert('RGB')
  except (OSError, SyntaxError, Image.DecompressionBombError) as e:
    raise ValueError(f'cannot read image {path}: {e}') from e
  return np.asarray(rgb, dtype=np.uint8)


def image_size(path: PathLike) -> tuple[int, int]:
  """Returns (height, width) from the image header without decoding the pixels."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'image file not found: {path}')
  try:
    with Image.open(path) as img:
      width, height = img.size
  except (OSError, SyntaxError) as e:
    raise ValueError(f'cannot read image header of {path}: {e}') from e
  return height, width


def write_png(path: PathLike, array: np.ndarray) -> None:
  """Writes an HxW or HxWx{1,2,3,4} uint8 or uint16 array as PNG atomically, creating parent dirs.

  The image is written to a temporary file in the same folder and renamed, so a
  reader never sees a half-written file. 16-bit arrays are written as 16-bit PNG.
  """
  path = pathlib.Path(path)
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
