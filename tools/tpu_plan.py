"""Plans a Cloud TPU run on this machine: compiles the real train step (or deblur function) for a
TPU topology with libtpu's compiler, no TPU needed, and prints what the compiler says.

  python tools/tpu_plan.py --config configs/default.py --topology v5e:2x4 --batch 16 \
      --dtype bfloat16 --json plan.json
  python tools/tpu_plan.py --config configs/default.py --topology v5e:1x1 --what deblur \
      --image 720x1280 --dtype bfloat16
  python tools/tpu_plan.py --config configs/quickstart.py --topology v5e-8 --max-batch

Per chip: memory (arguments, temporaries, generated code, peak against the chip's HBM), XLA's
FLOPs next to the analytic count, XLA's bytes accessed, and two times from XLA's cost model
(FLOPs / peak bf16 FLOP/s, bytes / HBM bandwidth, with the chip table in
deepdeblur_jax/planning/chips.py). These are compiler figures, not timings and not bounds on a real
TPU: the cost model counts a convolution's HBM traffic several times over (docs/tpu.md). A shape that does not
fit prints `fits: False` and exits 0. --max-batch finds the largest global batch (a multiple of
the device count) that fits, guessing from the memory figures and bisecting.
Exit code: 0 with an answer (fits or not), 2 for unusable arguments or a missing libtpu.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import os  # noqa: E402

# The plan compiles for compile-only TPU devices and needs no accelerator of its own: keep JAX
# on the CPU so that an installed libtpu does not try to open a TPU at import.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
from typing import Any, Optional, Sequence, Tuple  # noqa: E402

from deepdeblur_jax.config_validation import (ConfigError, validate_model_config,  # noqa: E402
                                              validate_training_config)
from deepdeblur_jax.planning.chips import CHIPS  # noqa: E402
from deepdeblur_jax.planning.compile_plan import (LibtpuMissing, Plan, max_batch, plan,  # noqa: E402
                                                  tpu_target)


def load_config(path: str) -> Any:
  """get_config() of a config file (configs/*.py)."""
  file = pathlib.Path(path)
  if not file.is_file():
    raise ConfigError(f'--config: no such file {path}')
  spec = importlib.util.spec_from_file_location(f'tpu_plan_config_{file.stem}', file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)  # type: ignore[union-attr]
  return module.get_config()


def parse_hw(text: str) -> Tuple[int, int]:
  """'720x1280' -> (720, 1280)."""
  try:
    h, w = (int(v) for v in text.lower().split('x'))
  except ValueError:
    raise argparse.ArgumentTypeError(f'expected HxW, e.g. 720x1280, got {text!r}') from None
  if h < 1 or w < 1:
    raise argparse.ArgumentTypeError(f'image sides must be >= 1, got {text!r}')
  return h, w


def _gb(value: Optional[float]) -> str:
  if value is None:
    return '-'
  return f'{value / 1e9:.2f} GB' if abs(value) >= 1e9 else f'{value / 1e6:.1f} MB'


def _num(value: Optional[float], unit: str, scale: float = 1.0) -> str:
  return '-' if value is None else f'{value / scale:.3g} {unit}'


def format_plan(p: Plan) -> str:
  """A short human-readable table of one plan."""
  shape = f'{p.image_hw[0]}x{p.image_hw[1]}'
  ratio = (f' ({p.xla_flops_per_chip / p.analytic_flops_per_chip:.2f}x analytic '
           f'{p.analytic_flops_per_chip / 1e12:.3g} TFLOP)'
           if p.xla_flops_per_chip and p.analytic_flops_per_chip else '')
  rows = [
      ('target', f'{p.topology}: {p.num_chips} {p.chip} chip(s), {p.num_devices} device(s)'),
      ('program', f'{p.what}, global batch {p.global_batch} of {shape} '
                  f'({p.batch_per_chip:g} per chip), dtype {p.dtype}, remat {p.remat}'),
      ('fits', f'{p.fits}: ' + ('needs' if p.error else 'peak') + f' {_gb(p.peak_bytes_per_chip)} of {_gb(p.hbm_bytes_per_chip)} '
               'usable per chip' + (f' (the chip has {_gb(p.spec_hbm_bytes_per_chip)})'
                                    if p.spec_hbm_bytes_per_chip else '')),
      ('memory per chip', f'arguments {_gb(p.argument_bytes_per_chip)}, temporaries '
                          f'{_gb(p.temp_bytes_per_chip)}, outputs {_gb(p.output_bytes_per_chip)} '
                          f'(aliased {_gb(p.alias_bytes_per_chip)}), code '
                          f'{_gb(p.generated_code_bytes_per_chip)}'),
      ('XLA FLOPs per chip', _num(p.xla_flops_per_chip, 'TFLOP', 1e12) + ratio),
      ('XLA bytes per chip', _num(p.xla_bytes_accessed_per_chip, 'GB', 1e9)),
      ('cost-model compute', _num(p.compute_bound_seconds, 'ms', 1e-3)
       + (f' (XLA FLOPs / bf16 peak {p.peak_flops_per_chip / 1e12:g} TFLOP/s)'
          if p.peak_flops_per_chip else '')),
      ('cost-model memory', _num(p.memory_bound_seconds, 'ms', 1e-3)
       + (f' (XLA bytes / HBM {p.hbm_bandwidth_per_chip / 1e9:g} GB/s; over-counts convolution '
          'traffic, docs/tpu.md)' if p.hbm_bandwidth_per_chip else '')),
      ('convolutions', ', '.join(f'{n} {t}' for t, n in sorted(p.conv_dtypes.items())) or '-'),
      ('compile', f'{p.compile_seconds:.1f} s'),
  ]
  if p.error:
    rows.append(('compiler', p.error))
  width = max(len(k) for k, _ in rows)
  return '\n'.join(f'{k:<{width}}  {v}' for k, v in rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
  """Parses arguments, compiles, prints the table; returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--config', required=True, help='a config file, e.g. configs/default.py')
  parser.add_argument('--topology', default='v5e:2x4',
                      help='Cloud TPU topology: v5e:2x4, v5e:1x1, v4:2x2x1, v6e:2x4, v5p:2x2x1, '
                           'or an alias such as v5e-8, v4-8 (default v5e:2x4)')
  parser.add_argument('--what', choices=('train', 'deblur'), default='train',
                      help='the train step (default) or the deblur function')
  parser.add_argument('--batch', type=int, default=None,
                      help="global batch (default: the config's for train, one image per "
                           'device for deblur)')
  parser.add_argument('--patch', type=int, default=None, help="train patch side (default: the "
                      "config's patch_size)")
  parser.add_argument('--image', type=parse_hw, default=(720, 1280),
                      help='deblur image size HxW (default 720x1280)')
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default=None,
                      help="compute dtype (default: the config's)")
  parser.add_argument('--remat', choices=('none', 'resblock', 'scale'), default=None,
                      help="rematerialisation (default: the config's)")
  parser.add_argument('--adversarial-weight', type=float, default=None,
                      help="override config.adversarial_weight (0 = no discriminator)")
  parser.add_argument('--max-batch', action='store_true',
                      help='find the largest global batch that fits (several compiles)')
  parser.add_argument('--json', default=None, help='write the plan (and the search) here')
  args = parser.parse_args(argv)

  try:
    config = load_config(args.config)
    if args.dtype:
      config.dtype = args.dtype
    if args.remat:
      config.remat = args.remat
    if args.adversarial_weight is not None:
      config.adversarial_weight = args.adversarial_weight
    if args.patch:
      config.patch_size = args.patch
    validate_model_config(config)
    if args.what == 'train':
      validate_training_config(config)
    target = tpu_target(args.topology)
  except (ConfigError, ValueError) as error:
    print(f'error: {error}', file=sys.stderr)
    return 2
  except LibtpuMissing as error:
    print(f'error: {error}', file=sys.stderr)
    return 2

  devices = len(target.devices)
  hw = None if args.what == 'train' else args.image
  batch = args.batch or (int(config.batch_size) if args.what == 'train' else devices)
  if batch < 1 or batch % devices:
    print(f'error: --batch must be a positive multiple of the {devices} devices of '
          f'{target.name}, got {batch}', file=sys.stderr)
    return 2
  print(f'compiling for {target.name} ({CHIPS[target.chip.name].device_kind}, {devices} '
        'devices); the full model takes minutes on a small CPU', flush=True)

  def plan_at(global_batch: int) -> Plan:
    result = plan(config, target, args.what, global_batch, hw)
    print(f'  global batch {global_batch}: fits {result.fits}, peak '
          f'{_gb(result.peak_bytes_per_chip)} per chip ({result.compile_seconds:.0f} s)',
          flush=True)
    return result

  record: dict = {}
  if args.max_batch:
    best, tried = max_batch(plan_at, batch, devices)
    chosen = best if best is not None else tried[0]
    record = chosen.to_dict()
    record['max_global_batch'] = best.global_batch if best else 0
    record['max_batch_per_chip'] = best.batch_per_chip if best else 0
    record['search'] = [{'global_batch': p.global_batch, 'fits': p.fits,
                         'peak_bytes_per_chip': p.peak_bytes_per_chip,
                         'compile_seconds': p.compile_seconds} for p in tried]
    print(format_plan(chosen))
    print(f'largest global batch that fits: {record["max_global_batch"]} '
          f'({record["max_batch_per_chip"]:g} per chip; {len(tried)} compiles)')
  else:
    result = plan_at(batch)
    record = result.to_dict()
    print(format_plan(result))
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(record, indent=1) + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
