"""Gaussian image pyramid in JAX, matching `skimage.transform.pyramid_gaussian`.

DeepDeblur-PyTorch builds its input and target pyramids with
`pyramid_gaussian(img, max_layer, downscale=2, channel_axis=-1)`: each level blurs the previous one
with a Gaussian of sigma 2/3 (scipy `reflect` = NumPy `symmetric` padding, truncate 4.0 -> 7 taps)
and resizes it to ceil(d/2) with order-1 interpolation on the pixel grid (`grid_mode=True`).
This module does the same on device, inside `jit`, for NHWC batches.
"""

from typing import List, Tuple

import jax.numpy as jnp
import numpy as np

_DOWNSCALE = 2
_SIGMA = 2.0 * _DOWNSCALE / 6.0
_TRUNCATE = 4.0


def gaussian_taps(sigma: float = _SIGMA, truncate: float = _TRUNCATE) -> np.ndarray:
  """Normalised 1-D Gaussian taps as scipy.ndimage.gaussian_filter1d builds them."""
  radius = int(truncate * sigma + 0.5)
  x = np.arange(-radius, radius + 1, dtype=np.float64)
  taps = np.exp(-0.5 * (x / sigma) ** 2)
  return taps / taps.sum()


def _blur_axis(x: jnp.ndarray, taps: np.ndarray, axis: int) -> jnp.ndarray:
  """Correlates `x` with symmetric `taps` along `axis` with half-sample symmetric padding."""
  radius = len(taps) // 2
  size = x.shape[axis]
  pad = [(0, 0)] * x.ndim
  pad[axis] = (radius, radius)
  if size > radius:
    padded = jnp.pad(x, pad, mode='symmetric')
  else:  # tiny images: scipy keeps reflecting; emulate with explicit indices
    idx = np.arange(-radius, size + radius)
    period = 2 * size
    idx = np.mod(idx, period)
    idx = np.where(idx >= size, period - 1 - idx, idx)
    padded = jnp.take(x, idx, axis=axis)
  out = 0.0
  for k, w in enumerate(taps):
    out = out + float(w) * jnp.take(padded, np.arange(k, k + size), axis=axis)
  return out


def _linear_resize_axis(x: jnp.ndarray, out_size: int, axis: int) -> jnp.ndarray:
  """Order-1 resize on the pixel grid (scipy zoom with grid_mode=True) along `axis`."""
  in_size = x.shape[axis]
  if in_size == out_size:
    return x
  coords = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
  coords = np.clip(coords, 0.0, in_size - 1)
  lo = np.floor(coords).astype(np.int64)
  hi = np.minimum(lo + 1, in_size - 1)
  frac = (coords - lo).astype(np.float32)
  shape = [1] * x.ndim
  shape[axis] = out_size
  frac = jnp.asarray(frac.reshape(shape), dtype=x.dtype)
  x_lo = jnp.take(x, lo, axis=axis)
  x_hi = jnp.take(x, hi, axis=axis)
  return x_lo * (1.0 - frac) + x_hi * frac


def pyramid_reduce(images: jnp.ndarray) -> jnp.ndarray:
  """One pyramid level down: Gaussian blur then resize NHWC `images` to ceil(H/2) x ceil(W/2)."""
  if images.ndim != 4:
    raise ValueError(f'pyramid_reduce expects NHWC images, got shape {images.shape}')
  taps = gaussian_taps()
  x = images.astype(jnp.float32)
  x = _blur_axis(_blur_axis(x, taps, axis=1), taps, axis=2)
  out_h, out_w = level_shape(images.shape[1:3], 1)
  x = _linear_resize_axis(x, out_h, axis=1)
  return _linear_resize_axis(x, out_w, axis=2)


def level_shape(hw: Tuple[int, int], level: int) -> Tuple[int, int]:
  """The (H, W) of pyramid `level` for a finest image of size `hw` (ceil halving)."""
  h, w = int(hw[0]), int(hw[1])
  for _ in range(level):
    h, w = -(-h // _DOWNSCALE), -(-w // _DOWNSCALE)
  return h, w


def build_pyramid(images: jnp.ndarray, n_scales: int) -> List[jnp.ndarray]:
  """Gaussian pyramid of NHWC (or HWC) `images` with `n_scales` levels, finest first.

  Level 0 is the input itself (as float32); level k equals
  `skimage.transform.pyramid_gaussian(img, n_scales - 1, channel_axis=-1)` level k.
  """
  if n_scales < 1:
    raise ValueError(f'n_scales must be >= 1, got {n_scales}')
  squeeze = images.ndim == 3
  x = images[None] if squeeze else images
  levels = [x.astype(jnp.float32)]
  for _ in range(n_scales - 1):
    levels.append(pyramid_reduce(levels[-1]))
  return [level[0] for level in levels] if squeeze else levels
