"""Input pipeline throughput: 256x256 patches/s with full augmentation, from files and cache.

  python bench/input_pipeline.py [--steps 30] [--batch-size 16] [--sequences 4]

Generates a synthetic dataset (256x256 is also the generator's benchmark size)
into a temporary folder, then times the tf.data pipeline from files and from its
in-memory cache (after one warm-up pass over the data), and the NumPy source (the input of
training without TensorFlow) the same two ways, with data.num_parallel_calls threads (-1: all
cores). Without TensorFlow only the NumPy rows are timed.
Prints a table and one JSON line.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse
import gc
import itertools
import json
import os
import tempfile
from typing import Any
import time


SOURCE_NAMES = {'numpy': 'NumPy source', 'tfdata': 'tf.data'}


def _patches_per_second(make_iterator, steps: int, batch_size: int, warmup: int) -> float:
  it = make_iterator()
  for _ in itertools.islice(it, warmup):
    pass
  t0 = time.perf_counter()
  for _ in itertools.islice(it, steps):
    pass
  seconds = time.perf_counter() - t0
  # Stop this pipeline's background work before the next one is timed.
  if hasattr(it, 'close'):
    it.close()
  del it
  gc.collect()
  return steps * batch_size / seconds


def main(argv=None) -> int:
  """Runs the benchmark and prints the results."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--steps', type=int, default=30)
  parser.add_argument('--batch-size', type=int, default=16)
  parser.add_argument('--sequences', type=int, default=4, help='train sequences to generate')
  parser.add_argument('--pairs-per-sequence', type=int, default=8)
  parser.add_argument('--image-size', type=int, default=384, help='side of generated images')
  args = parser.parse_args(argv)

  from configs import default  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.data import numpy_source  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.data import synthetic_scenes  # pylint: disable=g-import-not-at-top

  with tempfile.TemporaryDirectory() as tmp:
    gen = synthetic_scenes.make_synthetic_dataset(
        os.path.join(tmp, 'gen'), 2, 0, 6, (256, 256), seed=0)
    s = args.image_size
    synthetic_scenes.make_synthetic_dataset(os.path.join(tmp, 'data'), args.sequences, 1,
                                            args.pairs_per_sequence, (s, s), seed=1)
    config = default.get_config()
    config.batch_size = args.batch_size
    config.patch_size = 256
    data = config.data
    data.dataset = 'gopro_large'
    data.root = os.path.join(tmp, 'data')
    n_files = args.sequences * args.pairs_per_sequence
    warm_cache = -(-n_files // args.batch_size) + 1  # one pass fills the cache
    make = lambda src: (lambda: src.create_train_iterator(config, 0, 0, 1))
    results = {'synthetic_pairs_per_s_256': gen['pairs_per_second'],
               'cpu_count': os.cpu_count(), 'batch_size': args.batch_size,
               'image_size': s, 'patch_size': 256}
    rows = [('synthetic generator, 256x256 pairs/s', 'synthetic_pairs_per_s_256')]

    def time_rows(name: str, source: Any) -> None:
      for cache in (False, True):
        data.cache = cache
        where = 'cache' if cache else 'files'
        # With the cache on, one pass over the files fills it before the timing starts.
        warmup = warm_cache if cache else 2
        key = f'{name}_{where}_patches_per_s'
        results[key] = _patches_per_second(make(source), args.steps, args.batch_size, warmup)
        rows.append((f'{SOURCE_NAMES[name]} from {where}, 256x256 patches/s', key))

    # The NumPy source first, before TensorFlow is imported: TensorFlow's thread pools slowed
    # a NumPy source timed after the tf.data rows by 1.5-2.6x on 2 cores.
    time_rows('numpy', numpy_source)
    try:
      from deepdeblur_jax.data import input_pipeline  # pylint: disable=g-import-not-at-top
    except ImportError:  # no TensorFlow (the GPU image): the NumPy rows only
      input_pipeline = None
    if input_pipeline is not None:
      time_rows('tfdata', input_pipeline)
    results['numpy_threads'] = numpy_source.num_workers(data)
  print(f'{os.cpu_count()} CPUs, batch {args.batch_size}, full augmentation, '
        f'{s}x{s} source images')
  for name, key in rows:
    print(f'  {name:<44s} {results[key]:8.1f}')
  print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()}))
  return 0


if __name__ == '__main__':
  sys.exit(main())
