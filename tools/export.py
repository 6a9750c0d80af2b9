"""Exports the generator of a training run as an inference checkpoint for deblur/evaluate.

  python tools/export.py --workdir runs/default --output checkpoints/mine
  python tools/export.py --workdir runs/default --output checkpoints/mine_bf16 --step 450000 \
      --dtype bfloat16

Reads WORKDIR/checkpoints/<step> (default: the latest step) and writes OUTPUT (Orbax params +
config.json with the model fields and the run it came from). Only JAX and Orbax are needed.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

from deepdeblur_jax import cli_errors, compilation_cache
from deepdeblur_jax.inference.checkpoint import CheckpointError
from deepdeblur_jax.training.export import export_training_checkpoint


def main(argv=None) -> int:
  """Parses arguments, exports, and returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--workdir', required=True, help='training run folder (holds checkpoints/)')
  parser.add_argument('--output', required=True, help='inference checkpoint folder to write')
  parser.add_argument('--step', type=int, default=None, help='training step (default: latest)')
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default='float32',
                      help='inference compute dtype; bfloat16 also halves the file')
  parser.add_argument('--overwrite', action='store_true', help='replace an existing OUTPUT')
  cli_errors.add_verbose_argument(parser)
  compilation_cache.add_argument(parser)
  args = parser.parse_args(argv)
  compilation_cache.enable_for(args)
  try:
    out = export_training_checkpoint(args.workdir, args.output, args.step, args.dtype,
                                     args.overwrite)
  except CheckpointError as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(f'wrote {out}')
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
