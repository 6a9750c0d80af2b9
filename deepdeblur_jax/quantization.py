"""The one rounding rule for images that are written or measured: DeepDeblur-PyTorch's.

The official code saves outputs with `output.add_(0.5).clamp_(0, 255)` followed by a cast to
uint8, which truncates (src/utils.py, `save_image`): values exactly at .5 go up. `quantize`
applies that rule on any peak (255 for 8-bit, 65535 for 16-bit) to NumPy and JAX arrays alike,
so a PNG written by the tools and the PSNR/SSIM measured in memory see the same levels.
(The official in-training metric, src/loss/__init__.py `measure`, uses `torch.round` instead,
which rounds exact .5 ties to even; the two differ only on exact ties.) TensorFlow code that
cannot call this (data/input_pipeline.py) writes the same expression.
"""

from typing import Any

import numpy as np


def quantize(x: Any, peak: float = 255.0) -> Any:
  """floor(clip(x + 0.5, 0, peak)) in x's float dtype, for NumPy or JAX arrays (jit-safe)."""
  if not hasattr(x, '__array_namespace__'):
    x = np.asarray(x)
  xp = x.__array_namespace__()
  return xp.floor(xp.clip(x + 0.5, 0.0, peak))


def to_uint8(x: Any) -> np.ndarray:
  """Floats on the [0, 255] scale -> uint8 NumPy array by `quantize` (clipped, .5 goes up)."""
  return np.asarray(quantize(np.asarray(x))).astype(np.uint8)


def to_uint16(x: Any) -> np.ndarray:
  """Floats on the [0, 65535] scale -> uint16 NumPy array by `quantize`."""
  return np.asarray(quantize(np.asarray(x), 65535.0)).astype(np.uint16)
