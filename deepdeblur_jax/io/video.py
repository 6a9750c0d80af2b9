"""Video files with PyAV (FFmpeg bundled in its wheel): streaming RGB decoding and encoding.

`read_frames` decodes one frame at a time (only the frames a caller keeps stay in memory) as
HxWx3 uint8 in display orientation: the rotation of a phone clip's display matrix is applied to
the pixels (flips are not). `VideoWriter` encodes RGB frames (H.264 in BT.709 by default, FFV1 or
libx264rgb at qp 0 losslessly) at the source's frame rate and timestamps, and can copy the audio
stream of another file without re-encoding it.
"""

import dataclasses
import fractions
import os
import pathlib
from typing import Any, Iterator, Optional, Union

import av
import numpy as np

PathLike = Union[str, os.PathLike]

VIDEO_EXTENSIONS = ('.mp4', '.mov', '.m4v', '.mkv', '.avi', '.webm', '.mts', '.m2ts', '.3gp',
                    '.mpg', '.mpeg', '.wmv', '.flv')
# Codecs --video-codec accepts: H.264 (lossy, plays everywhere) and two lossless ones.
VIDEO_CODECS = ('h264', 'ffv1', 'h264rgb')
LOSSLESS_CODECS = ('ffv1', 'h264rgb')


class VideoError(ValueError):
  """A video cannot be read or written; the message names the file."""


def is_video_file(path: PathLike) -> bool:
  """Whether `path` has a video file extension."""
  return str(path).lower().endswith(VIDEO_EXTENSIONS)


@dataclasses.dataclass
class VideoInfo:
  """What a video holds. height/width are in display orientation (after `rotation`); fps is the
  average frame rate; frame_count is the container's count (0 when it does not say)."""
  path: pathlib.Path
  height: int
  width: int
  fps: fractions.Fraction
  frame_count: int
  rotation: int
  has_audio: bool
  duration_s: Optional[float]


def _open(path: PathLike) -> Any:
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f'video file not found: {path}')
  try:
    container = av.open(str(path))
  except (av.error.FFmpegError, UnicodeDecodeError) as e:
    raise VideoError(f'{path}: cannot read video ({e})') from e
  if not container.streams.video:
    container.close()
    raise VideoError(f'{path}: has no video stream')
  return container


def _rotate(rgb: np.ndarray, degrees: int) -> np.ndarray:
  """The frame turned counterclockwise by `degrees` (a multiple of 90), as a display shows it."""
  quarter = int(round(degrees / 90.0)) % 4
  return np.ascontiguousarray(np.rot90(rgb, quarter)) if quarter else rgb


def probe(path: PathLike) -> VideoInfo:
  """Reads a video's header and its first frame (for the rotation); raises VideoError naming
  `path` when it cannot be decoded."""
  container = _open(path)
  try:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    if not rate:
      raise VideoError(f'{path}: the video stream has no frame rate')
    try:
      first = next(container.decode(stream), None)
    except av.error.FFmpegError as e:
      raise VideoError(f'{path}: cannot decode video ({e})') from e
    if first is None:
      raise VideoError(f'{path}: the video stream has no frames')
    rotation = int(first.rotation or 0)
    h, w = first.height, first.width
    if int(round(rotation / 90.0)) % 2:
      h, w = w, h
    duration = (float(container.duration) / av.time_base
                if container.duration is not None else None)
    return VideoInfo(pathlib.Path(path), h, w, fractions.Fraction(rate), int(stream.frames or 0),
                     rotation, bool(container.streams.audio), duration)
  finally:
    container.close()


@dataclasses.dataclass
class Frame:
  """One decoded frame: its index in the stream, its time in seconds (None when the container
  gives no timestamp), and the pixels (HxWx3 uint8, display orientation)."""
  index: int
  time: Optional[float]
  rgb: np.ndarray


def read_frames(path: PathLike, start: Union[int, float, None] = None,
                end: Union[int, float, None] = None) -> Iterator[Frame]:
  """Decodes `path` frame by frame; yields the frames with start <= index < end (ints) or
  start <= time < end (floats, seconds); None leaves that side open. Raises VideoError naming
  the file (and the frame) when decoding fails."""
  container = _open(path)
  try:
    stream = container.streams.video[0]
    stream.thread_type = 'AUTO'
    index = -1
    frames = container.decode(stream)
    while True:
      try:
        frame = next(frames, None)
      except av.error.FFmpegError as e:
        raise VideoError(f'{path}: cannot decode video after frame {index} ({e})') from e
      if frame is None:
        return
      index += 1
      t = frame.time
      at_start, at_end = (None if bound is None else index if isinstance(bound, int) else t
                          for bound in (start, end))
      if (start is not None and at_start is None) or (end is not None and at_end is None):
        raise VideoError(f'{path}: frame {index} has no timestamp; give --start/--end as '
                         'frame indices')
      if end is not None and at_end >= end:
        return
      if start is not None and at_start < start:
        continue
      yield Frame(index, t, _rotate(frame.to_ndarray(format='rgb24'), int(frame.rotation or 0)))
  finally:
    container.close()


