"""SIGTERM / Ctrl-C handling: a flag the train loop checks each step, so it can save and exit."""

import signal
import threading
from typing import Any, Optional

import jax
import numpy as np
from jax.experimental import multihost_utils

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignal:
  """Context manager that records SIGINT/SIGTERM instead of dying; a second SIGINT aborts."""

  def __init__(self):
    self.signum: Optional[int] = None
    self._previous: dict = {}

  def _handle(self, signum: int, frame: Any) -> None:
    del frame
    if self.signum == signal.SIGINT and signum == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C stops at once
    self.signum = signum

  def __enter__(self) -> 'StopSignal':
    if threading.current_thread() is threading.main_thread():
      for sig in _SIGNALS:
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def __exit__(self, *exc: Any) -> None:
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)
    self._previous.clear()

  def requested(self) -> bool:
    """True once any process got a signal (all processes agree, so they can save together)."""
    local = self.signum is not None
    if jax.process_count() == 1:
      return local
    flags = multihost_utils.process_allgather(np.array([int(local)], np.int32))
    return bool(np.asarray(flags).any())
