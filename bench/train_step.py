"""Steady-state train step time, 256x256 patches/s and achieved TFLOP/s; PyTorch in the same run.

CPU smoke (defaults: default model, batch 1, 256x256, float32, no adversarial term):

  python bench/train_step.py
  python bench/train_step.py --adversarial both --repeats 3

GPU (H100/H200), bf16 at the target batch, with back-to-back throughput over 20 steps:

  python bench/train_step.py --batch 16 --dtypes bfloat16,float32 --adversarial both \
      --repeats 5 --steps 20 --json-out results.jsonl

Times the library's real jitted step (`deepdeblur_jax.training.train_step.make_train_step`:
pyramid built on device, G forward/backward, D update and adversarial term when on, Adam, the
finite-check; state donated). Per-step time is the median of `--repeats` synchronised calls
(`block_until_ready`) after `--warmup` calls, with input batches rotated among two buffers;
JAX and PyTorch steps alternate (`--sequential`: all JAX, then all PyTorch).
`--steps N` also times N steps dispatched back to back with a single sync at the end (the
steady-state throughput a training loop sees; what matters on GPUs where dispatch is async);
`step_s`, `patches_per_s` and `tflops` use it when given, else the synchronised median.

FLOPs are analytic (bench/flops.py: exact conv MACs of G and D, training = 3x forward for G and
8 D-forwards per image for the adversarial terms). The fraction of peak is printed when the
device's dense peak is known (H100/H200 bf16 = 989 TFLOP/s) or given with --peak-tflops.
The PyTorch reference (bench/pytorch_reference.time_train_step: same architecture, same loss,
Adam, channels_last, autocast for bf16) is timed in the same process; --no-torch skips it.
"""

import argparse
import pathlib
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from bench import flops as flops_lib  # pylint: disable=g-import-not-at-top
from bench.configs import load_config  # pylint: disable=g-import-not-at-top
from bench.timing import (add_reference_columns, append_json_line, print_report,  # pylint: disable=g-import-not-at-top
                          time_calls, time_interleaved)


class JaxTrainStep:
  """The library's jitted train step for `config` with the given overrides, ready to time."""

  def __init__(self, config: Any, batch: int, patch: int, adversarial: bool, dtype: str):
    # pylint: disable=g-import-not-at-top
    from deepdeblur_jax.training.sharding import make_mesh, replicate, shard_batch
    from deepdeblur_jax.training.train_state import create_train_state
    from deepdeblur_jax.training.train_step import make_train_step
    # pylint: enable=g-import-not-at-top
    config = config.copy_and_resolve_references()
    config.batch_size = batch
    config.patch_size = patch
    config.dtype = dtype
    config.adversarial_weight = 1e-4 if adversarial else 0.0
    self.mesh = make_mesh()
    if batch % self.mesh.size:
      raise ValueError(f'--batch {batch} must be divisible by the device count {self.mesh.size}')
    self.state = replicate(create_train_state(config, jax.random.key(0)), self.mesh)
    self.metrics = None
    self.step_fn = make_train_step(config, self.mesh)
    rng = np.random.default_rng(0)
    self.batches = [shard_batch({'blur': rng.random((batch, patch, patch, 3), np.float32),
                                 'sharp': rng.random((batch, patch, patch, 3), np.float32)},
                                self.mesh) for _ in range(2)]
    self.meta = dict(framework='jax', device=jax.devices()[0].device_kind,
                     n_devices=self.mesh.size, dtype=dtype, batch=batch, patch=patch,
                     adversarial=adversarial, jax=jax.__version__)
    t0 = time.perf_counter()
    jax.block_until_ready(self(self.batches[0]))
    self.meta['first_call_s'] = time.perf_counter() - t0  # compile + one step

  def __call__(self, b: Any) -> Any:
    self.state, self.metrics = self.step_fn(self.state, b)  # the state is donated
    return self.state, self.metrics

  def throughput(self, steps: int) -> float:
    """Seconds per step over `steps` steps dispatched back to back, one sync at the end."""
    t0 = time.perf_counter()
    out = None
    for i in range(steps):
      out = self(self.batches[i % 2])
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / steps

  def loss_finite(self) -> bool:
    return bool(np.asarray(jax.device_get(self.metrics['finite'])))


def time_jax_train_step(config: Any, batch: int, patch: int, adversarial: bool, dtype: str,
                        repeats: int, warmup: int, steps: int = 0) -> Dict[str, Any]:
  """Times the library's jitted train step (JAX alone)."""
  step = JaxTrainStep(config, batch, patch, adversarial, dtype)
  result = time_calls(step, step.batches, jax.block_until_ready, warmup=max(warmup - 1, 0),
                      repeats=repeats)
  if steps > 0:
    result['throughput_step_s'] = step.throughput(steps)
  result.update(step.meta, loss_finite=step.loss_finite())
  return result


