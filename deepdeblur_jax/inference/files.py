"""Deblurring image and video files and folders with an inference checkpoint (the library behind
tools/deblur.py)."""

import dataclasses
import os
import pathlib
import sys
import tempfile
import time
import uuid
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from deepdeblur_jax import cli_errors
from deepdeblur_jax.inference.deblur import padded_size
from deepdeblur_jax.inference.tiling import deblur_array
from deepdeblur_jax.inference.video_files import deblur_video_file, video_output_name
from deepdeblur_jax.io import storage
from deepdeblur_jax.io.photos import IMAGE_EXTENSIONS, write_png
from deepdeblur_jax.io.photos import ImageError, Photo, read_photo, side_by_side, to_array
from deepdeblur_jax.io.video import VIDEO_EXTENSIONS, VideoError, is_video_file
from deepdeblur_jax.models.generator import MultiScaleGenerator


def find_inputs(path: str, exclude: Optional[str] = None, video_codec: str = 'h264'
                ) -> List[Tuple[pathlib.Path, pathlib.Path]]:
  """[(input file, output path relative to the output folder)] for an image or video file or a
  folder.

  Folders are searched recursively (skipping the folder `exclude`, e.g. an output folder inside
  the input) and keep their relative layout; every image gives a .png, every video a video of
  the same name (`video_output_name` for `video_codec`). When two images would give the same output name (a.jpg
  and a.png), the non-PNG one is written as a_jpg.png.
  """
  if storage.is_url(path):
    root, files, base = _bucket_inputs(path, exclude)
  else:
    root = pathlib.Path(path).expanduser()
    skip = pathlib.Path(exclude).expanduser().resolve() if exclude and not storage.is_url(
        exclude) else None
    if root.is_file():
      files, base = [root], root.parent
    elif root.is_dir():
      files = sorted(p for p in root.rglob('*')
                     if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS
                     and not (skip and p.resolve().is_relative_to(skip)))
      base = root
    else:
      raise FileNotFoundError(f'input {root} does not exist')
  stems = {}
  for f in files:
    key = f.relative_to(base).with_suffix('')
    stems[key] = stems.get(key, 0) + (not is_video_file(f))
  pairs = []
  for f in files:
    if is_video_file(f):
      pairs.append((f, video_output_name(f.relative_to(base), video_codec)))
      continue
    rel = f.relative_to(base).with_suffix('')
    if stems[rel] > 1 and f.suffix.lower() != '.png':
      rel = rel.with_name(f'{rel.name}_{f.suffix.lower().lstrip(".")}')
    pairs.append((f, rel.with_suffix('.png')))
  return pairs


def _bucket_inputs(url: str, exclude: Optional[str]) -> Tuple[Any, List[Any], Any]:
  """(root, input files, base of their relative paths) under a gs:// file or folder; one
  listing request for a folder, skipping the output folder `exclude` when it lies inside."""
  root = storage.path(url)
  skip = storage.absolute(exclude) + '/' if exclude and storage.is_url(exclude) else None
  if storage.isdir(url):
    files = sorted((p for p in storage.files_under(url)
                    if p.suffix.lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS
                    and not (skip and str(p).startswith(skip))), key=str)
    return root, files, root
  if storage.exists(url):
    return root, [root], root.parent
  raise FileNotFoundError(f'input {storage.absolute(url)} does not exist')


class OutputError(OSError):
  """The output folder cannot be written; the message names it and the reason."""


def check_output_dir(path: str) -> pathlib.Path:
  """Checks, before any work, that the folder `path` can be made and written; raises OutputError.

  Nothing is left behind: a temporary folder is made and removed in `path`, or in its nearest
  existing parent when `path` does not exist yet (the tool makes it when writing).
  """
  if storage.is_url(path):  # a bucket has no folders: a probe object is written and deleted
    probe = storage.join(path, f'.deblur-write-check-{uuid.uuid4().hex}')
    try:
      storage.write_bytes(probe, b'')
      storage.remove(probe)
    except Exception as e:  # pylint: disable=broad-except  (the bucket client's errors)
      raise OutputError(f'cannot write to output folder {storage.absolute(path)}: '
                        f'{cli_errors.short_message(e)}') from e
    return storage.path(path)
  out = pathlib.Path(path).expanduser()
  existing = next(p for p in (out, *out.parents) if p.exists() or p == p.parent)
  if existing.exists() and not existing.is_dir():
    raise OutputError(f'cannot write to output folder {out}: {existing} is a file, not a folder')
  try:
    os.rmdir(tempfile.mkdtemp(prefix='.deblur-write-check-', dir=existing))
  except OSError as e:
    raise OutputError(f'cannot write to output folder {out}: {e.strerror or e} '
                      f'(in {existing})') from e
  return out


