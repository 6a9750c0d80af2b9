"""The coarse-to-fine multi-scale generator of Nah et al. (CVPR 2017).

Parameter layout (index 0 is the FINEST scale, as in DeepDeblur-PyTorch):
  scale_{s}/head, scale_{s}/resblock_{1..n}/conv{1,2}, scale_{s}/tail   for s in 0..K-1
  upsample_{s}/conv                                                     for s in 1..K-1
`upsample_{s}` upsamples the output of scale s to the size of scale s-1.
"""

from typing import Any, List, Sequence

import flax.linen as nn
import jax.numpy as jnp

from deepdeblur_jax.models.layers import ResBlock, pixel_shuffle, same_conv

UPSAMPLE_MODES = ('pixel_shuffle', 'conv_transpose')
# Rematerialisation (jax.checkpoint via nn.remat): what the backward pass recomputes instead of
# keeping in memory. 'none' keeps every activation; 'resblock' keeps only each ResBlock's input
# (its two convs run again in the backward pass); 'scale' keeps only each scale's input (the
# whole scale runs again). Outputs and gradients are the same; only memory and FLOPs change.
REMAT_MODES = ('none', 'resblock', 'scale')


class ScaleResNet(nn.Module):
  """One scale: head conv -> n ResBlocks -> tail conv to 3 channels (no global skip)."""
  n_resblocks: int
  n_feats: int
  kernel_size: int
  dtype: Any = jnp.float32
  remat_resblocks: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    x = same_conv(self.n_feats, self.kernel_size, self.dtype, 'head')(x)
    block = nn.remat(ResBlock) if self.remat_resblocks else ResBlock
    for i in range(1, self.n_resblocks + 1):
      x = block(self.n_feats, self.kernel_size, self.dtype, name=f'resblock_{i}')(x)
    return same_conv(3, self.kernel_size, self.dtype, 'tail')(x)


class Upsample(nn.Module):
  """The paper's up-convolution: conv 3->12 + PixelShuffle(2), or a stride-2 transposed conv."""
  kernel_size: int
  mode: str = 'pixel_shuffle'
  dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    if self.mode == 'pixel_shuffle':
      return pixel_shuffle(same_conv(12, self.kernel_size, self.dtype, 'conv')(x), 2)
    if self.mode == 'conv_transpose':
      k = self.kernel_size
      return nn.ConvTranspose(3, (k, k), strides=(2, 2), padding='SAME', dtype=self.dtype,
                              param_dtype=jnp.float32, name='conv')(x)
    raise ValueError(f'upsample must be one of {UPSAMPLE_MODES}, got {self.mode!r}')


class MultiScaleGenerator(nn.Module):
  """DeepDeblur's generator: maps a blurry pyramid (finest first) to one image per scale.

  Inputs and outputs are NHWC in [0, rgb_range]; the mean rgb_range/2 is subtracted from every
  input level and added back to every output. Outputs are float32 and not clipped.
  """
  n_scales: int = 3
  n_resblocks: int = 19
  n_feats: int = 64
  kernel_size: int = 5
  upsample: str = 'pixel_shuffle'
  rgb_range: float = 1.0
  dtype: Any = jnp.float32
  remat: str = 'none'  # one of REMAT_MODES; changes memory and FLOPs, not the result

  @nn.compact
  def __call__(self, pyramid: Sequence[jnp.ndarray]) -> List[jnp.ndarray]:
    if len(pyramid) != self.n_scales:
      raise ValueError(f'expected a pyramid of {self.n_scales} levels, got {len(pyramid)}')
    if self.remat not in REMAT_MODES:
      raise ValueError(f'remat must be one of {REMAT_MODES}, got {self.remat!r}')
    scale_net = nn.remat(ScaleResNet) if self.remat == 'scale' else ScaleResNet
    mean = self.rgb_range / 2.0
    inputs = [jnp.asarray(level, self.dtype) - jnp.asarray(mean, self.dtype) for level in pyramid]
    outputs: List[Any] = [None] * self.n_scales
    x = inputs[-1]
    for s in reversed(range(self.n_scales)):
      outputs[s] = scale_net(self.n_resblocks, self.n_feats, self.kernel_size, self.dtype,
                             self.remat == 'resblock', name=f'scale_{s}')(x)
      if s > 0:
        up = Upsample(self.kernel_size, self.upsample, self.dtype, name=f'upsample_{s}')(outputs[s])
        finer = inputs[s - 1]
        if up.shape[1:3] != finer.shape[1:3]:
          raise ValueError(
              f'scale {s} output upsamples to {up.shape[1:3]} but scale {s - 1} is '
              f'{finer.shape[1:3]}: image sizes must be divisible by 2**(n_scales-1)')
        x = jnp.concatenate([finer, up.astype(self.dtype)], axis=-1)
    return [out.astype(jnp.float32) + mean for out in outputs]