class VideoWriter:
  """Encodes HxWx3 uint8 frames into `path` (a context manager).

  `codec`: 'h264' (libx264, CRF `crf`, yuv420p, or yuv444p for an odd width or height),
  'h264rgb' (libx264rgb at qp 0: lossless RGB) or 'ffv1' (lossless; .mkv or .avi, also .mp4 for FFmpeg).
  Frames get the timestamps passed to `write` (seconds), so a variable frame rate survives.
  `audio_from`: a file whose first audio stream is copied packet by packet, interleaved by time.
  """

  def __init__(self, path: PathLike, height: int, width: int, fps: fractions.Fraction,
               codec: str = 'h264', crf: int = 18, audio_from: Optional[PathLike] = None):
    if codec not in VIDEO_CODECS:
      raise ValueError(f'video codec must be one of {", ".join(VIDEO_CODECS)}, got {codec!r}')
    self.path = pathlib.Path(path)
    # Written under a temporary name with the same extension (it picks the container) and renamed
    # by close(), so a reader never sees a half-written video.
    self.path.parent.mkdir(parents=True, exist_ok=True)
    self._tmp = self.path.with_name(f'.{self.path.stem}.{os.getpid()}.partial{self.path.suffix}')
    self._out = self._audio_in = None
    self._time_base = fractions.Fraction(1, 90000)  # the MPEG clock: exact for 24-240 fps
    try:
      self._out = av.open(str(self._tmp), mode='w')
    except (av.error.FFmpegError, ValueError) as e:
      self._tmp.unlink(missing_ok=True)
      raise VideoError(f'{self.path}: cannot write video ({e})') from e
    try:
      name, pix_fmt, options = {
          'h264': ('libx264', 'yuv420p' if height % 2 == 0 and width % 2 == 0 else 'yuv444p',
                   {'crf': str(crf)}),
          'h264rgb': ('libx264rgb', 'rgb24', {'qp': '0'}),
          'ffv1': ('ffv1', 'bgr0', {}),
      }[codec]
      stream = self._out.add_stream(name, rate=fractions.Fraction(fps), options=options)
      stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
      stream.time_base = self._time_base
      stream.codec_context.time_base = self._time_base
      self._yuv = pix_fmt.startswith('yuv')
      if self._yuv:  # BT.709, limited range, converted and tagged (players assume it for HD)
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709
        context.color_range = 1  # MPEG (limited)
      self._stream = stream
      self._audio_packets = self._audio_stream = None
      self._pending_audio = None
      if audio_from is not None:
        self._audio_in = av.open(str(audio_from))
        if self._audio_in.streams.audio:
          source = self._audio_in.streams.audio[0]
          self._audio_stream = self._out.add_stream_from_template(source)
          self._audio_packets = self._audio_in.demux(source)
    except (av.error.FFmpegError, ValueError) as e:
      self.abort()
      raise VideoError(f'{self.path}: cannot write {codec} video ({e})') from e
    self._last_pts = -1

  def _mux_audio_until(self, t: Optional[float]) -> None:
    """Muxes copied audio packets that start before `t` seconds (all of them when None)."""
    if self._audio_packets is None:
      return
    while True:
      packet = self._pending_audio or next(self._audio_packets, None)
      self._pending_audio = None
      if packet is None:
        self._audio_packets = None
        return
      if packet.dts is None:  # the demuxer's final empty packet
        continue
      if t is not None and packet.pts is not None and float(packet.pts * packet.time_base) > t:
        self._pending_audio = packet
        return
      packet.stream = self._audio_stream
      self._out.mux(packet)

  def write(self, rgb: np.ndarray, time_s: float) -> None:
    """Encodes one HxWx3 uint8 frame shown at `time_s` seconds from the start."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, np.uint8), format='rgb24')
    if self._yuv:
      frame = frame.reformat(format=self._stream.pix_fmt, dst_colorspace='ITU709',
                             dst_color_range='MPEG')
    pts = max(int(round(time_s / self._time_base)), self._last_pts + 1)
    self._last_pts = pts
    frame.pts, frame.time_base = pts, self._time_base
    try:
      self._mux_audio_until(time_s)
      self._out.mux(self._stream.encode(frame))
    except (av.error.FFmpegError, ValueError) as e:
      raise VideoError(f'{self.path}: cannot encode frame at {time_s:.3f} s ({e})') from e

  def abort(self) -> None:
    """Closes the files without finishing the video and deletes it."""
    self._close_all()
    self._tmp.unlink(missing_ok=True)

  def _close_all(self) -> None:
    for container in (self._out, self._audio_in):
      if container is not None:
        container.close()
    self._out = self._audio_in = None

  def close(self) -> None:
    """Flushes the encoder and the rest of the audio, and closes the file."""
    try:
      self._out.mux(self._stream.encode(None))
      self._mux_audio_until(None)
      self._close_all()
    except av.error.FFmpegError as e:
      self.abort()
      raise VideoError(f'{self.path}: cannot finish the video ({e})') from e
    os.replace(self._tmp, self.path)

  def __enter__(self) -> 'VideoWriter':
    return self

  def __exit__(self, *exc: Any) -> None:
    if exc[0] is None:
      self.close()
    else:
      self.abort()
