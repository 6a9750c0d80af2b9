"""PSNR and SSIM on device, following the DeepDeblur-PyTorch protocol (docs/evaluation.md).

Images are clipped to [0, rgb_range] and quantised to uint8 levels (the official save rule,
`deepdeblur_jax.quantization`) before measuring; PSNR is over
the full RGB image with peak 255; SSIM equals scikit-image's
`structural_similarity(channel_axis=-1, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)` (11x11 Gaussian, K1=0.01, K2=0.03), computed with
dm-pix, whose 'valid' filtering equals scikit-image's border crop.
"""

from typing import Dict

import dm_pix
import jax
import jax.numpy as jnp

from deepdeblur_jax import quantization


def quantize(images: jnp.ndarray, rgb_range: float = 1.0) -> jnp.ndarray:
  """Clips to [0, rgb_range] and rounds to the 256 uint8 levels as the official code saves images
  (.5 goes up, see `deepdeblur_jax.quantization`), returned as float32 in [0, 255]."""
  return quantization.quantize(images.astype(jnp.float32) * (255.0 / rgb_range))


def psnr(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """Per-image PSNR in dB of NHWC images on the [0, 255] scale."""
  mse = jnp.mean(jnp.square(a.astype(jnp.float32) - b.astype(jnp.float32)), axis=(1, 2, 3))
  return 10.0 * jnp.log10(255.0 ** 2 / mse)


def ssim(a: jnp.ndarray, b: jnp.ndarray) -> jnp.ndarray:
  """Per-image SSIM of NHWC images on the [0, 255] scale (scikit-image's Gaussian variant)."""
  return dm_pix.ssim(a.astype(jnp.float32), b.astype(jnp.float32), max_val=255.0,
                     filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)


@jax.jit
def image_metrics(output: jnp.ndarray, target: jnp.ndarray, rgb_range: float = 1.0
                  ) -> Dict[str, jnp.ndarray]:
  """{'psnr', 'ssim'} per image for NHWC `output` vs `target`, both in [0, rgb_range].

  Both are clipped and quantised to uint8 levels first, as when saving the output as PNG.
  """
  a = quantize(output, rgb_range)
  b = quantize(target, rgb_range)
  return {'psnr': psnr(a, b), 'ssim': ssim(a, b)}
