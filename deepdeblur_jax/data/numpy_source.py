"""A TensorFlow-free data source (Pillow + NumPy) with the batch format of input_pipeline.

Meant for benchmarks and training on machines without TensorFlow. It reads the same files in the
same order as `input_pipeline` (see `sampling`), but draws its augmentation from
`np.random.default_rng([seed, g])`, so its crops differ from the tf.data pipeline's.
It applies crop, the 8 dihedral transforms, RGB permutation, saturation and blur
noise as switched by the config; elements are made by a pool of threads.
"""

import collections
import concurrent.futures
import itertools
import os
import threading
from typing import Any, Iterator, Optional

import numpy as np

from deepdeblur_jax.data import readers
from deepdeblur_jax.data import sampling
from deepdeblur_jax.io import photos


def scale_saturation(rgb: np.ndarray, factor: float) -> np.ndarray:
  """HSV saturation times `factor` (hue and value kept), unclipped S, RGB clipped to [0, 1].

  Equals RGB -> HSV, S *= factor, HSV -> RGB, clip (what `input_pipeline.adjust_saturation`
  does with TensorFlow), in closed form: with hue and V = max(R, G, B) fixed, every channel's
  distance below V scales with S, so each channel becomes V - factor * (V - channel).
  """
  # V = max(R, G, B) as two elementwise maxima: NumPy's max over a 3-long last axis is ~30x slower.
  v = np.maximum(np.maximum(rgb[..., 0:1], rgb[..., 1:2]), rgb[..., 2:3])
  return np.clip(v + np.float32(factor) * (rgb - v), 0.0, 1.0)


def augment(blur: np.ndarray, sharp: np.ndarray, rng: np.random.Generator, data_config: Any,
            patch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Crops and augments one uint8 pair; returns float32 [0, 1] patches."""
  h, w = blur.shape[:2]
  if h < patch_size or w < patch_size:
    raise ValueError(f'image {h}x{w} smaller than patch_size={patch_size}')
  m = max(int(data_config.crop_multiple), 1)
  y = m * int(rng.integers((h - patch_size) // m + 1))
  x = m * int(rng.integers((w - patch_size) // m + 1))
  pair = np.stack([blur[y:y + patch_size, x:x + patch_size],
                   sharp[y:y + patch_size, x:x + patch_size]])  # uint8 until every copy is made
  if data_config.augment_flip:
    hflip, vflip, transpose = rng.random(3) < 0.5
    if hflip:
      pair = pair[:, :, ::-1]
    if vflip:
      pair = pair[:, ::-1]
    if transpose:
      pair = pair.transpose(0, 2, 1, 3)
  if data_config.augment_rgb_permute:
    pair = pair[..., rng.permutation(3)]
  pair = np.ascontiguousarray(pair).astype(np.float32) / np.float32(255.0)
  if data_config.augment_saturation and rng.random() < data_config.saturation_prob:
    pair = scale_saturation(pair, rng.uniform(0.5, 1.5))
  blur, sharp = pair[0], pair[1]
  if data_config.augment_noise:
    sigma = abs(rng.standard_normal()) * 2 / 255
    noise = rng.standard_normal(blur.shape, dtype=np.float32)
    blur = np.clip(blur + np.float32(sigma) * noise, 0.0, 1.0)
  return np.ascontiguousarray(blur), np.ascontiguousarray(sharp)


class _Store:
  """Decoded images by path, kept only if caching is on."""

  def __init__(self, enabled: bool):
    self.enabled = enabled
    self._images: dict[str, np.ndarray] = {}
    self._lock = threading.Lock()

  def get(self, path: str) -> np.ndarray:
    img = self._images.get(path)
    if img is None:
      img = photos.read_rgb_uint8(path)
      if self.enabled:
        with self._lock:
          self._images[path] = img
    return img


def _to_output(x: np.ndarray, dtype: str) -> np.ndarray:
  if dtype == 'uint8':
    return photos.round_to_uint8(x * 255.0)
  if dtype == 'float32':
    return x.astype(np.float32)
  raise ValueError(f"data.output_dtype must be 'float32' or 'uint8', got {dtype!r}")


def num_workers(data: Any) -> int:
  """Worker threads: data.num_parallel_calls, or the CPU count when it is -1 (auto)."""
  n = int(data.num_parallel_calls)
  return max(1, os.cpu_count() or 1) if n == -1 else max(1, n)


def create_train_iterator(config: Any, start_step: int = 0, process_index: Optional[int] = None,
                          process_count: Optional[int] = None) -> Iterator[dict[str, np.ndarray]]:
  """Yields {'blur', 'sharp'}: (batch_size // process_count, P, P, 3) batches forever.

  Elements are decoded and augmented by `data.num_parallel_calls` threads (Pillow and NumPy
  release the GIL), two batches ahead; the order and content do not depend on the thread count.
  """
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  data = config.data
  local = sampling.local_batch_size(config.batch_size, process_count)
  pairs = readers.list_pairs(data, data.train_split)
  plan = sampling.FilePlan(config.seed, len(pairs))
  store = _Store(bool(data.cache))

  def element(g: int, pair: readers.ImagePair) -> tuple[np.ndarray, np.ndarray]:
    try:
      return augment(store.get(pair.blur), store.get(pair.sharp),
                     np.random.default_rng([config.seed, g]), data, config.patch_size)
    except ValueError as e:
      raise ValueError(f'{pair.blur}: {e}') from e

  elements = sampling.local_elements(config.batch_size, start_step, process_index, process_count)
  with concurrent.futures.ThreadPoolExecutor(num_workers(data)) as pool:
    pending: collections.deque = collections.deque()
    while True:
      while len(pending) < 2:  # keep two batches in flight
        pending.append([pool.submit(element, g, pairs[plan.file_index(g)])
                        for g in itertools.islice(elements, local)])
      results = [f.result() for f in pending.popleft()]
      yield {'blur': _to_output(np.stack([b for b, _ in results]), data.output_dtype),
             'sharp': _to_output(np.stack([s for _, s in results]), data.output_dtype)}


def create_eval_iterator(config: Any, process_index: Optional[int] = None,
                         process_count: Optional[int] = None) -> Iterator[dict[str, Any]]:
  """Yields each of this process's test images once at full size, as input_pipeline does:
  {'blur': (1, H, W, 3), 'sharp', 'name'}."""
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  data = config.data
  for pair in sampling.local_eval_pairs(data, process_index, process_count):
    blur, sharp = photos.read_rgb_uint8(pair.blur), photos.read_rgb_uint8(pair.sharp)
    yield {'blur': _to_output(blur[None] / np.float32(255.0), data.output_dtype),
           'sharp': _to_output(sharp[None] / np.float32(255.0), data.output_dtype),
           'name': pair.name}
