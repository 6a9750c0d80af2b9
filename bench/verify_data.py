"""Cost of the data check before step 1 (config.data.verify), per 1000 GOPRO-size pairs.

  python bench/verify_data.py --data ROOT [--repeats 3]

ROOT is a GOPRO_Large folder or any subset of it in the same layout (ROOT/{train,test}/<SEQ>/
{blur,sharp}/*.png; the `blur` frames are checked). Times `deepdeblur_jax.data.verify.verify_data`
on it (every image decoded once with Pillow, sizes checked) with 1 thread and with one thread
per CPU, interleaved, median of --repeats after one warm-up pass, and the process CPU time of
one single-thread pass (the work itself, which wall time on a busy machine hides; an idle
machine with N free cores needs about CPU time / N). The files are in the page cache after the
warm-up, so this is the decoding cost, not disk reads. Prints a table and one JSON line; the
figures per 1000 pairs and for the 3214 pairs of GOPRO_Large are extrapolated linearly from
the pairs found.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse
import os
import time

from bench.timing import print_report, time_interleaved

GOPRO_PAIRS = 2103 + 1111  # train + test pairs of GOPRO_Large


def main(argv=None) -> int:
  """Runs the benchmark and prints the results."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--data', required=True,
                      help='GOPRO_Large folder (or a subset): ROOT/{train,test}/<SEQ>/{blur,sharp}')
  parser.add_argument('--repeats', type=int, default=3)
  args = parser.parse_args(argv)

  from configs import default  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.data import verify  # pylint: disable=g-import-not-at-top

  cpus = os.cpu_count() or 1
  config = default.get_config()
  config.data.dataset = 'gopro_large'
  config.data.root = str(pathlib.Path(args.data).resolve())
  config.data.blur_key = 'blur'
  report = verify.verify_data(config, workers=1)  # also checks the layout once
  pairs = sum(report.pairs.values())
  cases = {f'{n} thread(s)': (lambda n: verify.verify_data(config, workers=n), [n], lambda r: r)
           for n in sorted({1, cpus})}
  timed = time_interleaved(cases, warmup=1, repeats=args.repeats)
  cpu = time.process_time()
  verify.verify_data(config, workers=1)
  cpu_per_pair = (time.process_time() - cpu) / pairs
  rows = []
  for name, t in timed.items():
    per_pair = t['median_s'] / pairs
    rows.append({'threads': name, 'pairs': pairs, 'images': report.images,
                 'median_s': round(t['median_s'], 3), 'ms_per_pair': round(per_pair * 1e3, 1),
                 's_per_1000_pairs': round(per_pair * 1000, 1),
                 's_gopro_3214_pairs': round(per_pair * GOPRO_PAIRS, 1),
                 'cpu_s_per_1000_pairs': round(cpu_per_pair * 1000, 1),
                 'load_avg': t['load_avg']})
  print_report('verify_data', rows, ['threads', 'pairs', 'median_s', 'ms_per_pair',
                                     's_per_1000_pairs', 's_gopro_3214_pairs',
                                     'cpu_s_per_1000_pairs', 'load_avg'])
  return 0


if __name__ == '__main__':
  sys.exit(main())
