"""Synthesises GOPRO_Large-style blurry/sharp pairs from high-frame-rate sharp frames or videos.

  python tools/synthesize_blur.py --frames DIR --out OUT --window 7 [--window 7-13] \
      [--stride N] [--gamma 2.2] [--seed S]
  python tools/synthesize_blur.py --video clip.mp4 [--video clip2.mov ...] --out OUT \
      [--start 120 | --start 0.5s] [--end 2400 | --end 10s]

DIR is one folder of sorted frames or a tree of such folders (video files in it are read too);
each --video is decoded one frame at a time (PyAV) into a sequence named after the file. Writes
OUT/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png (GOPRO_Large's layout), the same bytes for a video as
for its frames saved as PNGs. A video's frame rate is printed, with a warning when it is too low
for the window (GOPRO: 240 fps, 7-13 frames). An input that cannot be read is named and skipped;
the exit code is then 1.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse

from deepdeblur_jax import cli_errors
from deepdeblur_jax.data import blur_synthesis


def main(argv=None) -> int:
  """Parses the command line and runs `blur_synthesis.synthesize_inputs`."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--frames', default=None,
                      help='folder of sharp frames, or a tree of them and of video files')
  parser.add_argument('--video', action='append', default=[],
                      help='a high-frame-rate video file (repeat for several)')
  parser.add_argument('--out', required=True, help='output folder (GOPRO_Large layout)')
  parser.add_argument('--window', default='7', help='frames per blurry image: N or LOW-HIGH')
  parser.add_argument('--stride', type=int, default=None,
                      help='frames between window starts (default: the window size)')
  parser.add_argument('--gamma', type=float, default=2.2, help='CRF exponent for blur_gamma')
  parser.add_argument('--seed', type=int, default=0, help='seed for window sizes drawn from a range')
  parser.add_argument('--start', default=None,
                      help='first frame used: a frame index (120) or, for videos, seconds (0.5s)')
  parser.add_argument('--end', default=None,
                      help='frame index or seconds where each sequence stops (excluded)')
  cli_errors.add_verbose_argument(parser)
  args = parser.parse_args(argv)
  if args.frames is None and not args.video:
    parser.error('give --frames DIR and/or --video FILE')
  log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
  try:
    window = blur_synthesis.parse_window(args.window)
    start = blur_synthesis.parse_position(args.start)
    end = blur_synthesis.parse_position(args.end)
    sources = blur_synthesis.find_sequences(args.frames) if args.frames else []
    for v in args.video:
      path = pathlib.Path(v)
      if not path.is_file():
        raise FileNotFoundError(f'video file not found: {path}')
      sources.append((path.stem, path))
    report = blur_synthesis.synthesize_inputs(sources, args.out, window, args.stride, args.gamma,
                                              args.seed, start, end, log)
  except (ValueError, FileNotFoundError, FileExistsError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  for name, n in report.counts.items():
    print(f'{name}: {n} pairs')
  print(f'total: {sum(report.counts.values())} pairs in {len(report.counts)} sequences '
        f'-> {args.out}')
  if report.failed:
    print(f'{len(report.failed)} input(s) failed:', file=sys.stderr)
    for _, message in report.failed:
      print(f'  {message}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
