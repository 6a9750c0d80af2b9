"""Checks a dataset before training: every train and test image decoded once, sizes and splits.

A bad file otherwise stops a run only when first sampled, possibly hours in (or, for a test
image, at the first evaluation). `check_training_data` decodes every image of the train split
and of the evaluated test images in a thread pool (Pillow releases the GIL while decoding; no
TensorFlow), checks that blur and sharp have the same size and that every training image holds
a patch, and raises one DataError listing every problem, each naming its file.
"""

import concurrent.futures
import dataclasses
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from deepdeblur_jax.data import readers
from deepdeblur_jax.io import photos

SSIM_WINDOW = 11  # test images must hold the 11x11 SSIM window (evaluation.metrics)


class DataError(ValueError):
  """The dataset has unreadable, mismatched or too small images, or an empty split; the message
  lists every problem, one per line, each naming its file."""


@dataclasses.dataclass(frozen=True)
class SplitCheck:
  """What to check for one split: its role ('train' or 'test'), config field, folder name and
  minimum side (with the reason for it)."""
  role: str
  field: str
  split: str
  min_side: int
  min_side_reason: str


@dataclasses.dataclass(frozen=True)
class DataReport:
  """A passed check: pairs per role, distinct image files decoded, seconds taken."""
  pairs: Dict[str, int]
  images: int
  seconds: float

  def __str__(self) -> str:
    counts = ', '.join(f'{n} {role}' for role, n in self.pairs.items())
    return (f'data check passed: {counts} pairs, {self.images} images decoded in '
            f'{self.seconds:.1f} s (config.data.verify=False skips it)')


def num_threads(data: Any) -> int:
  """Decoding threads: data.num_parallel_calls, or the CPU count when it is -1 (auto)."""
  n = int(data.num_parallel_calls)
  return max(1, os.cpu_count() or 1) if n == -1 else max(1, n)


def _decode_size(path: str) -> Tuple[int, int]:
  """(height, width) after fully decoding `path` as the input pipelines do."""
  return photos.read_rgb_uint8(path).shape[:2]


def decode_sizes(paths: Sequence[str], workers: int) -> Dict[str, Any]:
  """{path: (height, width), or the error message} for every path, decoded in parallel."""
  results: Dict[str, Any] = {}
  with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
    futures = {path: pool.submit(_decode_size, path) for path in dict.fromkeys(paths)}
    for path, future in futures.items():
      try:
        results[path] = future.result()
      except (OSError, ValueError, MemoryError) as e:  # ValueError names the file already
        results[path] = str(e) if path in str(e) else f'{path}: {e}'
  return results


def pair_problems(pairs: Sequence[readers.ImagePair], sizes: Dict[str, Any], check: SplitCheck
                  ) -> List[str]:
  """One line per unreadable file, blur/sharp size mismatch or image below the minimum side."""
  problems: List[str] = []
  for pair in pairs:
    blur, sharp = sizes[pair.blur], sizes[pair.sharp]
    bad = [s for s in (blur, sharp) if isinstance(s, str)]
    problems += bad
    if bad:
      continue
    if blur != sharp:
      problems.append(f'{pair.blur} is {blur[0]}x{blur[1]} but its sharp partner {pair.sharp} '
                      f'is {sharp[0]}x{sharp[1]}')
    elif min(blur) < check.min_side:
      problems.append(f'{pair.blur} (and {pair.sharp}) is {blur[0]}x{blur[1]}, smaller than '
                      f'{check.min_side_reason}')
  return problems


def splits_to_check(config: Any, evaluate: bool = True) -> List[SplitCheck]:
  """The train split (every image must hold a patch) and, if `evaluate`, the test split."""
  data = config.data
  checks = [SplitCheck('train', 'data.train_split', data.train_split, int(config.patch_size),
                       f'patch_size={config.patch_size} (config.patch_size)')]
  if evaluate:
    checks.append(SplitCheck('test', 'data.eval_split', data.eval_split, SSIM_WINDOW,
                             f'the {SSIM_WINDOW}x{SSIM_WINDOW} SSIM window'))
  return checks


def verify_data(config: Any, evaluate: bool = True, workers: Optional[int] = None) -> DataReport:
  """Decodes every train (and, if `evaluate`, every evaluated test) image once and checks sizes
  and splits; raises DataError listing every problem, or returns a DataReport.

  An empty or missing split is a problem (the test split only if `evaluate`); of the test split
  only the first `data.max_eval_images` pairs are checked, as only those are evaluated.
  """
  start = time.perf_counter()
  data = config.data
  listed: List[Tuple[SplitCheck, List[readers.ImagePair]]] = []
  problems: List[str] = []
  for check in splits_to_check(config, evaluate):
    try:
      pairs = readers.list_pairs(data, check.split, check_sizes=False)
    except (OSError, ValueError) as e:
      problems.append(f'{check.role} split {check.split!r} (config.{check.field}): {e}')
      continue
    if check.role == 'test' and data.max_eval_images >= 0:
      pairs = pairs[:data.max_eval_images]
    listed.append((check, pairs))
  paths = [p for _, pairs in listed for pair in pairs for p in (pair.blur, pair.sharp)]
  sizes = decode_sizes(paths, num_threads(data) if workers is None else workers)
  for check, pairs in listed:
    problems += pair_problems(pairs, sizes, check)
  problems = list(dict.fromkeys(problems))  # a file in both splits is named once
  if problems:
    raise DataError(f'data check failed before training, {len(problems)} problem(s):\n  '
                    + '\n  '.join(problems))
  return DataReport({check.role: len(pairs) for check, pairs in listed}, len(sizes),
                    time.perf_counter() - start)


def check_training_data(config: Any, log: Callable[..., None]) -> Optional[DataReport]:
  """`verify_data` when config.data.verify is on (logging the result), else None."""
  if not config.data.verify:
    log('data check skipped (config.data.verify=False): a bad image stops the run when read')
    return None
  log('checking the data: decoding every train and test image once')
  report = verify_data(config)
  log('%s', report)
  return report
