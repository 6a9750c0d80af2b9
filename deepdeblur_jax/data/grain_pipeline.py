"""The Grain input pipeline (no TensorFlow): training batches and evaluation images.

Training: a random-access source over the dataset's pairs (`PairSource`; with data.cache, a
folder of decoded pairs shared by the worker processes) and a `grain.MapDataset` over this
process's element positions, mapped to global element indices g (see `sampling`), each made by
reading file `FilePlan(seed).file_index(g)` and augmenting it with
`np.random.default_rng([seed, g])` (`augment`), batched by Grain. Batches are made by
`data.num_workers` worker processes (Grain's `mp_prefetch`: worker w makes batches w, w + n, ...,
which are returned in order), or by threads in this process when it is 0. So the content of
step s is a pure function of (seed, s): the same for any worker count, any `start_step <= s`, any
process split and cached or uncached decoding.

A bad file ends iteration with a DataError naming it; the worker processes are stopped then,
when the iterator is closed, or, should this process die, by themselves within a second.
"""

import dataclasses
import gc
import os
import shutil
import tempfile
import threading
import time
import traceback
from typing import Any, Iterator, Optional

import grain
import numpy as np
from absl import flags

from deepdeblur_jax.data import augment, readers, sampling
from deepdeblur_jax.data.verify import DataError, num_threads
from deepdeblur_jax.io import photos

_NUM_ELEMENTS = 2 ** 62  # the training stream is endless; Grain needs a length
_PARENT_POLL_S = 1.0


def num_workers(data: Any) -> int:
  """Worker processes: data.num_workers, or the CPU count when it is -1 (auto); 0 = none."""
  n = int(data.num_workers)
  return max(1, os.cpu_count() or 1) if n == -1 else max(0, n)


@dataclasses.dataclass(frozen=True)
class Augmentation:
  """The augmentation switches of config.data (a small picklable copy for worker processes)."""
  crop_multiple: int
  augment_flip: bool
  augment_rgb_permute: bool
  augment_saturation: bool
  saturation_prob: float
  augment_noise: bool

  @classmethod
  def from_config(cls, data: Any) -> 'Augmentation':
    """The fields of `data` (config.data)."""
    return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


class PairSource:
  """Random access to decoded (blur, sharp) uint8 pairs. Errors name the file.

  With `cache_dir`, a decoded pair is also written there as one uncompressed .npy file (written
  whole, then renamed) and later read back memory-mapped: worker processes share one cache (in
  /dev/shm, the page cache, not one copy per process), whichever process decoded a file first.
  """

  def __init__(self, pairs: list[readers.ImagePair], cache_dir: Optional[str] = None,
               min_size: int = 0):
    self._pairs = list(pairs)
    self._cache_dir = cache_dir
    self._min_size = min_size

  def __len__(self) -> int:
    return len(self._pairs)

  def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
    i = int(index)
    cached = os.path.join(self._cache_dir, f'{i}.npy') if self._cache_dir else None
    if cached:
      try:
        both = np.load(cached, mmap_mode='r')
        return both[0], both[1]
      except FileNotFoundError:
        pass
    images = readers.read_pair(self._pairs[i], self._min_size, read=_read)
    if cached:
      partial = f'{cached}.{os.getpid()}.{threading.get_ident()}.tmp'
      with open(partial, 'wb') as f:
        np.save(f, np.stack(images))
      os.replace(partial, cached)
    return images


def cache_folder(pairs: list[readers.ImagePair]) -> str:
  """A new temporary folder for the decoded pairs: in /dev/shm (memory shared by all processes)
  if it has room for all of them, else in the system's temporary folder."""
  need = sum(2 * 3 * h * w + 256 for h, w in (photos.image_size(p.blur) for p in pairs))
  root = None
  if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK):
    if shutil.disk_usage('/dev/shm').free > need + (1 << 28):  # 256 MiB to spare
      root = '/dev/shm'
  return tempfile.mkdtemp(prefix='deepdeblur-grain-cache-', dir=root)


def _read(path: str) -> np.ndarray:
  try:
    return photos.read_rgb_uint8(path)
  except (OSError, ValueError) as e:
    message = str(e)
    raise ValueError(message if path in message else f'{path}: {message}') from None


@dataclasses.dataclass(frozen=True)
class TrainElement:
  """Process-local element position k -> augmented float32 patches {'blur', 'sharp'}."""
  source: PairSource
  plan: sampling.FilePlan
  seed: int
  batch_size: int
  start_step: int
  process_index: int
  process_count: int
  patch_size: int
  augmentation: Augmentation

  def __call__(self, k: int) -> dict[str, np.ndarray]:
    g = sampling.global_element(int(k), self.batch_size, self.start_step, self.process_index,
                                self.process_count)
    i = self.plan.file_index(g)
    blur, sharp = self.source[i]
    blur, sharp = augment.augment(blur, sharp, np.random.default_rng([self.seed, g]),
                                  self.augmentation, self.patch_size)
    return {'blur': blur, 'sharp': sharp}


@dataclasses.dataclass(frozen=True)
class StackBatch:
  """Grain's batch_fn: a list of elements -> {'blur', 'sharp'} (B, P, P, 3) in `dtype`."""
  dtype: str

  def __call__(self, elements: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: augment.to_output(np.stack([e[k] for e in elements]), self.dtype)
            for k in ('blur', 'sharp')}


def _exit_with_parent(worker_index: int, worker_count: int) -> None:
  """Worker-process start-up: ends the worker once its parent process is gone (killed, or ended
  by os._exit without closing the pipeline), so no worker is ever orphaned."""
  del worker_index, worker_count
  parent = os.getppid()

  def watch() -> None:
    while os.getppid() == parent:
      time.sleep(_PARENT_POLL_S)
    os._exit(1)  # pylint: disable=protected-access

  threading.Thread(target=watch, name='exit-with-parent', daemon=True).start()


