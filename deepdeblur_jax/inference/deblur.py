"""Deblurring images of any size with a trained generator (no TensorFlow needed)."""

import functools
from typing import Any, Callable, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from deepdeblur_jax.models.generator import MultiScaleGenerator
from deepdeblur_jax.models.pyramid import build_pyramid


def padded_size(h: int, w: int, multiple: int) -> Tuple[int, int]:
  """(H, W) rounded up to a multiple of `multiple`."""
  return -(-h // multiple) * multiple, -(-w // multiple) * multiple


@functools.lru_cache(maxsize=8)
def make_deblur_fn(model: MultiScaleGenerator) -> Callable[[Any, jnp.ndarray], jnp.ndarray]:
  """A jitted `fn(params, images) -> deblurred` for NHWC images in [0, rgb_range] of any size.

  Each image is padded by edge replication to a multiple of 2**(n_scales-1) (as
  DeepDeblur-PyTorch's demo does), the pyramid is built on device, and the finest output is
  cropped back. The output
  is float32 and not clipped. Compiles once per input shape.
  """
  multiple = 2 ** (model.n_scales - 1)

  @jax.jit
  def deblur(params: Any, images: jnp.ndarray) -> jnp.ndarray:
    n, h, w, c = images.shape
    if c != 3:
      raise ValueError(f'expected RGB images with 3 channels, got shape {images.shape}')
    ph, pw = padded_size(h, w, multiple)
    x = jnp.pad(images.astype(jnp.float32), ((0, 0), (0, ph - h), (0, pw - w), (0, 0)),
                mode='edge')
    outputs = model.apply({'params': params}, build_pyramid(x, model.n_scales))
    return outputs[0][:, :h, :w, :]

  return deblur


def deblur_image(params: Any, model: MultiScaleGenerator, image: np.ndarray) -> np.ndarray:
  """Deblurs one HxWx3 (or a batch NxHxWx3) float image in [0, rgb_range]; same shape out."""
  image = np.asarray(image, np.float32)
  batched = image.ndim == 4
  x = image if batched else image[None]
  out = np.asarray(make_deblur_fn(model)(params, jnp.asarray(x)))
  return out if batched else out[0]
