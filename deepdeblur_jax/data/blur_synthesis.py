"""The paper's blur synthesis: average consecutive sharp frames (reference section 5).

For a window of M sharp frames S_1..S_M (uint8, scaled to [0, 1]):

  blur       = mean_i S_i                       (linear camera response)
  blur_gamma = g(mean_i g^-1(S_i)),  g^-1(x) = x**gamma,  g(x) = x**(1/gamma)
  sharp      = S_{M//2}                          (the middle frame)

each rounded half up to uint8. `synthesize_tree` writes the GOPRO_Large layout
`OUT/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png`.
"""

import json
import os
import pathlib
import shutil
import tempfile
from typing import Optional, Sequence, Union

import numpy as np

from deepdeblur_jax.io import photos

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


def find_sequences(frames_dir: PathLike) -> list[tuple[str, pathlib.Path]]:
  """(name, folder) of each sequence: `frames_dir` itself if it holds frames, else
  every folder below it that holds frames (name = its path relative to `frames_dir`)."""
  frames_dir = pathlib.Path(frames_dir)
  if not frames_dir.is_dir():
    raise FileNotFoundError(f'frames folder not found: {frames_dir}')
  if list_frames(frames_dir):
    return [(frames_dir.resolve().name, frames_dir)]
  seqs = []
  for dirpath, dirnames, _ in os.walk(frames_dir):
    dirnames.sort()
    folder = pathlib.Path(dirpath)
    if folder != frames_dir and list_frames(folder):
      seqs.append((folder.relative_to(frames_dir).as_posix(), folder))
  if not seqs:
    raise ValueError(f'no image frames found in {frames_dir} or its subfolders')
  return seqs


def plan_windows(num_frames: int, window: Window, stride: Optional[int],
                 rng: np.random.Generator) -> list[tuple[int, int]]:
  """(start, size) of each window over `num_frames` frames.

  A window range draws a size per pair from `rng`; `stride` None means each window
  starts where the previous one ended (non-overlapping).
  """
  low, high = parse_window(window)
  if stride is not None and stride < 1:
    raise ValueError(f'stride must be >= 1, got {stride}')
  windows = []
  start = 0
  while True:
    size = int(rng.integers(low, high + 1))
    if start + size > num_frames:
      break
    windows.append((start, size))
    start += stride if stride is not None else size
  return windows


def write_pair(seq_dir: PathLike, index: int, pair: dict[str, np.ndarray]) -> None:
  """Writes one pair as `seq_dir/{blur,blur_gamma,sharp}/NNNNNN.png`."""
  for key in KEYS:
    photos.write_png(pathlib.Path(seq_dir) / key / f'{index:06d}.png', pair[key])


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
  if len(paths) < low:
    where = paths[0].parent if paths else seq_out
    raise ValueError(f'{where}: {len(paths)} frames, fewer than the window {low}')
  size0 = photos.image_size(paths[0])
  for p in paths[1:]:
    size = photos.image_size(p)
    if size != size0:
      raise ValueError(f'frame {p} is {size[0]}x{size[1]} but {paths[0]} is '
                       f'{size0[0]}x{size0[1]}; all frames of a sequence must have one size')
  if seq_out.exists():
    raise FileExistsError(f'output sequence folder already exists: {seq_out}')
  rng = rng if rng is not None else np.random.default_rng(0)
  windows = plan_windows(len(paths), window, stride, rng)
  seq_out.parent.mkdir(parents=True, exist_ok=True)
  tmp = pathlib.Path(tempfile.mkdtemp(prefix=f'.{seq_out.name}.', suffix='.tmp',
                                      dir=seq_out.parent))
  try:
    cache: dict[int, np.ndarray] = {}
    record = []
    for index, (start, size) in enumerate(windows):
      for k in [k for k in cache if k < start]:
        del cache[k]
      frames = []
      for k in range(start, start + size):
        if k not in cache:
          cache[k] = photos.read_rgb_uint8(paths[k])
        frames.append(cache[k])
      write_pair(tmp, index, synthesize_pair(frames, gamma))
      record.append({'name': f'{index:06d}.png', 'window': size,
                     'frames': [paths[k].name for k in range(start, start + size)]})
    with open(tmp / 'synthesis.json', 'w') as f:
      json.dump({'gamma': gamma, 'window': list(parse_window(window)), 'stride': stride,
                 'pairs': record}, f, indent=1)
    os.chmod(tmp, 0o755)
    os.replace(tmp, seq_out)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return len(windows)


def synthesize_tree(frames_dir: PathLike, out_dir: PathLike, window: Window = 7,
                    stride: Optional[int] = None, gamma: float = 2.2,
                    seed: int = 0) -> dict[str, int]:
  """Synthesises every sequence folder under `frames_dir` into GOPRO_Large layout.

  Writes `out_dir/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png`; returns pairs per
  sequence. Sequence i draws window sizes from a generator seeded by (seed, i).
  """
  out_dir = pathlib.Path(out_dir)
  counts = {}
  for i, (name, folder) in enumerate(find_sequences(frames_dir)):
    rng = np.random.default_rng([seed, i])
    counts[name] = synthesize_sequence(list_frames(folder), out_dir / name, window, stride,
                                       gamma, rng)
  return counts
