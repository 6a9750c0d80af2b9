"""tf.data input pipelines for training (augmented patches) and evaluation (full images).

The only module of the package that imports TensorFlow. Training batches are a pure
function of (config.seed, global element index), see `sampling`: the file comes
from a per-epoch NumPy permutation, and every random augmentation uses stateless
TF ops seeded by (seed, 16 * g + k). Hence the same seed gives the same batches, a
resumed run (`start_step`) continues exactly, and P processes together see the
one-process global batch. The image pyramid is built on device, not here.
"""

import gc
import re
import threading
import traceback
from typing import Any, Iterator, Optional

import numpy as np
import tensorflow as tf

from deepdeblur_jax.data import readers
from deepdeblur_jax.data import sampling
from deepdeblur_jax.data.verify import DataError

try:  # Keep TensorFlow off accelerators; JAX owns them.
  tf.config.set_visible_devices([], 'GPU')
except (RuntimeError, ValueError):  # already initialised or no GPU support
  pass

_SEED_STREAMS = 16  # independent stateless seeds per element


class _ImageStore:
  """Decodes pair files with Pillow; keeps decoded images in memory if `cache`."""

  def __init__(self, pairs: list[readers.ImagePair], cache: bool, min_size: int = 0):
    self._pairs = pairs
    self._cache = cache
    self._min_size = min_size
    self._images: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    self._lock = threading.Lock()

  def load(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(blur, sharp) uint8 HxWx3 of pair `index`."""
    i = int(index)
    images = self._images.get(i)
    if images is None:
      images = readers.read_pair(self._pairs[i], self._min_size)
      if self._cache:
        with self._lock:
          self._images[i] = images
    return images

  def tf_load(self, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """`load` as a TF op."""
    blur, sharp = tf.numpy_function(self.load, [index], [tf.uint8, tf.uint8], stateful=False)
    blur.set_shape([None, None, 3])
    sharp.set_shape([None, None, 3])
    return blur, sharp


def _num_parallel_calls(data: Any) -> int:
  n = int(data.num_parallel_calls)
  return tf.data.AUTOTUNE if n < 0 else max(n, 1)


def _output(x: tf.Tensor, dtype: str) -> tf.Tensor:
  """Float [0, 1] -> the configured output dtype."""
  if dtype == 'float32':
    return x
  if dtype == 'uint8':  # the rule of deepdeblur_jax.quantization, in TensorFlow
    return tf.cast(tf.clip_by_value(tf.floor(x * 255.0 + 0.5), 0.0, 255.0), tf.uint8)
  raise ValueError(f"data.output_dtype must be 'float32' or 'uint8', got {dtype!r}")


def adjust_saturation(pair: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
  """RGB [0, 1] -> HSV, S *= factor (unclipped), -> RGB, clipped to [0, 1], in closed form.

  With hue and V = max(R, G, B) fixed, each channel's distance below V scales with S, so every
  channel becomes V - factor * (V - channel) (as `augment.scale_saturation`).
  """
  v = tf.reduce_max(pair, axis=-1, keepdims=True)
  return tf.clip_by_value(v + factor * (pair - v), 0.0, 1.0)


def augment_pair(blur: tf.Tensor, sharp: tf.Tensor, g: tf.Tensor, seed: int, data: Any,
                 patch_size: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Crops and augments one uint8 pair (docs/data.md); float32 [0, 1] out.

  All randomness is stateless, seeded by (seed, 16 * g + k) for stream k.
  """
  g = tf.cast(g, tf.int64)

  def stream(k: int) -> tf.Tensor:
    return tf.stack([tf.constant(seed, tf.int64), g * _SEED_STREAMS + k])

  p = patch_size
  m = max(int(data.crop_multiple), 1)
  shape = tf.shape(blur)
  y = m * tf.random.stateless_uniform([], stream(0), 0, (shape[0] - p) // m + 1, tf.int32)
  x = m * tf.random.stateless_uniform([], stream(1), 0, (shape[1] - p) // m + 1, tf.int32)
  pair = tf.stack([blur, sharp])[:, y:y + p, x:x + p, :]
  pair = tf.cast(pair, tf.float32) / 255.0
  if data.augment_flip:
    u = tf.random.stateless_uniform([3], stream(2))
    pair = tf.cond(u[0] < 0.5, lambda: tf.reverse(pair, [2]), lambda: pair)
    pair = tf.cond(u[1] < 0.5, lambda: tf.reverse(pair, [1]), lambda: pair)
    pair = tf.cond(u[2] < 0.5, lambda: tf.transpose(pair, [0, 2, 1, 3]), lambda: pair)
  if data.augment_rgb_permute:
    perm = tf.argsort(tf.random.stateless_uniform([3], stream(3)))
    pair = tf.gather(pair, perm, axis=-1)
  if data.augment_saturation:
    u = tf.random.stateless_uniform([2], stream(4))
    pair = tf.cond(u[0] < data.saturation_prob,
                   lambda: adjust_saturation(pair, 0.5 + u[1]), lambda: pair)
  blur, sharp = pair[0], pair[1]
  if data.augment_noise:
    sigma = tf.abs(tf.random.stateless_normal([], stream(5))) * (2.0 / 255.0)
    noise = tf.random.stateless_normal(tf.shape(blur), stream(6))
    blur = tf.clip_by_value(blur + sigma * noise, 0.0, 1.0)
  blur = tf.ensure_shape(blur, [p, p, 3])
  sharp = tf.ensure_shape(sharp, [p, p, 3])
  return blur, sharp


def create_train_dataset(config: Any, start_step: int = 0, process_index: int = 0,
                         process_count: int = 1) -> tf.data.Dataset:
  """The infinite tf.data.Dataset behind `create_train_iterator`."""
  data = config.data
  local = sampling.local_batch_size(config.batch_size, process_count)
  if config.patch_size < 1:
    raise ValueError(f'patch_size must be positive, got {config.patch_size}')
  if start_step < 0:
    raise ValueError(f'start_step must be >= 0, got {start_step}')
  pairs = readers.list_pairs(data, data.train_split)
  plan = sampling.FilePlan(config.seed, len(pairs))
  store = _ImageStore(pairs, bool(data.cache), config.patch_size)
  seed = int(config.seed)
  patch_size = int(config.patch_size)

  def elements():
    for g in sampling.local_elements(config.batch_size, start_step, process_index,
                                     process_count):
      yield g, plan.file_index(g)

  def load_and_augment(g, i):
    blur, sharp = store.tf_load(i)
    return augment_pair(blur, sharp, g, seed, data, patch_size)

  def to_batch(blur, sharp):
    return {'blur': _output(blur, data.output_dtype), 'sharp': _output(sharp, data.output_dtype)}

  _output(tf.zeros([]), data.output_dtype)  # validate the dtype early
  ds = tf.data.Dataset.from_generator(
      elements, output_signature=(tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64)))
  ds = ds.map(load_and_augment, num_parallel_calls=_num_parallel_calls(data), deterministic=True)
  ds = ds.batch(local, drop_remainder=True)
  ds = ds.map(to_batch)
  return ds.prefetch(2)


def _pipeline_error_message(error: tf.errors.OpError) -> str:
  """The Python error raised inside the pipeline (first line of TF's message, no op name)."""
  lines = (error.message or str(error)).strip().splitlines()
  first = lines[0] if lines else ''
  return re.sub(r'^\{\{function_node [^}]*\}\}\s*', '', first) or type(error).__name__


def numpy_elements(ds: tf.data.Dataset) -> Iterator[Any]:
  """`ds.as_numpy_iterator()`, except that an error inside the pipeline (a bad image, say)
  comes out as a DataError with the original one-line message, and TF's iterator is released
  at once. Otherwise the error's traceback keeps the iterator alive until interpreter exit,
  where finalizing a `from_generator` iterator needs the already torn-down interpreter
  ("Error occurred when finalizing GeneratorDataset iterator") and can hang the process.
  """
  iterator = ds.as_numpy_iterator()
  while True:
    message = None
    try:
      element = next(iterator)
    except StopIteration:
      return
    except tf.errors.OpError as e:
      message = _pipeline_error_message(e)
      traceback.clear_frames(e.__traceback__)  # drop the frames' references to the iterator
    if message is not None:  # raised outside `except`, so no __context__ keeps TF objects alive
      del iterator
      gc.collect()
      raise DataError(f'input pipeline stopped: {message}')
    yield element


def create_train_iterator(config: Any, start_step: int = 0, process_index: Optional[int] = None,
                          process_count: Optional[int] = None) -> Iterator[dict[str, np.ndarray]]:
  """Yields process-local training batches {'blur', 'sharp'} of shape (B_local, P, P, 3).

  B_local = config.batch_size // process_count; float32 in [0, 1], or uint8 if
  `data.output_dtype == 'uint8'`. Step s of the stream is the same for any
  `start_step <= s`, any process split and cached or uncached decoding.
  """
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  ds = create_train_dataset(config, start_step, process_index, process_count)
  yield from numpy_elements(ds)


def create_eval_iterator(config: Any, process_index: Optional[int] = None,
                         process_count: Optional[int] = None) -> Iterator[dict[str, Any]]:
  """Yields each test image once at full size: {'blur': (1, H, W, 3), 'sharp', 'name'}.

  Process p takes the sorted images i with i % process_count == p, after limiting
  to the first `data.max_eval_images` (-1: all).
  """
  process_index, process_count = sampling.resolve_process(process_index, process_count)
  data = config.data
  mine = sampling.local_eval_pairs(data, process_index, process_count)
  if not mine:
    return
  store = _ImageStore(mine, cache=False)

  def load(i):
    blur, sharp = store.tf_load(i)
    return (_output(tf.cast(blur, tf.float32)[None] / 255.0, data.output_dtype),
            _output(tf.cast(sharp, tf.float32)[None] / 255.0, data.output_dtype))

  ds = tf.data.Dataset.range(len(mine)).map(load, num_parallel_calls=_num_parallel_calls(data),
                                            deterministic=True).prefetch(2)
  for (blur, sharp), pair in zip(numpy_elements(ds), mine):
    yield {'blur': blur, 'sharp': sharp, 'name': pair.name}
