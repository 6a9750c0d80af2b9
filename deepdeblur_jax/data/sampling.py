"""Which file each training element reads: a pure function of (seed, element index).

Global element g = step * batch_size + j of the training stream reads file
`perm(seed, g // N)[g % N]`, where perm(seed, epoch) is a NumPy permutation of the
N files seeded by (seed, epoch). Process p of P takes elements
j in [p * B/P, (p + 1) * B/P) of every global batch, so a P-process run sees the
same global batches as a one-process run, and a run resumed at step s sees exactly
the batches an uninterrupted run sees from step s on.
"""

import itertools
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np

from deepdeblur_jax.data import readers


def resolve_process(process_index: Optional[int], process_count: Optional[int]
                    ) -> Tuple[int, int]:
  """(process_index, process_count), defaulting to JAX's own."""
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  return int(process_index), int(process_count)


def local_eval_pairs(data_config: Any, process_index: int, process_count: int
                     ) -> List[readers.ImagePair]:
  """This process's test pairs: sorted pairs i with i % process_count == process_index,
  after limiting to the first `data_config.max_eval_images` (-1: all)."""
  pairs = readers.list_pairs(data_config, data_config.eval_split)
  if data_config.max_eval_images >= 0:
    pairs = pairs[:data_config.max_eval_images]
  return pairs[process_index::process_count]


def local_batch_size(batch_size: int, process_count: int) -> int:
  """The per-process batch size; raises ValueError naming `batch_size` if not divisible."""
  if batch_size < 1 or batch_size % process_count:
    raise ValueError(f'batch_size={batch_size} must be a positive multiple of the process '
                     f'count {process_count}')
  return batch_size // process_count


class FilePlan:
  """Maps global element indices to file indices with one permutation per epoch."""

  def __init__(self, seed: int, num_files: int):
    if num_files < 1:
      raise ValueError('FilePlan needs at least one file')
    self.seed = int(seed)
    self.num_files = int(num_files)
    self._last = (-1, np.zeros(0, np.int64))  # (epoch, permutation), replaced as one object

  def permutation(self, epoch: int) -> np.ndarray:
    """The file order of `epoch` (safe to call from several threads)."""
    last = self._last
    if last[0] != epoch:
      last = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.num_files))
      self._last = last
    return last[1]

  def file_index(self, g: int) -> int:
    """The file read by global element `g`."""
    return int(self.permutation(g // self.num_files)[g % self.num_files])


def global_element(k: int, batch_size: int, start_step: int, process_index: int,
                   process_count: int) -> int:
  """The global element index of this process's k-th element counted from `start_step`."""
  local = batch_size // process_count
  return (start_step + k // local) * batch_size + process_index * local + k % local


def local_elements(batch_size: int, start_step: int, process_index: int, process_count: int,
                   num_steps: Optional[int] = None) -> Iterator[int]:
  """Global element indices of this process's share of each batch, from `start_step` on."""
  local = local_batch_size(batch_size, process_count)
  if not 0 <= process_index < process_count:
    raise ValueError(f'process_index {process_index} not in [0, {process_count})')
  steps = itertools.count(start_step) if num_steps is None else range(
      start_step, start_step + num_steps)
  for step in steps:
    base = step * batch_size + process_index * local
    yield from range(base, base + local)
