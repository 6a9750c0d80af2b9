"""Progress log lines: step, loss, steps/s and ETA."""

import time
from typing import Callable, Optional


def format_duration(seconds: float) -> str:
  """'1h02m03s' style duration."""
  seconds = max(0, int(round(seconds)))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  return f'{hours}h{minutes:02d}m{secs:02d}s' if hours else f'{minutes}m{secs:02d}s'


class Progress:
  """Measures steps/s between calls and estimates the time to `total_steps`."""

  def __init__(self, total_steps: int, start_step: int,
               clock: Callable[[], float] = time.perf_counter):
    self.total_steps = int(total_steps)
    self._clock = clock
    self._last_step = int(start_step)
    self._last_time = clock()

  def update(self, step: int) -> float:
    """Steps per second since the previous update (0.0 if no step was taken)."""
    now = self._clock()
    steps = int(step) - self._last_step
    elapsed = now - self._last_time
    self._last_step, self._last_time = int(step), now
    return steps / elapsed if steps > 0 and elapsed > 0 else 0.0

  def line(self, step: int, loss: float, steps_per_sec: float,
           extra: Optional[str] = None) -> str:
    """'step 100/450000 loss 0.01234 3.21 steps/s ETA 1h02m03s' (+ extra)."""
    remaining = self.total_steps - int(step)
    eta = format_duration(remaining / steps_per_sec) if steps_per_sec > 0 else '?'
    text = (f'step {int(step)}/{self.total_steps} loss {loss:.5g} '
            f'{steps_per_sec:.3g} steps/s ETA {eta}')
    return f'{text} {extra}' if extra else text
