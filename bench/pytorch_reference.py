"""Times our PyTorch implementation of the same architecture (bench/torch_model.py) at its best
settings: cuDNN benchmark, channels_last and autocast (bf16/fp16) on GPU; threads = cores on CPU.

  python bench/pytorch_reference.py --height 256 --width 256 --batch 1

Used by bench/inference.py and bench/train_step.py to put a ratio beside every JAX number.
"""

import argparse
import os
import pathlib
import sys
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # pylint: disable=g-import-not-at-top

from bench.timing import print_report, time_calls  # pylint: disable=g-import-not-at-top
from bench.torch_model import Discriminator, MSResNet  # pylint: disable=g-import-not-at-top

_AMP = {'float32': None, 'bfloat16': torch.bfloat16, 'float16': torch.float16}


def _setup(device: str) -> None:
  if device == 'cpu':
    torch.set_num_threads(os.cpu_count() or 1)
  else:
    torch.backends.cudnn.benchmark = True


def _sync(device: str) -> Any:
  def sync(_: Any) -> None:
    if device != 'cpu':
      torch.cuda.synchronize()
  return sync


def _pyramids(batch: int, height: int, width: int, n_scales: int, device: str, copies: int
              ) -> List[List[torch.Tensor]]:
  gen = torch.Generator().manual_seed(0)
  out = []
  for _ in range(copies):
    levels = [torch.rand(batch, 3, height >> k, width >> k, generator=gen) * 255.0
              for k in range(n_scales)]
    out.append([lv.to(device).contiguous(memory_format=torch.channels_last) for lv in levels])
  return out


def time_forward(height: int, width: int, batch: int = 1, dtype: str = 'float32',
                 n_scales: int = 3, n_resblocks: int = 19, n_feats: int = 64,
                 kernel_size: int = 5, repeats: int = 5, warmup: int = 2,
                 device: str = '') -> Dict[str, Any]:
  """Median forward time of the generator on a prebuilt pyramid (no grad)."""
  forward, inputs, sync, meta = make_forward(height, width, batch, dtype, n_scales, n_resblocks,
                                             n_feats, kernel_size, device)
  result = time_calls(forward, inputs, sync, warmup=warmup, repeats=repeats)
  result.update(meta)
  return result


def make_forward(height: int, width: int, batch: int = 1, dtype: str = 'float32',
                 n_scales: int = 3, n_resblocks: int = 19, n_feats: int = 64,
                 kernel_size: int = 5, device: str = '') -> Tuple[Any, Any, Any, Dict[str, Any]]:
  """(fn, inputs, sync, meta) of the generator forward, for `time_calls`/`time_interleaved`."""
  device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
  _setup(device)
  model = MSResNet(n_scales, n_resblocks, n_feats, kernel_size).to(device).eval()
  model = model.to(memory_format=torch.channels_last)
  inputs = _pyramids(batch, height, width, n_scales, device, copies=2)
  amp = _AMP[dtype]

  def forward(pyr: List[torch.Tensor]) -> Any:
    with torch.inference_mode(), torch.autocast(device.split(':')[0], dtype=amp,
                                                enabled=amp is not None):
      return model(pyr)[0]

  meta = dict(device=device, framework='pytorch', dtype=dtype, batch=batch,
              size=f'{height}x{width}', torch=torch.__version__)
  return forward, inputs, _sync(device), meta


def time_train_step(batch: int, patch: int, adversarial: bool = False, dtype: str = 'float32',
                    n_scales: int = 3, n_resblocks: int = 19, n_feats: int = 64,
                    kernel_size: int = 5, repeats: int = 5, warmup: int = 2,
                    device: str = '') -> Dict[str, Any]:
  """Median time of one Adam step on the multi-scale MSE loss (+ D update and adversarial term)."""
  step, inputs, sync, meta = make_train_step(batch, patch, adversarial, dtype, n_scales,
                                             n_resblocks, n_feats, kernel_size, device)
  result = time_calls(step, inputs, sync, warmup=warmup, repeats=repeats)
  result.update(meta)
  return result


def make_train_step(batch: int, patch: int, adversarial: bool = False, dtype: str = 'float32',
                    n_scales: int = 3, n_resblocks: int = 19, n_feats: int = 64,
                    kernel_size: int = 5, device: str = ''
                    ) -> Tuple[Any, Any, Any, Dict[str, Any]]:
  """(fn, inputs, sync, meta) of one train step, for `time_calls`/`time_interleaved`."""
  device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
  _setup(device)
  gen = MSResNet(n_scales, n_resblocks, n_feats, kernel_size).to(device)
  gen = gen.to(memory_format=torch.channels_last)
  opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4)
  disc = opt_d = None
  if adversarial:
    disc = Discriminator().to(device).to(memory_format=torch.channels_last)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4)
  blur = _pyramids(batch, patch, patch, n_scales, device, copies=2)
  sharp = _pyramids(batch, patch, patch, n_scales, device, copies=2)
  amp = _AMP[dtype]
  scaler = torch.amp.GradScaler(enabled=(amp is torch.float16))
  bce = torch.nn.BCEWithLogitsLoss()

  def step(i: int) -> Any:
    with torch.autocast(device.split(':')[0], dtype=amp, enabled=amp is not None):
      outputs = gen(blur[i])
      loss = sum(torch.mean((o - s) ** 2) for o, s in zip(outputs, sharp[i])) / (2 * n_scales)
      if disc is not None:
        real, fake = disc(sharp[i][0]), disc(outputs[0].detach())
        loss_d = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    if disc is not None:
      opt_d.zero_grad(set_to_none=True)
      scaler.scale(loss_d).backward()
      scaler.step(opt_d)
      with torch.autocast(device.split(':')[0], dtype=amp, enabled=amp is not None):
        fake = disc(outputs[0])
        loss = loss + 1e-4 * bce(fake, torch.ones_like(fake))
    opt_g.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt_g)
    scaler.update()
    return loss

  meta = dict(device=device, framework='pytorch', dtype=dtype, batch=batch, patch=patch,
              adversarial=adversarial, torch=torch.__version__)
  return step, [0, 1], _sync(device), meta


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--height', type=int, default=256)
  parser.add_argument('--width', type=int, default=256)
  parser.add_argument('--batch', type=int, default=1)
  parser.add_argument('--dtype', default='float32', choices=sorted(_AMP))
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--train', action='store_true', help='time a train step instead')
  parser.add_argument('--adversarial', action='store_true')
  args = parser.parse_args()
  if args.train:
    row = time_train_step(args.batch, args.height, args.adversarial, args.dtype,
                          repeats=args.repeats)
  else:
    row = time_forward(args.height, args.width, args.batch, args.dtype, repeats=args.repeats)
  print_report('pytorch_reference', [row], ['framework', 'device', 'dtype', 'batch', 'median_s'])


if __name__ == '__main__':
  main()
