"""DeepDeblur's GAN discriminator: 10 bias-free convs + 1x1 logits."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

# (features, kernel, stride, padding) as in DeepDeblur-PyTorch.
LAYERS = (
    (32, 5, 1, 2), (32, 5, 2, 2), (64, 5, 1, 2), (64, 5, 2, 2), (128, 5, 1, 2),
    (128, 5, 4, 2), (256, 5, 1, 2), (256, 5, 4, 2), (512, 5, 1, 2), (512, 4, 4, 0),
)


def output_size(size: int) -> int:
  """Spatial size of the logit map for an input side of `size` (0 when too small)."""
  for _, kernel, stride, pad in LAYERS:
    size = (size + 2 * pad - kernel) // stride + 1
    if size < 1:
      return 0
  return size


MIN_INPUT_SIZE = next(s for s in range(1, 1024) if output_size(s) >= 1)


class Discriminator(nn.Module):
  """Maps NHWC images to a map of real/fake logits, shape (N, h, w, 1).

  A 256x256 patch gives one logit; any side >= MIN_INPUT_SIZE (193) works and gives an
  (h, w) map of logits over overlapping receptive fields (losses average over it).
  """
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    h, w = x.shape[1:3]
    if min(h, w) < MIN_INPUT_SIZE:
      raise ValueError(
          f'discriminator input {h}x{w} is too small: both sides must be >= {MIN_INPUT_SIZE} '
          '(use patch_size >= 256 with the adversarial loss)')
    x = x.astype(self.dtype)
    for i, (features, kernel, stride, pad) in enumerate(LAYERS):
      x = nn.Conv(features, (kernel, kernel), strides=(stride, stride),
                  padding=((pad, pad), (pad, pad)), use_bias=False, dtype=self.dtype,
                  param_dtype=jnp.float32, name=f'conv_{i}')(x)
      x = nn.leaky_relu(x, negative_slope=0.2)
    x = nn.Conv(1, (1, 1), use_bias=False, dtype=self.dtype, param_dtype=jnp.float32,
                name='dense')(x)
    return x.astype(jnp.float32)
