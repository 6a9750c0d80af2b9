"""Deblurring images of any size in overlapping tiles, so memory stays bounded.

The image is edge-padded to a multiple of m = 2**(n_scales-1) (as the untiled path does) and cut
into tiles whose corners are multiples of m, so every tile's Gaussian pyramid lies on the same
grid as the whole image's. Tiles are blended with weights that ramp linearly across each overlap
(1 inside, falling linearly to 0 over the middle half of the overlap and 0 on its outer quarter,
on the sides that face a neighbour; image borders keep weight 1), so each tile's outermost pixels,
which see its edge most, do not count.
"""

import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

import jax
import numpy as np

from deepdeblur_jax.inference.deblur import make_deblur_fn, padded_size
from deepdeblur_jax.models.generator import MultiScaleGenerator

# Budgeted activation bytes per input pixel = BYTES_FACTOR * n_feats * bytes per value, used only
# to pick a default tile. Measured peak on XLA:CPU for the default model in float32: ~0.85 KB per
# pixel (RSS growth from 64x64 to 360x640); the budget assumes 4 KB (about 5x margin for GPU conv
# workspace, not measured on a GPU here), so 1920x1088 runs whole within 8 GiB.
BYTES_FACTOR = 16
CPU_BUDGET_BYTES = 4 << 30
ACCELERATOR_FRACTION = 0.5


def tile_starts(size: int, tile: int, overlap: int, multiple: int) -> List[int]:
  """Start offsets (multiples of `multiple`) of tiles of length `tile` covering [0, size).

  `size` and `tile` must be multiples of `multiple`; neighbours overlap by at least `overlap`.
  """
  if size % multiple or tile % multiple:
    raise ValueError(f'size {size} and tile {tile} must be multiples of {multiple}')
  if tile >= size:
    return [0]
  if overlap >= tile:
    raise ValueError(f'overlap {overlap} must be smaller than the tile {tile}')
  # Rounding starts to multiples moves each by < multiple/2, so aim for steps `multiple` shorter.
  step = max(multiple, tile - overlap - multiple)
  count = 1 + math.ceil((size - tile) / step)
  starts = [round(i * (size - tile) / (count - 1) / multiple) * multiple for i in range(count)]
  return sorted(set(starts))


def _edge_ramp(overlap: int) -> np.ndarray:
  """Weights rising 0 -> 1 across an overlap: 0 on the outer quarter (the pixels that see the
  tile edge most), linear over the middle half, 1 on the inner quarter."""
  x = (np.arange(overlap) + 0.5) / overlap
  return np.clip((x - 0.25) * 2.0, 0.0, 1.0).astype(np.float32)


def ramp(length: int, start: int, size: int, overlaps: Tuple[int, int]) -> np.ndarray:
  """1-D blend weights of one tile: linear ramps over the overlap with each neighbour.

  Facing ramps of two neighbours sum to 1 at every pixel of their overlap.
  """
  w = np.ones(length, np.float32)
  before, after = overlaps
  if start > 0 and before > 0:
    w[:before] = np.minimum(w[:before], _edge_ramp(before))
  if start + length < size and after > 0:
    w[-after:] = np.minimum(w[-after:], _edge_ramp(after)[::-1])
  return w


def _axis_plan(size: int, tile: int, overlap: int, multiple: int
               ) -> List[Tuple[int, np.ndarray]]:
  """[(start, weights)] along one axis."""
  starts = tile_starts(size, tile, overlap, multiple)
  length = min(tile, size)
  plan = []
  for i, s in enumerate(starts):
    before = starts[i - 1] + length - s if i > 0 else 0
    after = s + length - starts[i + 1] if i + 1 < len(starts) else 0
    plan.append((s, ramp(length, s, size, (before, after))))
  return plan


