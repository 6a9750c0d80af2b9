"""Our own PyTorch implementation of the DeepDeblur architecture (the official DeepDeblur-PyTorch).

It reproduces the official DeepDeblur-PyTorch state_dict keys exactly, so a file saved from it
has the same layout as a released `model-N.pt`:

  body_models.{s}.body.0            head conv (6 in, or 3 at the coarsest scale)
  body_models.{s}.body.{1..n}.body.{0,2}  ResBlock convs
  body_models.{s}.body.{n+1}        tail conv to 3 channels
  conv_end_models.{s}.uppath.0      conv 3 -> 12 before PixelShuffle(2), for s in 1..K-1

Scale 0 is the finest. Images are on [0, rgb_range] (255 in the official code) and the mean
rgb_range/2 is subtracted from every level and added back to every output. Used by the converter
tests and by benchmarks; never imported by the JAX package.
"""

import pathlib
import subprocess
import sys
from typing import List, Optional, Sequence

import torch
from torch import nn


def default_conv(in_ch: int, out_ch: int, kernel_size: int, bias: bool = True) -> nn.Conv2d:
  """Stride-1 conv with k//2 zero padding."""
  return nn.Conv2d(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias)


class ResBlock(nn.Module):
  """conv -> ReLU -> conv plus identity (keys `body.0`, `body.2`)."""

  def __init__(self, n_feats: int, kernel_size: int):
    super().__init__()
    self.body = nn.Sequential(default_conv(n_feats, n_feats, kernel_size), nn.ReLU(inplace=True),
                              default_conv(n_feats, n_feats, kernel_size))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return x + self.body(x)


class ResNet(nn.Module):
  """One scale: head conv, n ResBlocks, tail conv, as one `body` Sequential."""

  def __init__(self, in_ch: int, n_resblocks: int, n_feats: int, kernel_size: int):
    super().__init__()
    layers = [default_conv(in_ch, n_feats, kernel_size)]
    layers += [ResBlock(n_feats, kernel_size) for _ in range(n_resblocks)]
    layers.append(default_conv(n_feats, 3, kernel_size))
    self.body = nn.Sequential(*layers)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.body(x)


class UpConv(nn.Module):
  """conv 3 -> 12 then PixelShuffle(2) (keys `uppath.0`)."""

  def __init__(self, kernel_size: int):
    super().__init__()
    self.uppath = nn.Sequential(default_conv(3, 12, kernel_size), nn.PixelShuffle(2))

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.uppath(x)


class MSResNet(nn.Module):
  """The multi-scale generator; forward(pyramid finest-first, NCHW) -> outputs finest-first."""

  def __init__(self, n_scales: int = 3, n_resblocks: int = 19, n_feats: int = 64,
               kernel_size: int = 5, rgb_range: float = 255.0):
    super().__init__()
    self.n_scales = n_scales
    self.mean = rgb_range / 2.0
    self.body_models = nn.ModuleList(
        [ResNet(3 if s == n_scales - 1 else 6, n_resblocks, n_feats, kernel_size)
         for s in range(n_scales)])
    # Index 0 is unused, as in the official code (nn.ModuleList([None, ...]) keeps the keys).
    self.conv_end_models = nn.ModuleList(
        [nn.Identity()] + [UpConv(kernel_size) for _ in range(1, n_scales)])

  def forward(self, pyramid: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    inputs = [level - self.mean for level in pyramid]
    outputs: List[Optional[torch.Tensor]] = [None] * self.n_scales
    x = inputs[-1]
    for s in reversed(range(self.n_scales)):
      outputs[s] = self.body_models[s](x)
      if s > 0:
        up = self.conv_end_models[s](outputs[s])
        x = torch.cat([inputs[s - 1], up], dim=1)
    return [out + self.mean for out in outputs]


DISCRIMINATOR_LAYERS = (
    (32, 5, 1, 2), (32, 5, 2, 2), (64, 5, 1, 2), (64, 5, 2, 2), (128, 5, 1, 2),
    (128, 5, 4, 2), (256, 5, 1, 2), (256, 5, 4, 2), (512, 5, 1, 2), (512, 4, 4, 0),
)


class Discriminator(nn.Module):
  """10 bias-free convs with LeakyReLU(0.2), then a 1x1 conv to one logit (keys `conv_layers.i`,
  `dense`)."""

  def __init__(self):
    super().__init__()
    in_ch = 3
    convs = []
    for out_ch, kernel, stride, pad in DISCRIMINATOR_LAYERS:
      convs.append(nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=pad, bias=False))
      in_ch = out_ch
    self.conv_layers = nn.ModuleList(convs)
    self.act = nn.LeakyReLU(0.2, inplace=True)
    self.dense = nn.Conv2d(in_ch, 1, 1, bias=False)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    for conv in self.conv_layers:
      x = self.act(conv(x))
    return self.dense(x)


def write_random_checkpoint(out: pathlib.Path) -> None:
  """Seeded random MSResNet weights as OUT/weights.pt and, through tools/convert_pytorch.py, as
  the inference checkpoint OUT/ckpt (skipped when OUT/ckpt exists): the same model on both sides
  of a JAX-vs-PyTorch benchmark."""
  if (out / 'ckpt').exists():
    return
  torch.manual_seed(0)
  torch.save({'G': MSResNet().state_dict()}, out / 'weights.pt')
  subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve().parents[1] / 'tools' /
                                      'convert_pytorch.py'),
                  '--input', str(out / 'weights.pt'), '--output', str(out / 'ckpt')],
                 check=True, capture_output=True)
