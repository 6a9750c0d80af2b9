"""Deblurring video files (the video half of tools/deblur.py).

A thread decodes frames (PyAV) into a short queue while the device deblurs the previous batch;
JAX's asynchronous dispatch lets the next batch start before the last one is encoded. Each frame
goes through the same arithmetic as a photo (uint8 / 255 * rgb_range, the model, / rgb_range,
clip, round half up), so with a lossless codec a frame of the output equals the deblurred PNG of
the same frame.
"""

import pathlib
import queue
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from deepdeblur_jax.inference.deblur import make_deblur_fn
from deepdeblur_jax.inference.tiling import auto_tile, deblur_array
from deepdeblur_jax.io import video
from deepdeblur_jax.io.photos import Photo, side_by_side, to_array
from deepdeblur_jax.models.generator import MultiScaleGenerator

_DONE = object()
_RGB8 = Photo(rgb=np.zeros((0, 0, 3), np.float32), alpha=None, channels=3, bit_depth=8)


def video_output_name(rel: pathlib.Path, codec: str = 'h264') -> pathlib.Path:
  """Where the deblurred video of input `rel` goes: the same name, but Matroska (.mkv) where the
  input's container cannot hold the codec (WebM; FFV1 outside .mkv and .avi)."""
  suffix = rel.suffix.lower()
  if suffix == '.webm' or (codec == 'ffv1' and suffix not in ('.mkv', '.avi')):
    return rel.with_suffix('.mkv')
  return rel


def _prefetch(frames: Iterator[video.Frame], depth: int) -> Iterator[video.Frame]:
  """`frames` decoded in a background thread, at most `depth` ahead; its errors re-raised here."""
  q: 'queue.Queue[Any]' = queue.Queue(maxsize=depth)
  stop = threading.Event()

  def work() -> None:
    try:
      for frame in frames:
        while not stop.is_set():
          try:
            q.put(frame, timeout=0.1)
            break
          except queue.Full:
            continue
        if stop.is_set():
          return
      q.put(_DONE)
    except BaseException as e:  # pylint: disable=broad-except
      q.put(e)

  thread = threading.Thread(target=work, daemon=True, name='video-decode')
  thread.start()
  try:
    while True:
      item = q.get()
      if item is _DONE:
        return
      if isinstance(item, BaseException):
        raise item
      yield item
  finally:
    stop.set()
    thread.join(timeout=5)


def frames_per_batch(height: int, width: int, model: MultiScaleGenerator, batch: int,
                     budget_bytes: Optional[int] = None) -> int:
  """How many whole frames go through the model at once: `batch`, fewer when they would not fit
  the memory budget together, and 0 when even one frame needs tiles."""
  for n in range(batch, 0, -1):
    if auto_tile(height * n, width, model, budget_bytes) is None:
      return n
  return 0


class Progress:
  """A progress line (frames, frames/s, ETA) at most every `every_s` seconds."""

  def __init__(self, name: str, total: int, log: Callable[[str], None], every_s: float = 2.0):
    self.name, self.total, self.log, self.every_s = name, total, log, every_s
    self.start = self.last = time.perf_counter()
    self.done = self.shown = 0

  def rate(self) -> float:
    """Frames per second since the start."""
    return self.done / max(time.perf_counter() - self.start, 1e-9)

  def add(self, n: int, final: bool = False) -> None:
    """Counts `n` more frames; logs when `every_s` has passed (always when `final`, unless the
    last line already said it)."""
    self.done += n
    now = time.perf_counter()
    if (not final and now - self.last < self.every_s) or (final and self.done == self.shown):
      return
    self.last, self.shown = now, self.done
    rate = self.rate()
    of = f'/{self.total}' if self.total else ''
    eta = (f', ETA {max(self.total - self.done, 0) / rate:.0f} s'
           if self.total and rate > 0 and self.done < self.total else '')
    self.log(f'  {self.name}: {self.done}{of} frames, {rate:.3g} frames/s{eta}')