def create_train_dataset(config: Any, start_step: int = 0, process_index: int = 0,
                         process_count: int = 1, cache_dir: Optional[str] = None
                         ) -> grain.IterDataset:
  """The endless grain.IterDataset behind `create_train_iterator`; decoded pairs are kept in
  `cache_dir` if given (see PairSource)."""
  data = config.data
  local = sampling.local_batch_size(config.batch_size, process_count)
  if config.patch_size < 1:
    raise ValueError(f'patch_size must be positive, got {config.patch_size}')
  if start_step < 0:
    raise ValueError(f'start_step must be >= 0, got {start_step}')
  if not 0 <= process_index < process_count:
    raise ValueError(f'process_index {process_index} not in [0, {process_count})')
  augment.to_output(np.zeros(1, np.float32), data.output_dtype)  # validate the dtype early
  pairs = readers.list_pairs(data, data.train_split)
  element = TrainElement(PairSource(pairs, cache_dir, int(config.patch_size)),
                         sampling.FilePlan(config.seed, len(pairs)), int(config.seed),
                         int(config.batch_size), int(start_step), int(process_index),
                         int(process_count), int(config.patch_size),
                         Augmentation.from_config(data))
  ds = grain.MapDataset.range(_NUM_ELEMENTS).map(element)
  ds = ds.batch(local, drop_remainder=True, batch_fn=StackBatch(str(data.output_dtype)))
  workers = num_workers(data)
  if workers == 0:  # threads of this process make whole batches, two ahead
    return ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads(data),
                                                prefetch_buffer_size=2))
  if not flags.FLAGS.is_parsed():  # Grain reads its absl flags when it starts workers
    flags.FLAGS.mark_as_parsed()  # their defaults, where no absl app parsed a command line
  # Each worker makes one batch at a time and holds up to two finished ones. Batches come back
  # pickled rather than in shared memory: blocks still in flight when the process exits right
  # after an error would be reported as leaked by multiprocessing's resource tracker.
  ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0))
  ds = grain.experimental.WithOptionsIterDataset(
      ds, grain.experimental.DatasetOptions(min_shm_size=_NUM_ELEMENTS))
  return ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers,
                                                     per_worker_buffer_size=2),
                        worker_init_fn=_exit_with_parent)


def numpy_elements(ds: grain.IterDataset) -> Iterator[Any]:
  """Iterates `ds`; a bad file (an OSError or ValueError in any worker) comes out as a DataError
  'input pipeline stopped: <first line>'. The iterator, with its worker processes, is closed and
  released when iteration ends, fails, or the generator is closed (so that a process ended by
  os._exit right after the error leaves no semaphore or shared memory for multiprocessing's
  resource tracker to complain about)."""
  iterator = iter(ds)
  try:
    while True:
      message = None
      try:
        element = next(iterator)
      except StopIteration:
        return
      except (OSError, ValueError) as e:
        lines = str(e).strip().splitlines()
        message = lines[0] if lines else type(e).__name__
        traceback.clear_frames(e.__traceback__)
      if message is not None:  # raised outside `except`: no __context__ keeps Grain alive
        raise DataError(f'input pipeline stopped: {message}')
      yield element
      del element
  finally:
    iterator.close()
    del iterator
    gc.collect()


def create_train_iterator(config: Any, start_step: int = 0, process_index: Optional[int] = None,
                          process_count: Optional[int] = None) -> Iterator[dict[str, np.ndarray]]:
  """Yields process-local training batches {'blur', 'sharp'} of shape (B_local, P, P, 3) forever.

  B_local = config.batch_size // process_count; float32 in [0, 1], or uint8 if
  `data.output_dtype == 'uint8'`. Step s of the stream is the same for any `start_step <= s`,
  process split, worker count and cached or uncached decoding. With data.cache, decoded pairs
  are kept in a temporary folder (`cache_folder`) shared by the workers. Close it (or let it end)
  to stop the workers and remove that folder.
  """
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  if not config.data.cache:
    yield from numpy_elements(create_train_dataset(config, start_step, process_index,
                                                   process_count))
    return
  cache_dir = cache_folder(readers.list_pairs(config.data, config.data.train_split))
  try:
    yield from numpy_elements(create_train_dataset(config, start_step, process_index,
                                                   process_count, cache_dir))
  finally:
    shutil.rmtree(cache_dir, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class EvalElement:
  """Pair index -> full-size {'blur', 'sharp'} of shape (1, H, W, 3) in `dtype`."""
  source: PairSource
  dtype: str

  def __call__(self, index: int) -> dict[str, np.ndarray]:
    return {k: augment.to_output(x[None] / np.float32(255.0), self.dtype)
            for k, x in zip(('blur', 'sharp'), self.source[index])}


def create_eval_iterator(config: Any, process_index: Optional[int] = None,
                         process_count: Optional[int] = None) -> Iterator[dict[str, Any]]:
  """Yields each test image once at full size: {'blur': (1, H, W, 3), 'sharp', 'name'}.

  Process p takes the sorted images i with i % process_count == p, after limiting to the first
  `data.max_eval_images` (-1: all); decoded by two threads, two images ahead.
  """
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  data = config.data
  mine = sampling.local_eval_pairs(data, process_index, process_count)
  if not mine:
    return
  element = EvalElement(PairSource(mine), str(data.output_dtype))
  ds = grain.MapDataset.range(len(mine)).map(element)
  ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=min(2, num_threads(data)),
                                            prefetch_buffer_size=2))
  for element, pair in zip(numpy_elements(ds), mine):
    yield {**element, 'name': pair.name}
