"""16-bit PNG reading and writing, which Pillow lacks for colour images (NumPy + zlib).

Pillow decodes a 16-bit RGB(A) PNG only to 8 bits (the high bytes). `read_png16` asks Pillow's
own decoder a second time for the low bytes (its little-endian raw mode) and joins the two, so
every PNG filter type is handled by Pillow. `write_png16` encodes with the Sub filter.
"""

import struct
import zlib
from typing import Optional

import numpy as np
from PIL import Image

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def _chunk(kind: bytes, data: bytes) -> bytes:
  return (struct.pack('>I', len(data)) + kind + data
          + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png16(array: np.ndarray, level: int = 6) -> bytes:
  """PNG bytes of an HxW or HxWxC (C in 1..4) uint16 array."""
  a = np.asarray(array)
  if a.dtype != np.uint16:
    raise ValueError(f'encode_png16 needs uint16, got {a.dtype}')
  if a.ndim == 2:
    a = a[..., None]
  if a.ndim != 3 or a.shape[2] not in _COLOR_TYPES:
    raise ValueError(f'encode_png16 needs HxW or HxWxC with C in 1..4, got shape {a.shape}')
  h, w, c = a.shape
  raw = np.ascontiguousarray(a.astype('>u2')).view(np.uint8).reshape(h, w * c * 2)
  bpp = 2 * c
  filtered = raw.copy()
  filtered[:, bpp:] = raw[:, bpp:] - raw[:, :-bpp]  # Sub filter, uint8 arithmetic wraps mod 256
  data = np.concatenate([np.ones((h, 1), np.uint8), filtered], axis=1).tobytes()
  header = struct.pack('>IIBBBBB', w, h, 16, _COLOR_TYPES[c], 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + _chunk(b'IHDR', header)
          + _chunk(b'IDAT', zlib.compress(data, level)) + _chunk(b'IEND', b''))


def read_png16(path: str) -> Optional[np.ndarray]:
  """HxW or HxWxC uint16 array of a 16-bit PNG, or None when the file is not a 16-bit PNG
  (or is 16-bit grey+alpha, which Pillow cannot split into bytes)."""
  with Image.open(path) as im:
    if im.format != 'PNG' or len(im.tile) != 1:
      return None
    rawmode = im.tile[0].args
    if im.mode == 'I;16' or rawmode in ('I;16B', 'I;16'):
      return np.asarray(im, dtype=np.uint16).copy()
    if rawmode not in ('RGB;16B', 'RGBA;16B'):
      return None
    high = np.asarray(im).astype(np.uint16)
  with Image.open(path) as im:
    tile = im.tile[0]
    im.tile = [tile._replace(args=rawmode.replace(';16B', ';16L'))]
    low = np.asarray(im).astype(np.uint16)
  return (high << 8) | low
