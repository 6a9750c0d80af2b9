"""Generator inference latency and images/s, JAX vs our PyTorch reference in the same run.

  python bench/inference.py --sizes 256x256,720x1280 --dtypes float32 --batches 1
  python bench/inference.py --config configs/tiny.py --sizes 32x32   # seconds-long smoke run

Times the generator of `--config` (default: 3 scales, 19 ResBlocks, 64 features) on a prebuilt
input pyramid (`jit`-compiled forward; warm-up excluded; `block_until_ready`; median of repeats;
inputs rotated among two buffers). Random weights: speed does not depend on their values.
"""

import argparse
import pathlib
import sys
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from bench.timing import (add_reference_columns, append_json_line, print_report,  # pylint: disable=g-import-not-at-top
                          time_calls, time_interleaved)
from bench import flops as flops_lib  # pylint: disable=g-import-not-at-top
from bench.configs import load_config  # pylint: disable=g-import-not-at-top
from deepdeblur_jax.models import create_generator, init_generator  # pylint: disable=g-import-not-at-top

MAC_PER_PIXEL_PER_SCALE = flops_lib.MAC_PER_PIXEL_PER_SCALE_DEFAULT


def generator_flops(height: int, width: int, model_config: Any = None) -> float:
  """Analytic forward FLOPs (2 x exact conv MACs) of the generator on one image."""
  model_config = model_config or load_config('configs/default.py').model
  return 2.0 * flops_lib.generator_macs_from_config(model_config, height, width)


def time_jax_forward(height: int, width: int, batch: int, dtype: str, repeats: int,
                     warmup: int, config: Any = None) -> Dict[str, Any]:
  """Median jitted forward time of the generator (default model unless `config.model`)."""
  fn, inputs, sync, meta = make_jax_forward(height, width, batch, dtype, config)
  result = time_calls(fn, inputs, sync, warmup=warmup, repeats=repeats)
  result.update(meta)
  return result


def make_jax_forward(height: int, width: int, batch: int, dtype: str, config: Any = None
                     ) -> Tuple[Any, Any, Any, Dict[str, Any]]:
  """(fn, inputs, sync, meta) of the jitted generator forward on prebuilt pyramids."""
  config = config or load_config('configs/default.py').model
  model = create_generator(config, dtype=dtype)
  params = init_generator(model, jax.random.key(0))
  rng = np.random.default_rng(0)
  inputs = [[jnp.asarray(rng.random((batch, height >> k, width >> k, 3), np.float32))
             for k in range(model.n_scales)] for _ in range(2)]
  forward = jax.jit(lambda p, pyr: model.apply({'params': p}, pyr)[0])
  meta = dict(framework='jax', device=jax.devices()[0].device_kind, dtype=dtype, batch=batch,
              size=f'{height}x{width}', jax=jax.__version__)
  return (lambda pyr: forward(params, pyr)), inputs, jax.block_until_ready, meta


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--sizes', default='256x256,720x1280', help='HxW list')
  parser.add_argument('--dtypes', default='float32')
  parser.add_argument('--batches', default='1')
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--no-torch', action='store_true', help='skip the PyTorch reference')
  parser.add_argument('--config', default='configs/default.py',
                      help='model config file (configs/tiny.py for a seconds-long smoke run)')
  parser.add_argument('--peak-tflops', type=float, default=0.0,
                      help='device dense peak for the %%-of-peak column (known: H100/H200 bf16)')
  parser.add_argument('--json-out', default='', help='also append the JSON line to this file')
  parser.add_argument('--sequential', action='store_true',
                      help='time all JAX calls, then all PyTorch calls (default: alternate them '
                      'call by call, fairer on a machine with changing load)')
  args = parser.parse_args()
  model_config = load_config(args.config).model
  rows: List[Dict[str, Any]] = []
  for size in args.sizes.split(','):
    h, w = (int(v) for v in size.split('x'))
    for dtype in args.dtypes.split(','):
      for batch in (int(b) for b in args.batches.split(',')):
        jax_case = make_jax_forward(h, w, batch, dtype, model_config)
        ref = None
        if args.no_torch:
          row = time_calls(*jax_case[:3], warmup=args.warmup, repeats=args.repeats)
        else:
          from bench import pytorch_reference  # pylint: disable=g-import-not-at-top
          torch_case = pytorch_reference.make_forward(
              h, w, batch, dtype, n_scales=model_config.n_scales,
              n_resblocks=model_config.n_resblocks, n_feats=model_config.n_feats,
              kernel_size=model_config.kernel_size)
          if args.sequential:
            row = time_calls(*jax_case[:3], warmup=args.warmup, repeats=args.repeats)
            ref = time_calls(*torch_case[:3], warmup=args.warmup, repeats=args.repeats)
          else:
            timed = time_interleaved({'jax': jax_case[:3], 'torch': torch_case[:3]},
                                     warmup=args.warmup, repeats=args.repeats)
            row, ref = timed['jax'], timed['torch']
          ref.update(torch_case[3])
        row.update(jax_case[3])
        row['images_per_s'] = batch / row['median_s']
        row['flops'] = generator_flops(h, w, model_config) * batch
        row['tflops'] = row['flops'] / row['median_s'] / 1e12
        peak = flops_lib.peak_tflops(row['device'], dtype, args.peak_tflops)
        row['pct_of_peak'] = 100.0 * row['tflops'] / peak if peak else None
        row['config'] = args.config
        if ref is not None:
          add_reference_columns(row, ref)
        rows.append(row)
        append_json_line(args.json_out, 'inference', row)
  print_report('inference', rows, ['size', 'dtype', 'batch', 'device', 'median_s', 'images_per_s',
                                   'tflops', 'pct_of_peak', 'torch_median_s',
                                   'jax_over_torch_time', 'load_avg'])


if __name__ == '__main__':
  main()
