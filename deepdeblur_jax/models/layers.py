"""Small layers shared by the generator: PyTorch-ordered PixelShuffle and the ResBlock."""

from typing import Any

import flax.linen as nn
import jax.numpy as jnp


def pixel_shuffle(x: jnp.ndarray, factor: int = 2) -> jnp.ndarray:
  """NHWC PixelShuffle with PyTorch's channel order.

  `out[n, r*h + i, r*w + j, c] = x[n, h, w, c*r*r + r*i + j]` (TensorFlow's depth_to_space uses a
  different order, so PyTorch weights would not load with it).
  """
  n, h, w, c = x.shape
  r = factor
  if c % (r * r):
    raise ValueError(f'pixel_shuffle needs channels divisible by {r * r}, got {c}')
  out_c = c // (r * r)
  x = x.reshape(n, h, w, out_c, r, r)
  x = x.transpose(0, 1, 4, 2, 5, 3)
  return x.reshape(n, h * r, w * r, out_c)


def same_conv(features: int, kernel_size: int, dtype: Any, name: str,
              use_bias: bool = True) -> nn.Conv:
  """A stride-1 conv with symmetric k//2 zero padding, as PyTorch's `padding=k//2`."""
  pad = kernel_size // 2
  return nn.Conv(features, (kernel_size, kernel_size), padding=((pad, pad), (pad, pad)),
                 use_bias=use_bias, dtype=dtype, param_dtype=jnp.float32, name=name)


class ResBlock(nn.Module):
  """conv -> ReLU -> conv plus identity; no normalisation, no residual scaling."""
  n_feats: int
  kernel_size: int
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    y = same_conv(self.n_feats, self.kernel_size, self.dtype, 'conv1')(x)
    y = nn.relu(y)
    y = same_conv(self.n_feats, self.kernel_size, self.dtype, 'conv2')(y)
    return x + y