def main(argv: List[str] = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog=__doc__)
  parser.add_argument('--config', default='configs/default.py',
                      help='model config file (configs/tiny.py for a seconds-long smoke run)')
  parser.add_argument('--batch', type=int, default=1, help='global batch size')
  parser.add_argument('--patch', type=int, default=256, help='square patch side')
  parser.add_argument('--dtypes', default='float32', help='comma list: float32,bfloat16')
  parser.add_argument('--adversarial', default='off', choices=('off', 'on', 'both'))
  parser.add_argument('--repeats', type=int, default=3, help='timed synchronised steps')
  parser.add_argument('--warmup', type=int, default=2, help='untimed steps (incl. compile)')
  parser.add_argument('--steps', type=int, default=0,
                      help='also time N back-to-back steps with one final sync (use ~20 on GPU)')
  parser.add_argument('--peak-tflops', type=float, default=0.0,
                      help='device dense peak for the %%-of-peak column (known: H100/H200 bf16)')
  parser.add_argument('--no-torch', action='store_true', help='skip the PyTorch reference')
  parser.add_argument('--json-out', default='', help='also append the JSON line to this file')
  parser.add_argument('--sequential', action='store_true',
                      help='time all JAX steps, then all PyTorch steps (default: alternate them '
                      'step by step, fairer on a machine with changing load)')
  args = parser.parse_args(argv)

  config = load_config(args.config)
  model = config.model
  adv_modes = {'off': [False], 'on': [True], 'both': [False, True]}[args.adversarial]
  rows: List[Dict[str, Any]] = []
  for dtype in args.dtypes.split(','):
    for adversarial in adv_modes:
      ref = None
      if args.no_torch:
        row = time_jax_train_step(config, args.batch, args.patch, adversarial, dtype,
                                  args.repeats, args.warmup, args.steps)
      else:
        from bench import pytorch_reference  # pylint: disable=g-import-not-at-top
        jax_step = JaxTrainStep(config, args.batch, args.patch, adversarial, dtype)
        torch_case = pytorch_reference.make_train_step(
            args.batch, args.patch, adversarial, dtype, n_scales=model.n_scales,
            n_resblocks=model.n_resblocks, n_feats=model.n_feats, kernel_size=model.kernel_size)
        jax_case = (jax_step, jax_step.batches, jax.block_until_ready)
        if args.sequential:
          row = time_calls(*jax_case, warmup=max(args.warmup - 1, 0), repeats=args.repeats)
          ref = time_calls(*torch_case[:3], warmup=args.warmup, repeats=args.repeats)
        else:
          timed = time_interleaved({'jax': jax_case, 'torch': torch_case[:3]},
                                   warmup=args.warmup, repeats=args.repeats)
          row, ref = timed['jax'], timed['torch']
        if args.steps > 0:
          row['throughput_step_s'] = jax_step.throughput(args.steps)
        row.update(jax_step.meta, loss_finite=jax_step.loss_finite())
        ref.update(torch_case[3])
        del jax_step, torch_case
      fl = flops_lib.train_step_flops(model, args.batch, args.patch, adversarial)
      row.update(fl)
      step_s = row.get('throughput_step_s', row['median_s'])
      row['step_s'] = step_s
      row['patches_per_s'] = args.batch / step_s
      row['tflops'] = fl['flops'] / step_s / 1e12
      peak = flops_lib.peak_tflops(row['device'], dtype, args.peak_tflops)
      row['peak_tflops'] = peak
      row['pct_of_peak'] = 100.0 * row['tflops'] / peak if peak else None
      row['model'] = {k: model[k] for k in ('n_scales', 'n_resblocks', 'n_feats',
                                            'kernel_size', 'upsample')}
      row['config'] = args.config
      if ref is not None:
        add_reference_columns(row, ref)
        row['torch_patches_per_s'] = args.batch / ref['median_s']
        row['speedup_vs_torch'] = ref['median_s'] / row['median_s']
      rows.append(row)
      append_json_line(args.json_out, 'train_step', row)
  print_report('train_step', rows, ['dtype', 'adversarial', 'batch', 'patch', 'device',
                                    'median_s', 'step_s', 'patches_per_s', 'tflops',
                                    'pct_of_peak', 'torch_median_s', 'jax_over_torch_time',
                                    'load_avg'])


if __name__ == '__main__':
  main()