@dataclasses.dataclass
class DeblurReport:
  """What a run did: written outputs and (input, error message) for each failure."""
  written: List[pathlib.Path]
  failed: List[Tuple[pathlib.Path, str]]


def deblur_photo(params: Any, model: MultiScaleGenerator, photo: Photo,
                 tile: Optional[Sequence[int]] = None, overlap: int = 96, batch: int = 1,
                 pad_to: int = 0) -> np.ndarray:
  """The deblurred pixels of `photo` in its own layout and bit depth (what `write_png` stores):
  the one photo path of tools/deblur.py and tools/app.py.

  `pad_to` > 1 first pads the image by edge replication up to multiples of `pad_to` pixels, so
  that every photo of one size class runs the same compiled program; the pixels within the
  model's reach of the bottom and right borders then differ from the unpadded result (0: none).
  """
  scale = float(model.rgb_range)
  rgb = photo.rgb * np.float32(scale)
  h, w = rgb.shape[:2]
  if pad_to > 1:
    ph, pw = padded_size(h, w, pad_to)
    rgb = np.pad(rgb, ((0, ph - h), (0, pw - w), (0, 0)), mode='edge')
  result = deblur_array(params, model, rgb, tile, overlap, batch)[:h, :w] / scale
  return to_array(result, photo)


def deblur_photo_file(params: Any, model: MultiScaleGenerator, source: pathlib.Path,
                      target: pathlib.Path, tile: Optional[Sequence[int]] = None,
                      overlap: int = 96, batch: int = 1, compare: Optional[pathlib.Path] = None
                      ) -> None:
  """Reads `source`, deblurs it and writes a PNG of the same size and layout to `target`
  (and a blur | deblurred PNG to `compare` when given). Raises ImageError for a bad input."""
  photo = read_photo(str(source))
  output = deblur_photo(params, model, photo, tile, overlap, batch)
  write_png(str(target), output)
  if compare is not None:
    write_png(str(compare), side_by_side(to_array(photo.rgb, photo), output))


def deblur_paths(params: Any, model: MultiScaleGenerator, input_path: str, output_dir: str,
                 tile: Optional[Sequence[int]] = None, overlap: int = 96,
                 batch: Optional[int] = None, compare: bool = False, video_codec: str = 'h264',
                 log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)
                 ) -> DeblurReport:
  """Deblurs one image or video, or every image and video under a folder, into `output_dir`;
  never stops at a bad file (it is logged and listed in the report). `batch`: tiles per forward
  pass for photos (default 1), whole frames per forward pass for videos (default 4)."""
  pairs = find_inputs(input_path, exclude=output_dir, video_codec=video_codec)
  out_root = storage.path(output_dir)
  report = DeblurReport([], [])
  if not pairs:
    log(f'no images ({", ".join(IMAGE_EXTENSIONS)}) or videos ({", ".join(VIDEO_EXTENSIONS)}) '
        f'found under {input_path}')
  for i, (source, rel) in enumerate(pairs, 1):
    target = out_root / rel
    side = target.with_name(target.stem + '.compare' + target.suffix) if compare else None
    start = time.perf_counter()
    try:
      if is_video_file(source) and (storage.is_url(source) or storage.is_url(target)):
        raise VideoError(f'{source}: videos are read and written on a local disk only; copy it '
                         'from the bucket and use a local --output')
      if is_video_file(source):
        log(f'[{i}/{len(pairs)}] {source}')
        deblur_video_file(params, model, source, target, tile, overlap,
                          batch if batch is not None else 4, video_codec, side, log)
      else:
        deblur_photo_file(params, model, source, target, tile, overlap,
                          batch if batch is not None else 1, side)
    except (ImageError, VideoError) as e:
      report.failed.append((source, str(e)))
      log(f'[{i}/{len(pairs)}] FAILED {e}')
      continue
    report.written.append(target)
    log(f'[{i}/{len(pairs)}] {source} -> {target} ({time.perf_counter() - start:.2f} s)')
  return report
