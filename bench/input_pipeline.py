"""Input pipeline throughput: 256x256 patches/s with full augmentation, from files and cache.

  python bench/input_pipeline.py [--steps 30] [--batch-size 16] [--sequences 4]
                                 [--workers 1,2,all]

Generates a synthetic dataset (256x256 is also the generator's benchmark size)
into a temporary folder, then times the Grain pipeline (config.data.loader='grain') with
1, 2 and all-CPU worker processes (--workers; 'all' = the CPU count, repeats dropped) and the
tf.data pipeline (data.num_parallel_calls=-1: autotuned), each from files and from its cache
(after a warm-up that fills the cache). Without TensorFlow only the Grain rows are timed.
Each row's time excludes starting the pipeline (Grain's worker processes start in seconds).
Prints a table and one JSON line.
"""

import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # noqa: E401,E702

import argparse
import gc
import itertools
import json
import os
import tempfile
from typing import Any, Callable, List
import time


def _patches_per_second(make_iterator: Callable[[], Any], steps: int, batch_size: int,
                        warmup: int) -> float:
  it = make_iterator()
  for _ in itertools.islice(it, warmup):
    pass
  t0 = time.perf_counter()
  for _ in itertools.islice(it, steps):
    pass
  seconds = time.perf_counter() - t0
  # Stop this pipeline's background work (threads, worker processes) before the next is timed.
  if hasattr(it, 'close'):
    it.close()
  del it
  gc.collect()
  return steps * batch_size / seconds


def worker_counts(spec: str, cpus: int) -> List[int]:
  """'1,2,all' -> [1, 2, cpus] without repeats, in order."""
  counts = [cpus if part.strip() == 'all' else int(part) for part in spec.split(',')]
  return list(dict.fromkeys(counts))


def main(argv=None) -> int:
  """Runs the benchmark and prints the results."""
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--steps', type=int, default=30)
  parser.add_argument('--batch-size', type=int, default=16)
  parser.add_argument('--sequences', type=int, default=4, help='train sequences to generate')
  parser.add_argument('--pairs-per-sequence', type=int, default=8)
  parser.add_argument('--image-size', type=int, default=384, help='side of generated images')
  parser.add_argument('--workers', default='1,2,all',
                      help="Grain worker-process counts to time ('all' = the CPU count)")
  args = parser.parse_args(argv)

  from configs import default  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.data import grain_pipeline  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.data import synthetic_scenes  # pylint: disable=g-import-not-at-top

  cpus = os.cpu_count() or 1
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
    epoch_steps = -(-n_files // args.batch_size)
    make = lambda src: (lambda: src.create_train_iterator(config, 0, 0, 1))
    results = {'synthetic_pairs_per_s_256': gen['pairs_per_second'], 'cpu_count': cpus,
               'batch_size': args.batch_size, 'image_size': s, 'patch_size': 256}
    rows = [('synthetic generator, 256x256 pairs/s', 'synthetic_pairs_per_s_256')]

    def time_rows(name: str, label: str, source: Any, workers: int = 1) -> None:
      for cache in (False, True):
        data.cache = cache
        where = 'cache' if cache else 'files'
        # With the cache on, one pass over the files fills it before the timing starts (Grain:
        # the workers share the cache, each sees every workers-th batch).
        warmup = (epoch_steps + 1) * workers + 1 if cache else 2 * workers
        key = f'{name}_{where}_patches_per_s'
        results[key] = _patches_per_second(make(source), args.steps, args.batch_size, warmup)
        rows.append((f'{label} from {where}, 256x256 patches/s', key))

    # Grain first, before TensorFlow is imported (its thread pools would share the cores).
    data.loader = 'grain'
    for workers in worker_counts(args.workers, cpus):
      data.num_workers = workers
      time_rows(f'grain_{workers}w', f'grain, {workers} worker(s)', grain_pipeline, workers)
    try:
      from deepdeblur_jax.data import input_pipeline  # pylint: disable=g-import-not-at-top
    except ImportError:  # no TensorFlow (the GPU image): the Grain rows only
      input_pipeline = None
    if input_pipeline is not None:
      data.loader = 'tf_data'
      time_rows('tfdata', 'tf.data (autotuned)', input_pipeline)
  print(f'{cpus} CPUs, batch {args.batch_size}, full augmentation, {s}x{s} source images')
  for name, key in rows:
    print(f'  {name:<50s} {results[key]:8.1f}')
  print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()}))
  return 0


if __name__ == '__main__':
  sys.exit(main())