def deblur_tiled(deblur_fn: Callable[[Any, Any], Any], params: Any, image: np.ndarray,
                 tile: Tuple[int, int], overlap: int, multiple: int, batch: int = 1
                 ) -> np.ndarray:
  """Deblurs an HxWx3 float image (model range) tile by tile; returns HxWx3 float32.

  `deblur_fn(params, NHWC)` is a model's jitted deblur function; `tile` (th, tw) and `overlap`
  are rounded up to multiples of `multiple`; `batch` tiles go through the model at once.
  """
  h, w = image.shape[:2]
  ph, pw = padded_size(h, w, multiple)
  padded = np.pad(np.asarray(image, np.float32), ((0, ph - h), (0, pw - w), (0, 0)), mode='edge')
  th = min(-(-tile[0] // multiple) * multiple, ph)
  tw = min(-(-tile[1] // multiple) * multiple, pw)
  overlap = -(-overlap // multiple) * multiple
  rows = _axis_plan(ph, th, overlap, multiple)
  cols = _axis_plan(pw, tw, overlap, multiple)
  jobs = [(y, wy, x, wx) for y, wy in rows for x, wx in cols]
  out = np.zeros_like(padded)
  total = np.zeros((ph, pw, 1), np.float32)
  for i in range(0, len(jobs), batch):
    chunk = jobs[i:i + batch]
    tiles = np.stack([padded[y:y + th, x:x + tw] for y, _, x, _ in chunk])
    if len(chunk) < batch:  # keep one compiled shape
      tiles = np.concatenate([tiles, np.repeat(tiles[-1:], batch - len(chunk), axis=0)])
    results = np.asarray(deblur_fn(params, tiles))
    for (y, wy, x, wx), result in zip(chunk, results):
      weight = (wy[:, None] * wx[None, :])[..., None]
      out[y:y + th, x:x + tw] += result * weight
      total[y:y + th, x:x + tw] += weight
  return out[:h, :w] / total[:h, :w]


def memory_budget(device: Optional[Any] = None) -> int:
  """Bytes the model may use: half an accelerator's memory, or CPU_BUDGET_BYTES on a CPU."""
  device = device or jax.devices()[0]
  if device.platform != 'cpu':
    stats = device.memory_stats() or {}
    if 'bytes_limit' in stats:
      return int(stats['bytes_limit'] * ACCELERATOR_FRACTION)
  return CPU_BUDGET_BYTES


def auto_tile(height: int, width: int, model: MultiScaleGenerator,
              budget_bytes: Optional[int] = None) -> Optional[Tuple[int, int]]:
  """None when the whole image fits the memory budget, else a square tile (multiple of m).

  With the default model (64 features, float32) a 16 GiB accelerator takes 1920x1088 whole.
  """
  budget = memory_budget() if budget_bytes is None else budget_bytes
  bytes_per_value = np.dtype(model.dtype).itemsize
  max_pixels = budget // (BYTES_FACTOR * model.n_feats * bytes_per_value)
  multiple = 2 ** (model.n_scales - 1)
  ph, pw = padded_size(height, width, multiple)
  if ph * pw <= max_pixels:
    return None
  side = max(multiple, int(math.isqrt(int(max_pixels))) // multiple * multiple)
  return side, side


def deblur_array(params: Any, model: MultiScaleGenerator, image: np.ndarray,
                 tile: Optional[Sequence[int]] = None, overlap: int = 96, batch: int = 1,
                 budget_bytes: Optional[int] = None) -> np.ndarray:
  """Deblurs an HxWx3 float image in [0, rgb_range], whole or in tiles; HxWx3 float32 out.

  `tile=None` picks automatically (`auto_tile`); `tile=(0, 0)` forces one piece.
  """
  h, w = image.shape[:2]
  if tile is None:
    tile = auto_tile(h, w, model, budget_bytes)
    if tile is not None:  # a small budget must not make the overlap swallow the tile
      overlap = min(overlap, tile[0] // 2)
  elif tuple(tile) == (0, 0):
    tile = None
  fn = make_deblur_fn(model)
  if tile is None:
    return np.asarray(fn(params, np.asarray(image, np.float32)[None]))[0]
  return deblur_tiled(fn, params, image, (int(tile[0]), int(tile[1])), overlap,
                      2 ** (model.n_scales - 1), batch)
