"""Synthesises GOPRO_Large-style blurry/sharp pairs from high-frame-rate sharp frames.

  python tools/synthesize_blur.py --frames DIR --out OUT --window 7 [--window 7-13] \
      [--stride N] [--gamma 2.2] [--seed S]

DIR is one folder of sorted frames or a tree of such folders; writes
OUT/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png (reference section 5).
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse

from deepdeblur_jax import cli_errors
from deepdeblur_jax.data import blur_synthesis


def main(argv=None) -> int:
  """Parses the command line and runs `blur_synthesis.synthesize_tree`."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--frames', required=True, help='folder of sharp frames, or a tree of them')
  parser.add_argument('--out', required=True, help='output folder (GOPRO_Large layout)')
  parser.add_argument('--window', default='7', help='frames per blurry image: N or LOW-HIGH')
  parser.add_argument('--stride', type=int, default=None,
                      help='frames between window starts (default: the window size)')
  parser.add_argument('--gamma', type=float, default=2.2, help='CRF exponent for blur_gamma')
  parser.add_argument('--seed', type=int, default=0, help='seed for window sizes drawn from a range')
  cli_errors.add_verbose_argument(parser)
  args = parser.parse_args(argv)
  try:
    window = blur_synthesis.parse_window(args.window)
    counts = blur_synthesis.synthesize_tree(args.frames, args.out, window, args.stride,
                                            args.gamma, args.seed)
  except (ValueError, FileNotFoundError, FileExistsError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  for name, n in counts.items():
    print(f'{name}: {n} pairs')
  print(f'total: {sum(counts.values())} pairs in {len(counts)} sequences -> {args.out}')
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