def deblur_video_file(params: Any, model: MultiScaleGenerator, source: pathlib.Path,
                      target: pathlib.Path, tile: Optional[Sequence[int]] = None,
                      overlap: int = 96, batch: int = 4, codec: str = 'h264',
                      compare: Optional[pathlib.Path] = None,
                      log: Callable[[str], None] = lambda s: None,
                      on_frames: Optional[Callable[[int, int], None]] = None) -> int:
  """Deblurs every frame of `source` into the video `target` (same frame rate, timestamps, size
  and frame count, audio copied) and, when given, a blurry | deblurred video `compare`.

  `batch` whole frames go through the model at once (fewer if they do not fit the memory
  budget); `tile` as for photos ((0, 0) never tiles; given, frames are tiled one at a time).
  `on_frames(done, total)` is called after every written batch (total 0 when unknown).
  Returns the number of frames; raises VideoError naming the file for a bad input.
  """
  info = video.probe(source)
  scale = float(model.rgb_range)
  untiled = tile is not None and tuple(tile) == (0, 0)
  per_batch = (max(batch, 1) if untiled else 0 if tile is not None
               else frames_per_batch(info.height, info.width, model, max(batch, 1)))
  fn = make_deblur_fn(model)
  # Matroska stores no frame count: estimate it from the duration for the ETA.
  total = info.frame_count or (round(info.duration_s * float(info.fps)) if info.duration_s else 0)
  count = (f'{info.frame_count}' if info.frame_count else f'~{total}' if total else '?')
  log(f'  {source}: {info.width}x{info.height}, {float(info.fps):.2f} fps, {count} frames, '
      + (f'{per_batch} frame(s) per batch' if per_batch else 'tiled frames')
      + (f', rotated {info.rotation} degrees' if info.rotation else '')
      + (', audio copied' if info.has_audio else ''))
  progress = Progress(source.name, total, log)

  def seconds(frame: video.Frame) -> float:
    return frame.time if frame.time is not None else frame.index / float(info.fps)

  writers = [video.VideoWriter(target, info.height, info.width, info.fps, codec,
                               audio_from=source if info.has_audio else None)]
  try:
    if compare is not None:
      writers.append(video.VideoWriter(compare, info.height, 2 * info.width + 8, info.fps,
                                       codec))

    def emit(frames: List[video.Frame], results: Any) -> None:
      for frame, result in zip(frames, np.asarray(results)):
        output = to_array(result / scale, _RGB8)  # as a photo: clip, round half up
        writers[0].write(output, seconds(frame))
        if compare is not None:
          writers[1].write(side_by_side(frame.rgb, output), seconds(frame))
      progress.add(len(frames))
      if on_frames is not None:
        on_frames(progress.done, total)

    pending: Optional[Tuple[List[video.Frame], Any]] = None
    chunk: List[video.Frame] = []
    decoded = _prefetch(video.read_frames(source), depth=2 * max(per_batch, 1) + 2)
    for frame in decoded:
      if not per_batch:
        x = np.asarray(frame.rgb, np.float32) / np.float32(255.0) * np.float32(scale)
        emit([frame], deblur_array(params, model, x, tile, overlap, max(batch, 1))[None])
        continue
      chunk.append(frame)
      if len(chunk) < per_batch:
        continue
      out = fn(params, _stack(chunk, per_batch, scale))  # dispatched; runs while we encode
      if pending is not None:
        emit(*pending)
      pending, chunk = (chunk, out), []
    if chunk:
      out = fn(params, _stack(chunk, per_batch, scale))
      if pending is not None:
        emit(*pending)
      pending = (chunk, out)
    if pending is not None:
      emit(*pending)
    for w in writers:
      w.close()
  except BaseException:
    for w in writers:
      w.abort()
    raise
  progress.add(0, final=True)
  return progress.done


def _stack(frames: List[video.Frame], size: int, scale: float) -> np.ndarray:
  """NHWC float32 batch of `size` frames in [0, scale] (the last repeated to keep one compiled
  shape)."""
  x = np.stack([f.rgb for f in frames]).astype(np.float32) / np.float32(255.0) * np.float32(scale)
  if len(frames) < size:
    x = np.concatenate([x, np.repeat(x[-1:], size - len(frames), axis=0)])
  return x
