"""TensorBoard scalars, images and text through tensorboardX (no TensorFlow needed), process 0 only."""

import sys
from typing import Any, Mapping, Optional

import jax
import numpy as np

from deepdeblur_jax import quantization
from deepdeblur_jax.io import storage


class _BucketEventFile:
  """An event file in a bucket: records are kept in memory and the object is uploaded whole on
  each flush (a bucket object cannot be appended to), through the project's storage layer."""

  def __init__(self, path: str):
    self._path = path
    self._data = bytearray()
    self._flushed = -1

  def write(self, data: bytes) -> None:
    self._data += data

  def flush(self) -> None:
    if len(self._data) != self._flushed:
      storage.write_bytes(self._path, bytes(self._data))
      self._flushed = len(self._data)

  def close(self) -> None:
    self.flush()


class _BucketEventFiles:
  """tensorboardX writer factory for gs:// log folders (its own needs google-cloud-storage
  credentials and settings of its own)."""

  def open(self, path: str) -> _BucketEventFile:
    return _BucketEventFile(path)

  def directory_check(self, path: str) -> None:
    del path  # a bucket has no folders to create


def _import_summary_writer() -> Any:
  """tensorboardX's SummaryWriter, imported without PyTorch.

  tensorboardX imports torch at import time when it is installed (only to accept torch tensors,
  which this project never passes): ~3.5 s and ~180 MB per training process. A None entry in
  sys.modules makes `import torch` fail inside that import (documented import-system
  behaviour), and the entry is removed afterwards, so torch still imports normally later. If
  torch is already imported, it is left alone.
  """
  if 'torch' in sys.modules:
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
    return SummaryWriter
  sys.modules['torch'] = None  # type: ignore[assignment]
  try:
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
  finally:
    if sys.modules.get('torch', 0) is None:
      del sys.modules['torch']
  return SummaryWriter


class MetricsWriter:
  """Writes scalars and NHWC images to `logdir` on process 0; a no-op on other processes."""

  def __init__(self, logdir: str, process_index: Optional[int] = None):
    process_index = jax.process_index() if process_index is None else process_index
    self._writer = None
    if process_index == 0:
      summary_writer = _import_summary_writer()
      if storage.is_url(logdir):
        from tensorboardX import record_writer  # pylint: disable=g-import-not-at-top
        record_writer.register_writer_factory('gs', _BucketEventFiles())
      self._writer = summary_writer(logdir)

  @property
  def active(self) -> bool:
    """True on the process that writes."""
    return self._writer is not None

  def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
    """One scalar per name at `step`."""
    if self._writer is None:
      return
    for name, value in scalars.items():
      self._writer.add_scalar(name, float(np.asarray(value)), global_step=int(step))

  def write_images(self, step: int, images: Mapping[str, Any]) -> None:
    """HWC or NHWC images, float in [0, 1] or uint8, at `step`."""
    if self._writer is None:
      return
    for name, image in images.items():
      image = np.asarray(image)
      if image.dtype != np.uint8:
        image = quantization.to_uint8(image * 255.0)
      if image.ndim == 3:
        image = image[None]
      self._writer.add_images(name, image, global_step=int(step), dataformats='NHWC')

  def write_text(self, step: int, name: str, text: str) -> None:
    """Markdown `text` under `name` (TensorBoard's Text tab) at `step`."""
    if self._writer is not None:
      self._writer.add_text(name, text, global_step=int(step))

  def flush(self) -> None:
    """Writes buffered events to disk."""
    if self._writer is not None:
      self._writer.flush()

  def close(self) -> None:
    """Flushes and closes the event file."""
    if self._writer is not None:
      self._writer.close()
      self._writer = None
