"""A deblurring web page: upload or paste a photo, or upload a clip, compare, download the result.

  python tools/app.py --checkpoint checkpoints/gopro_l1            # http://127.0.0.1:7860

The page (Gradio) deblurs with the same code as tools/deblur.py, so the PNG (or the H.264 clip)
it offers is the file the command line writes for that input. To paste a photo, copy an image
and click the paste box under the Deblur button (or its clipboard button; Ctrl+V does not reach
it, and the browser may ask to let the page read the clipboard, which it only allows on
http://127.0.0.1, localhost or https). It is deblurred at once: the browser hands over the PNG
it put on the clipboard, the page passes that file on untouched and offers
pasted_deblurred.png, the PNG tools/deblur.py writes for that PNG. The model is loaded once; each
photo size compiles once and is then reused (--pad-to N: one program per size class, at the cost
of the border pixels). Requests queue and run one at a time. Files that are not images or videos,
empty, truncated, over --max-pixels (decompression bombs included) or, for clips, longer than
--max-video-seconds are refused with a message and the server keeps serving. The deblurring is
also an API:

  from gradio_client import Client, handle_file
  png = Client('http://127.0.0.1:7860/').predict(handle_file('photo.jpg'), api_name='/deblur')
  (api_name='/deblur_video' for a clip)

The page binds to 127.0.0.1 unless --host says otherwise; --share asks Gradio for a public link.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import atexit
import os
import shutil
import signal
import tempfile
import time
from typing import Any, Callable, Optional, Tuple

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')  # no calls home from the server

import numpy as np

from deepdeblur_jax import cli_errors, compilation_cache
from deepdeblur_jax.inference.checkpoint import (CheckpointError, load_inference_checkpoint,
                                                 read_checkpoint_config)
from deepdeblur_jax.inference.files import deblur_photo
from deepdeblur_jax.inference.uploads import (DEFAULT_MAX_PIXELS, DEFAULT_MAX_VIDEO_SECONDS,
                                               check_photo, check_video, describe_model)
from deepdeblur_jax.inference.video_files import deblur_video_file, video_output_name
from deepdeblur_jax.io.photos import ImageError, read_photo, to_array, write_png
from deepdeblur_jax.io.video import VideoError

MAX_UPLOAD = '200mb'
PASTED_NAME = 'pasted.png'  # what a pasted photo is called: its result is pasted_deblurred.png
KEEP_RESULTS_S = 3600  # results (and Gradio's copies of uploads) are deleted after an hour


def display_rgb(array: np.ndarray) -> np.ndarray:
  """An 8-bit RGB view of a uint8/uint16 HxW[xC] image for the browser (alpha dropped)."""
  a = np.asarray(array)
  if a.dtype == np.uint16:
    a = ((a.astype(np.float32) / 257.0) + 0.5).astype(np.uint8)
  if a.ndim == 2:
    a = a[..., None]
  colour = a[..., :1] if a.shape[-1] in (1, 2) else a[..., :3]
  return np.ascontiguousarray(np.broadcast_to(colour, a.shape[:2] + (3,)))


class Deblurrer:
  """The loaded model and what each request needs: check, read, deblur, write the PNG."""

  def __init__(self, checkpoint: str, max_pixels: int, out_dir: pathlib.Path,
               dtype: Any = None, pad_to: int = 0,
               max_video_seconds: float = DEFAULT_MAX_VIDEO_SECONDS):
    self.model, self.params, _ = load_inference_checkpoint(checkpoint, dtype)
    self.config = read_checkpoint_config(checkpoint)
    self.max_pixels = max_pixels
    self.pad_to = pad_to
    self.max_video_seconds = max_video_seconds
    self.out_dir = out_dir

  def new_folder(self) -> pathlib.Path:
    """A fresh folder for one result; folders older than KEEP_RESULTS_S are deleted."""
    cutoff = time.time() - KEEP_RESULTS_S
    for old in self.out_dir.iterdir():
      if old.stat().st_mtime < cutoff:
        shutil.rmtree(old, ignore_errors=True)
    return pathlib.Path(tempfile.mkdtemp(dir=self.out_dir))

  def photo(self, path: str, name: Optional[str] = None) -> Tuple[str, float]:
    """Deblurs the uploaded file `path`; returns (PNG path, seconds). Raises ImageError.

    `name` is the file name that messages and the result (NAME-STEM_deblurred.png) use
    (default: `path`'s own)."""
    name = name or pathlib.Path(path).name
    check_photo(path, self.max_pixels, name=name)
    start = time.perf_counter()
    try:
      photo = read_photo(path)
    except ImageError as e:  # the header was fine, the pixels are not: name the file, not the path
      raise ImageError(f'{name} cannot be decoded, it is truncated or '
                       f'damaged: {e.__cause__ or e}') from e
    output = deblur_photo(self.params, self.model, photo, pad_to=self.pad_to)
    folder = self.new_folder()
    target = folder / (pathlib.Path(name).stem + '_deblurred.png')
    write_png(str(target), output)
    return str(target), time.perf_counter() - start

  def video(self, path: str, on_frames: Callable[[int, int], None]) -> str:
    """Deblurs the uploaded clip `path` as tools/deblur.py does (H.264, audio copied); returns
    the clip's path. Raises VideoError. `on_frames(done, total)` is called with done 0 once the
    clip is checked, then after every batch of frames (total 0 when the file does not say)."""
    source = pathlib.Path(path)
    folder = self.new_folder()
    target = folder / video_output_name(pathlib.Path(source.stem + '_deblurred' + source.suffix))
    try:  # messages name the files, not the server's folders
      info = check_video(path, self.max_video_seconds, self.max_pixels)
      on_frames(0, info.frame_count)  # the total shows before the first frames are through
      deblur_video_file(self.params, self.model, source, target, on_frames=on_frames)
    except VideoError as e:
      raise VideoError(str(e).replace(str(source), source.name)
                       .replace(str(folder) + '/', '')) from e
    return str(target)


def build_page(deblurrer: Deblurrer) -> Any:
  """The Gradio Blocks of the page."""
  import gradio as gr  # pylint: disable=import-outside-toplevel

  def deblur_file(path: str, name: Optional[str] = None) -> str:
    try:
      target, seconds = deblurrer.photo(path, name)
    except ImageError as e:
      raise gr.Error(str(e), duration=None) from e
    print(f'deblurred {name or pathlib.Path(path).name} in {seconds:.2f} s', file=sys.stderr,
          flush=True)
    return target

  def deblur(upload: Any) -> str:
    if upload is None:
      raise gr.Error('Upload a photo first.', duration=None)
    return deblur_file(upload)

  def deblur_pasted(pasted: Any) -> str:
    if pasted is None:
      raise gr.Error('Paste a photo first.', duration=None)
    return deblur_file(pasted, PASTED_NAME)

  def deblur_clip(upload: Any, progress: Any = gr.Progress()) -> str:
    if upload is None:
      raise gr.Error('Upload a clip first.', duration=None)

    def on_frames(done: int, total: int) -> None:
      progress((done, total) if total else None, desc=f'{done} frames', unit='frames')

    try:
      return deblurrer.video(upload, on_frames)
    except VideoError as e:
      raise gr.Error(str(e), duration=None) from e

  def compare(upload: str, result: str) -> Tuple[np.ndarray, np.ndarray]:
    return (display_rgb(np.asarray(_read_any(upload))), display_rgb(np.asarray(_read_any(result))))

  with gr.Blocks(title='DeepDeblur', analytics_enabled=False,
                 delete_cache=(KEEP_RESULTS_S, KEEP_RESULTS_S)) as page:
    gr.Markdown('# DeepDeblur\nUpload or paste a blurry photo, compare it with the deblurred '
                'one, download the result as a PNG.')
    gr.Markdown(describe_model(deblurrer.config), elem_id='model-info')
    with gr.Tab('Photo'):
      with gr.Row():
        with gr.Column(scale=1):
          upload = gr.File(label='Blurry photo (PNG, JPEG, BMP, TIFF, WebP)', type='filepath',
                           elem_id='upload')
          button = gr.Button('Deblur', variant='primary', elem_id='deblur-button')
          # The browser hands a pasted image over as the PNG file it put on the clipboard; with
          # type='filepath' and image_mode=None Gradio passes that file on untouched (no WebP).
          paste = gr.Image(label='... or paste one (it is deblurred at once)',
                           sources=['clipboard'], type='filepath', image_mode=None,
                           format='png', height=160, buttons=[], elem_id='paste')
          result = gr.File(label='Deblurred PNG', interactive=False, elem_id='result')
        with gr.Column(scale=2):
          slider = gr.ImageSlider(label='Blurry | deblurred', type='numpy', format='png',
                                  interactive=False, elem_id='slider')
      button.click(deblur, inputs=upload, outputs=result, api_name='deblur').success(
          compare, inputs=[upload, result], outputs=slider, api_name=False)
      paste.upload(deblur_pasted, inputs=paste, outputs=result, api_name=False).success(
          compare, inputs=[paste, result], outputs=slider, api_name=False)
    with gr.Tab('Video'):
      gr.Markdown(f'Clips up to {deblurrer.max_video_seconds:g} s; the result is H.264 with '
                  "the input's frame rate, size, frame count and audio.")
      with gr.Row():
        with gr.Column(scale=1):
          clip = gr.File(label='Blurry clip (MP4, MOV, MKV, WebM, AVI, ...)', type='filepath',
                         elem_id='clip-upload')
          clip_button = gr.Button('Deblur clip', variant='primary', elem_id='deblur-clip-button')
          clip_result = gr.File(label='Deblurred clip', interactive=False, elem_id='clip-result')
        with gr.Column(scale=2):
          preview = gr.Video(label='Deblurred', interactive=False, elem_id='clip-preview')
      clip_button.click(deblur_clip, inputs=clip, outputs=clip_result,
                        api_name='deblur_video').success(
          lambda path: path, inputs=clip_result, outputs=preview, api_name=False)
  return page


def _read_any(path: str) -> np.ndarray:
  """Pixels of an image file as stored (for the comparison view)."""
  photo = read_photo(path)
  return to_array(photo.rgb, photo)


def main(argv=None) -> int:
  """Parses arguments, loads the model and serves the page until interrupted."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--checkpoint', required=True, help='inference checkpoint folder '
                      '(from tools/export.py or tools/convert_pytorch.py)')
  parser.add_argument('--host', default='127.0.0.1',
                      help='address to listen on (0.0.0.0: every interface)')
  parser.add_argument('--port', type=int, default=7860, help='port to listen on')
  parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                      help='largest photo accepted, in pixels (default 24 megapixels)')
  parser.add_argument('--max-video-seconds', type=float, default=DEFAULT_MAX_VIDEO_SECONDS,
                      help='longest clip accepted, in seconds (default 60)')
  parser.add_argument('--pad-to', type=int, default=0, metavar='N',
                      help='pad photos up to multiples of N pixels, so that photos of one size '
                      'class share one compiled program (a new photo size then costs no '
                      'compile); pixels near the bottom and right borders then differ from '
                      "tools/deblur.py's (default 0: no padding, the same PNG as tools/deblur.py)")
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default=None,
                      help="compute dtype (default: the checkpoint's)")
  parser.add_argument('--share', action='store_true',
                      help='also ask Gradio for a public share link (off by default)')
  cli_errors.add_verbose_argument(parser)
  compilation_cache.add_argument(parser)
  args = parser.parse_args(argv)
  if args.max_pixels < 1 or args.pad_to < 0:
    print('error: --max-pixels must be >= 1 and --pad-to >= 0', file=sys.stderr)
    return 2
  try:
    import gradio  # pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    print('error: the web page needs Gradio: pip install -r requirements-app.txt '
          '(or make install-app)', file=sys.stderr)
    return 2
  compilation_cache.enable_for(args)
  out_dir = pathlib.Path(tempfile.mkdtemp(prefix='deepdeblur-app-'))
  atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
  try:
    deblurrer = Deblurrer(args.checkpoint, args.max_pixels, out_dir, args.dtype, args.pad_to,
                          args.max_video_seconds)
  except CheckpointError as e:
    print(f'error: cannot load the checkpoint, refusing to run without trained weights:\n  {e}',
          file=sys.stderr)
    return 2
  print(f'model: {describe_model(deblurrer.config)}', file=sys.stderr, flush=True)
  page = build_page(deblurrer)
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a stop request cleans up as Ctrl+C does
  page.queue(default_concurrency_limit=1, max_size=64)  # one request at a time on the device
  page.launch(server_name=args.host, server_port=args.port, share=args.share,
              allowed_paths=[str(out_dir)], max_file_size=MAX_UPLOAD, show_error=True)
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
