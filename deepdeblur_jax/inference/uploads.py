"""Checks on files that strangers upload to the web page (tools/app.py), before any decoding, and
the page's one-paragraph description of the model it serves."""

import pathlib
from typing import Any, Mapping, Optional, Tuple

from PIL import Image, UnidentifiedImageError

from deepdeblur_jax.io import video
from deepdeblur_jax.io.photos import ImageError

DEFAULT_MAX_PIXELS = 24_000_000
DEFAULT_MAX_VIDEO_SECONDS = 60.0


def check_photo(path: str, max_pixels: int = DEFAULT_MAX_PIXELS,
                name: Optional[str] = None) -> Tuple[int, int]:
  """(height, width) of the image file `path` read from its header only; raises ImageError with
  a message for a person when it is empty, not an image, or over `max_pixels` (so a decompression
  bomb is refused before its pixels are decoded). Messages call the file `name` (default: its
  own name)."""
  file = pathlib.Path(path)
  name = name or file.name
  if not file.is_file() or file.stat().st_size == 0:
    raise ImageError(f'{name} is empty (0 bytes): upload a PNG, JPEG, BMP, TIFF or WebP photo')
  try:
    with Image.open(file) as im:
      width, height = im.size
  except Image.DecompressionBombError as e:
    raise ImageError(f'{name} is refused: it claims more pixels than an image may have '
                     f'(limit {max_pixels / 1e6:.0f} megapixels)') from e
  except UnidentifiedImageError as e:
    raise ImageError(f'{name} is not an image this page reads (PNG, JPEG, BMP, TIFF, '
                     'WebP)') from e
  except (OSError, SyntaxError, ValueError) as e:
    raise ImageError(f'{name} cannot be read, it is damaged: {e}') from e
  if height * width > max_pixels:
    raise ImageError(f'{name} is {width}x{height} = {height * width / 1e6:.1f} megapixels, over '
                     f"this page's limit of {max_pixels / 1e6:.1f} megapixels: scale it down "
                     'or run tools/deblur.py, which tiles any size')
  return height, width


def check_video(path: str, max_seconds: float = DEFAULT_MAX_VIDEO_SECONDS,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> video.VideoInfo:
  """The probed video `path`; raises VideoError with a message for a person when it is empty,
  not a video, longer than `max_seconds` or with frames over `max_pixels`."""
  file = pathlib.Path(path)
  if not file.is_file() or file.stat().st_size == 0:
    raise video.VideoError(f'{file.name} is empty (0 bytes): upload a video clip')
  if not video.is_video_file(file):
    raise video.VideoError(f'{file.name} is not a video file this page reads '
                           f'({", ".join(video.VIDEO_EXTENSIONS)})')
  info = video.probe(file)
  seconds = info.duration_s or (info.frame_count / float(info.fps) if info.frame_count else 0.0)
  if seconds > max_seconds:
    raise video.VideoError(f'{file.name} lasts {seconds:.1f} s, over this page\'s limit of '
                           f'{max_seconds:g} s: cut it or run tools/deblur.py')
  if info.height * info.width > max_pixels:
    raise video.VideoError(f'{file.name} has {info.width}x{info.height} frames, over this '
                           f"page's limit of {max_pixels / 1e6:.1f} megapixels")
  return info


def describe_model(config: Mapping[str, Any]) -> str:
  """A Markdown paragraph on the model of a checkpoint's config.json: its architecture and, where
  recorded, where it comes from, what it was trained on and for how long."""
  m = config['model']
  text = (f"DeepDeblur multi-scale generator: {m['n_scales']} scales, {m['n_resblocks']} "
          f"ResBlocks per scale, {m['n_feats']} features, {m['kernel_size']}x{m['kernel_size']} "
          f"kernels, {m['upsample']} upsampling, computing in {config['dtype']}.")
  prov = config.get('provenance') or {}
  facts = []
  if prov.get('source'):
    facts.append(f"from {prov['source']}")
  data = prov.get('data') or {}
  if data.get('dataset'):
    facts.append(f"trained on {data['dataset']}"
                 + (f" (blur key {data['blur_key']!r})" if data.get('blur_key') else ''))
  if prov.get('step') is not None:
    facts.append(f"{prov['step']} training steps")
  if prov.get('created'):
    facts.append(f"exported {str(prov['created'])[:10]}")
  if facts:
    text += ' Weights: ' + ', '.join(facts) + '.'
  return text
