"""Writes the synthetic dynamic-scene dataset in GOPRO_Large layout (no download needed).

  python tools/make_synthetic_dataset.py --out DIR --train-sequences 8 --test-sequences 2 \
      --pairs-per-sequence 8 --size 256x256 --seed 0

Writes DIR/{train,test}/scene_NNNN/{blur,blur_gamma,sharp}/NNNNNN.png and
DIR/synthetic.json; the same arguments give byte-identical files, whatever --workers.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse

from deepdeblur_jax import cli_errors
from deepdeblur_jax.data import synthetic_scenes


def _size(text: str) -> tuple[int, int]:
  try:
    h, w = (int(v) for v in text.lower().split('x'))
  except ValueError:
    raise argparse.ArgumentTypeError(f'size must be HxW, e.g. 256x256, got {text!r}') from None
  return h, w


def main(argv=None) -> int:
  """Parses the command line and runs `synthetic_scenes.make_synthetic_dataset`."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--out', required=True, help='output folder (must not exist or be empty)')
  parser.add_argument('--train-sequences', type=int, default=8)
  parser.add_argument('--test-sequences', type=int, default=2)
  parser.add_argument('--pairs-per-sequence', type=int, default=8)
  parser.add_argument('--size', type=_size, default=(256, 256), help='HxW')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--motion-scale', type=float, default=1.0,
                      help='multiplies every camera and object speed, hence blur lengths')
  parser.add_argument('--workers', type=int, default=None,
                      help='threads rendering sequences (default: one per CPU; same files)')
  cli_errors.add_verbose_argument(parser)
  args = parser.parse_args(argv)
  try:
    info = synthetic_scenes.make_synthetic_dataset(
        args.out, args.train_sequences, args.test_sequences, args.pairs_per_sequence,
        args.size, args.seed, workers=args.workers, motion_scale=args.motion_scale)
  except (ValueError, FileExistsError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  total = sum(info['pairs'].values())
  print(f'wrote {total} pairs ({info["pairs"]["train"]} train, {info["pairs"]["test"]} test) '
        f'of {args.size[0]}x{args.size[1]} to {args.out}')
  print(f'{info["seconds"]:.1f} s, {info["pairs_per_second"]:.2f} pairs/s')
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
