"""TensorBoard scalars, images and text through tensorboardX (no TensorFlow needed), process 0 only."""

from typing import Any, Mapping, Optional

import jax
import numpy as np

from deepdeblur_jax import quantization


class MetricsWriter:
  """Writes scalars and NHWC images to `logdir` on process 0; a no-op on other processes."""

  def __init__(self, logdir: str, process_index: Optional[int] = None):
    process_index = jax.process_index() if process_index is None else process_index
    self._writer = None
    if process_index == 0:
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._writer = SummaryWriter(logdir)

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
