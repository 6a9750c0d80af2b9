"""blur | output | sharp crops of bench/learning_check_real.sh's test pairs, as small PNGs.

  python bench/real_crops.py --run RUN --data ROOT --output docs/real_check \\
      --box GOPR0384_11_00/000001.png:300,500,240

RUN is the --out folder of bench/learning_check_real.sh and ROOT its --data folder. For each
--box PAIR:TOP,LEFT,SIZE, writes OUTPUT_<sequence>.png: the blurry input
(ROOT/test/<SEQ>/blur), the model's output (RUN/test_outputs) and the sharp frame, side by
side, SIZE x SIZE each.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

import numpy as np

from deepdeblur_jax.io import photos


def crop_strip(run: pathlib.Path, data: pathlib.Path, pair: str, top: int, left: int,
               size: int) -> np.ndarray:
  """The three SIZE x SIZE crops at (TOP, LEFT) of PAIR (blur, output, sharp), with 4 px gaps."""
  seq, frame = pair.split('/')
  images = [photos.read_rgb_uint8(str(data / 'test' / seq / 'blur' / frame)),
            photos.read_rgb_uint8(str(run / 'test_outputs' / seq / frame)),
            photos.read_rgb_uint8(str(data / 'test' / seq / 'sharp' / frame))]
  gap = np.full((size, 4, 3), 255, np.uint8)
  crops = [im[top:top + size, left:left + size] for im in images]
  return np.concatenate([crops[0], gap, crops[1], gap, crops[2]], axis=1)


def main(argv=None) -> int:
  """Parses arguments and writes one PNG per --box."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--run', required=True, help='--out folder of learning_check_real.sh')
  parser.add_argument('--data', required=True, help='--data folder of learning_check_real.sh')
  parser.add_argument('--output', required=True, help='PNG path prefix')
  parser.add_argument('--box', action='append', required=True, help='PAIR:TOP,LEFT,SIZE')
  args = parser.parse_args(argv)
  for box in args.box:
    pair, numbers = box.split(':')
    top, left, size = (int(v) for v in numbers.split(','))
    target = pathlib.Path(f'{args.output}_{pair.split("/")[0]}.png')
    strip = crop_strip(pathlib.Path(args.run), pathlib.Path(args.data), pair, top, left, size)
    photos.write_png(target, strip)
    print(f'wrote {target} ({target.stat().st_size // 1024} KB)')
  return 0


if __name__ == '__main__':
  sys.exit(main())
