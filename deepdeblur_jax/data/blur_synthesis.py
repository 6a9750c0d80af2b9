"""The paper's blur synthesis: average consecutive sharp frames, as Nah et al. made GOPRO_Large.

For a window of M sharp frames S_1..S_M (uint8, scaled to [0, 1]):

  blur       = mean_i S_i                       (linear camera response)
  blur_gamma = g(mean_i g^-1(S_i)),  g^-1(x) = x**gamma,  g(x) = x**(1/gamma)
  sharp      = S_{M//2}                          (the middle frame)

each rounded half up to uint8. `synthesize_tree` and `synthesize_inputs` write the GOPRO_Large
layout `OUT/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png` from folders of frames or from video files
(decoded one frame at a time: only the current window is in memory).
"""

import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from deepdeblur_jax.io import photos, video

PathLike = Union[str, os.PathLike]
Window = Union[int, tuple[int, int]]

KEYS = ('blur', 'blur_gamma', 'sharp')


def _gamma_lut(gamma: float) -> np.ndarray:
  """g^-1 for every uint8 value, float64."""
  return (np.arange(256, dtype=np.float64) / 255.0) ** gamma


def synthesize_pair(frames: Sequence[np.ndarray], gamma: float = 2.2) -> dict[str, np.ndarray]:
  """Averages a window of HxWx3 uint8 frames into {'blur', 'blur_gamma', 'sharp'} uint8."""
  if len(frames) == 0:
    raise ValueError('synthesize_pair needs at least one frame')
  if gamma <= 0:
    raise ValueError(f'gamma must be positive, got {gamma}')
  shape = frames[0].shape
  for i, f in enumerate(frames):
    if f.dtype != np.uint8:
      raise ValueError(f'frame {i}: expected uint8, got {f.dtype}')
    if f.shape != shape:
      raise ValueError(f'frame {i} has shape {f.shape}, frame 0 has {shape}')
  lut = _gamma_lut(gamma)
  total = np.zeros(shape, np.float64)
  total_lin = np.zeros(shape, np.float64)
  for f in frames:
    total += f
    total_lin += lut[f]
  m = float(len(frames))
  return {
      'blur': photos.round_to_uint8(total / m),
      'blur_gamma': photos.round_to_uint8(255.0 * (total_lin / m) ** (1.0 / gamma)),
      'sharp': np.array(frames[len(frames) // 2], copy=True),
  }


def parse_window(spec: Union[str, int, Sequence[int]]) -> tuple[int, int]:
  """Parses '7', 7, '7-13' or (7, 13) into an inclusive (low, high) window range."""
  if isinstance(spec, str):
    parts = spec.split('-')
    try:
      values = [int(p) for p in parts]
    except ValueError:
      raise ValueError(f'window must be N or LOW-HIGH, got {spec!r}') from None
  elif isinstance(spec, (int, np.integer)):
    values = [int(spec)]
  else:
    values = [int(v) for v in spec]
  if len(values) == 1:
    values = values * 2
  if len(values) != 2 or values[0] < 1 or values[0] > values[1]:
    raise ValueError(f'window must be N or LOW-HIGH with 1 <= LOW <= HIGH, got {spec!r}')
  return values[0], values[1]


def list_frames(folder: PathLike) -> list[pathlib.Path]:
  """The image files directly inside `folder`, sorted by name."""
  folder = pathlib.Path(folder)
  return sorted(p for p in folder.iterdir() if p.is_file() and photos.is_image_file(p))


def list_videos(folder: PathLike) -> list[pathlib.Path]:
  """The video files directly inside `folder`, sorted by name."""
  folder = pathlib.Path(folder)
  return sorted(p for p in folder.iterdir() if p.is_file() and video.is_video_file(p))


def find_sequences(frames_dir: PathLike) -> list[tuple[str, pathlib.Path]]:
  """(name, folder or video file) of each sequence under `frames_dir`.

  `frames_dir` itself is one sequence if it holds frames (named after it); otherwise every folder
  below it that holds frames is one (named by its path relative to `frames_dir`). Every video
  file in the tree is a sequence named by its relative path without the extension.
  """
  frames_dir = pathlib.Path(frames_dir)
  if not frames_dir.is_dir():
    raise FileNotFoundError(f'frames folder not found: {frames_dir}')
  seqs = []
  for dirpath, dirnames, _ in os.walk(frames_dir):
    dirnames.sort()
    folder = pathlib.Path(dirpath)
    if list_frames(folder):
      name = (frames_dir.resolve().name if folder == frames_dir
              else folder.relative_to(frames_dir).as_posix())
      seqs.append((name, folder))
      if folder == frames_dir:
        dirnames.clear()  # a folder of frames is one sequence, as before videos were read
    seqs.extend((v.relative_to(frames_dir).with_suffix('').as_posix(), v)
                for v in list_videos(folder))
  if not seqs:
    raise ValueError(f'no image frames or videos found in {frames_dir} or its subfolders')
  return seqs


def plan_windows(num_frames: int, window: Window, stride: Optional[int],
                 rng: np.random.Generator) -> list[tuple[int, int]]:
  """(start, size) of each window over `num_frames` frames.

  A window range draws a size per pair from `rng`; `stride` None means each window
  starts where the previous one ended (non-overlapping).
  """
  return list(_windows(lambda needed: needed <= num_frames, window, stride, rng))


def _windows(available: Callable[[int], bool], window: Window, stride: Optional[int],
             rng: np.random.Generator) -> Iterator[tuple[int, int]]:
  """(start, size) of each window while `available(start + size)` says that many frames exist;
  the draws from `rng` are those of `plan_windows`."""
  low, high = parse_window(window)
  if stride is not None and stride < 1:
    raise ValueError(f'stride must be >= 1, got {stride}')
  start = 0
  while True:
    size = int(rng.integers(low, high + 1))
    if not available(start + size):
      return
    yield start, size
    start += stride if stride is not None else size


def write_pair(seq_dir: PathLike, index: int, pair: dict[str, np.ndarray]) -> None:
  """Writes one pair as `seq_dir/{blur,blur_gamma,sharp}/NNNNNN.png`."""
  for key in KEYS:
    photos.write_png(pathlib.Path(seq_dir) / key / f'{index:06d}.png', pair[key])


def _synthesize_stream(frames: Iterable[tuple[Any, np.ndarray]], seq_out: pathlib.Path,
                       window: Window, stride: Optional[int], gamma: float,
                       rng: np.random.Generator, record: dict[str, Any], where: str) -> int:
  """Windows over a stream of (label, HxWx3 uint8) frames into `seq_out`, keeping only the
  frames of the current window in memory; built in a temporary folder, renamed when complete."""
  low, _ = parse_window(window)
  if seq_out.exists():
    raise FileExistsError(f'output sequence folder already exists: {seq_out}')
  seq_out.parent.mkdir(parents=True, exist_ok=True)
  tmp = pathlib.Path(tempfile.mkdtemp(prefix=f'.{seq_out.name}.', suffix='.tmp',
                                      dir=seq_out.parent))
  source = iter(frames)
  kept: dict[int, tuple[Any, np.ndarray]] = {}
  state = {'read': 0, 'start': 0}

  def available(needed: int) -> bool:
    while state['read'] < needed:
      item = next(source, None)
      if item is None:
        return False
      if state['read'] >= state['start']:
        kept[state['read']] = item
      state['read'] += 1
    return True

  try:
    pairs = []
    for index, (start, size) in enumerate(_windows(available, window, stride, rng)):
      state['start'] = start
      for k in [k for k in kept if k < start]:
        del kept[k]
      labels, window_frames = zip(*(kept[k] for k in range(start, start + size)))
      write_pair(tmp, index, synthesize_pair(window_frames, gamma))
      pairs.append({'name': f'{index:06d}.png', 'window': size, 'frames': list(labels)})
      state['start'] = start + (stride if stride is not None else size)
    if not pairs and state['read'] < low:
      raise ValueError(f'{where}: {state["read"]} frames, fewer than the window {low}')
    with open(tmp / 'synthesis.json', 'w') as f:
      json.dump({**record, 'gamma': gamma, 'window': list(parse_window(window)),
                 'stride': stride, 'pairs': pairs}, f, indent=1)
    os.chmod(tmp, 0o755)
    os.replace(tmp, seq_out)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return len(pairs)


def synthesize_sequence(frame_paths: Sequence[PathLike], seq_out: PathLike, window: Window = 7,
                        stride: Optional[int] = None, gamma: float = 2.2,
                        rng: Optional[np.random.Generator] = None) -> int:
  """Synthesises the pairs of one sequence of sharp frame files into `seq_out`.

  The output is built in a temporary folder next to `seq_out` and renamed when
  complete. Returns the number of pairs. Raises ValueError naming the file for
  unreadable frames or frames of a different size, and for too few frames.
  """
  seq_out = pathlib.Path(seq_out)
  paths = [pathlib.Path(p) for p in frame_paths]
  low, _ = parse_window(window)
  where = paths[0].parent if paths else seq_out
  if len(paths) < low:
    raise ValueError(f'{where}: {len(paths)} frames, fewer than the window {low}')
  size0 = photos.image_size(paths[0])
  for p in paths[1:]:
    size = photos.image_size(p)
    if size != size0:
      raise ValueError(f'frame {p} is {size[0]}x{size[1]} but {paths[0]} is '
                       f'{size0[0]}x{size0[1]}; all frames of a sequence must have one size')
  frames = ((p.name, photos.read_rgb_uint8(p)) for p in paths)
  return _synthesize_stream(frames, seq_out, window, stride, gamma,
                            rng if rng is not None else np.random.default_rng(0), {}, str(where))


# GOPRO: 240 fps, windows of 7-13 frames, i.e. exposures of about 29-54 ms.
GOPRO_FPS = 240
GOPRO_MAX_EXPOSURE_S = 13 / 240
# Below this rate consecutive frames are over 8 ms apart and their average shows separate copies
# of a moving edge rather than a smooth streak.
MIN_SMOOTH_FPS = 120


def frame_rate_warning(fps: float, window: Window) -> Optional[str]:
  """A warning when `fps` is too low for `window` (ghosted copies or a longer exposure than
  GOPRO's); None when the clip suits it."""
  low, high = parse_window(window)
  span = f'{low}' if low == high else f'{low}-{high}'
  exposure = f'{1000 * low / fps:.0f}' + ('' if low == high else f'-{1000 * high / fps:.0f}')
  if fps < MIN_SMOOTH_FPS or high / fps > 1.5 * GOPRO_MAX_EXPOSURE_S:
    return (f'{fps:.2f} fps is low for a window of {span} frames: {exposure} ms of exposure '
            f'from frames {1000 / fps:.1f} ms apart (GOPRO: {GOPRO_FPS} fps, 7-13 frames, '
            f'29-54 ms); the blur will show separate copies or be longer than GOPRO\'s. Use a '
            f'clip of >= {MIN_SMOOTH_FPS} fps (phone slow motion) or a smaller --window.')
  return None


def synthesize_video(path: PathLike, seq_out: PathLike, window: Window = 7,
                     stride: Optional[int] = None, gamma: float = 2.2,
                     rng: Optional[np.random.Generator] = None,
                     start: Union[int, float, None] = None,
                     end: Union[int, float, None] = None) -> int:
  """Synthesises the pairs of one video's frames (decoded one at a time, rotation applied) into
  `seq_out`, exactly as `synthesize_sequence` does for the same frames as PNGs. `start`/`end`:
  frame indices (int) or seconds (float), end excluded. Returns the number of pairs; raises
  VideoError naming the file when it cannot be decoded."""
  frames = ((f.index, f.rgb) for f in video.read_frames(path, start, end))
  return _synthesize_stream(frames, pathlib.Path(seq_out), window, stride, gamma,
                            rng if rng is not None else np.random.default_rng(0),
                            {'source': str(path), 'start': start, 'end': end}, str(path))


def parse_position(text: Optional[str]) -> Union[int, float, None]:
  """'120' -> frame 120; '2.5s' or '2.5' -> 2.5 seconds; None -> None."""
  if text is None:
    return None
  try:
    value: Union[int, float] = (float(text[:-1]) if text.endswith('s')
                                else int(text) if text.isdigit() else float(text))
  except ValueError:
    raise ValueError(f'start/end must be a frame index (120) or seconds (2.5s), got {text!r}'
                     ) from None
  if value < 0:
    raise ValueError(f'start/end must be >= 0, got {text!r}')
  return value


@dataclasses.dataclass
class SynthesisReport:
  """Pairs written per sequence and (input, error message) for each input that failed."""
  counts: dict[str, int]
  failed: list[tuple[str, str]]


def synthesize_inputs(sources: Sequence[tuple[str, pathlib.Path]], out_dir: PathLike,
                      window: Window = 7, stride: Optional[int] = None, gamma: float = 2.2,
                      seed: int = 0, start: Union[int, float, None] = None,
                      end: Union[int, float, None] = None,
                      log: Callable[[str], None] = lambda s: None) -> SynthesisReport:
  """Synthesises each (name, frames folder or video) into `out_dir/<name>`; an input that fails
  is logged and listed, and the others are still processed. Sequence i draws window sizes from
  a generator seeded by (seed, i). `start`/`end` as in `synthesize_video` (frame indices only
  for frame folders)."""
  names = [name for name, _ in sources]
  twice = sorted({n for n in names if names.count(n) > 1})
  if twice:
    raise ValueError(f'two inputs would both write the sequence {", ".join(twice)}; rename one')
  out_dir = pathlib.Path(out_dir)
  report = SynthesisReport({}, [])
  for i, (name, source) in enumerate(sources):
    rng = np.random.default_rng([seed, i])
    try:
      if source.is_dir():
        if isinstance(start, float) or isinstance(end, float):
          raise ValueError(f'{source}: a folder of frames has no timestamps; give --start/--end '
                           'as frame indices')
        paths = list_frames(source)[start:end]
        report.counts[name] = synthesize_sequence(paths, out_dir / name, window, stride, gamma,
                                                  rng)
      else:
        info = video.probe(source)
        log(f'{source}: {info.width}x{info.height}, {float(info.fps):.2f} fps'
            + (f', {info.frame_count} frames' if info.frame_count else '')
            + (f', rotated {info.rotation} degrees' if info.rotation else ''))
        warning = frame_rate_warning(float(info.fps), window)
        if warning:
          log(f'warning: {source}: {warning}')
        report.counts[name] = synthesize_video(source, out_dir / name, window, stride, gamma,
                                               rng, start, end)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
      report.failed.append((str(source), str(e)))
      log(f'error: {e}')
  return report


def synthesize_tree(frames_dir: PathLike, out_dir: PathLike, window: Window = 7,
                    stride: Optional[int] = None, gamma: float = 2.2,
                    seed: int = 0) -> dict[str, int]:
  """Synthesises every sequence (frame folder or video) under `frames_dir` into GOPRO_Large
  layout, stopping at the first error.

  Writes `out_dir/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png`; returns pairs per
  sequence. Sequence i draws window sizes from a generator seeded by (seed, i).
  """
  out_dir = pathlib.Path(out_dir)
  counts = {}
  for i, (name, source) in enumerate(find_sequences(frames_dir)):
    rng = np.random.default_rng([seed, i])
    if source.is_dir():
      counts[name] = synthesize_sequence(list_frames(source), out_dir / name, window, stride,
                                         gamma, rng)
    else:
      counts[name] = synthesize_video(source, out_dir / name, window, stride, gamma, rng)
  return counts
