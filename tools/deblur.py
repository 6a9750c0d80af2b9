"""Deblurs your own photos and videos with a trained or converted model.

  python tools/deblur.py --checkpoint checkpoints/deepdeblur_gopro --input photos/ --output out/
  python tools/deblur.py --checkpoint checkpoints/deepdeblur_gopro --input clip.mp4 --output out/

--input is one image or video, or a folder (searched recursively; the layout is kept); for
photos, --input, --output and --checkpoint may also be gs:// URLs (docs/cloud-storage.md). Every
image gives a PNG of the same size in --output: greyscale stays greyscale, alpha is passed
through, 16-bit inputs give 16-bit PNGs. Every video gives a video of the same name (out/clip.mp4)
with the same frame rate, timestamps, size and frame count and its audio stream copied, encoded
with --video-codec (h264 by default; ffv1 or h264rgb are lossless); frames are deblurred --batch
at a time while the next ones decode, with a progress line (frames/s, ETA). Large images are
processed in overlapping tiles chosen from the available memory (or --tile N --overlap M).
--compare also writes NAME.compare.png (NAME.compare.mp4 for a video) with the blurry input and
the result side by side. Exit code: 0 when every input was written, 1 when some input could not
be read (each is named), 2 when the checkpoint or the arguments are unusable: no input, no images
or videos found in it, or an output folder that cannot be written (checked before the model
loads).
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

from deepdeblur_jax import cli_errors, compilation_cache
from deepdeblur_jax.inference.checkpoint import CheckpointError, load_inference_checkpoint
from deepdeblur_jax.inference.files import OutputError, check_output_dir, deblur_paths, find_inputs
from deepdeblur_jax.io.photos import IMAGE_EXTENSIONS
from deepdeblur_jax.io.video import VIDEO_CODECS, VIDEO_EXTENSIONS


def main(argv=None) -> int:
  """Parses arguments, deblurs, and returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--checkpoint', required=True, help='inference checkpoint folder '
                      '(from tools/export.py or tools/convert_pytorch.py)')
  parser.add_argument('--input', required=True,
                      help='an image or video file, or a folder of images and videos (images: '
                      'also gs://...)')
  parser.add_argument('--output', required=True,
                      help='folder for the deblurred PNGs (also gs://...) and videos')
  parser.add_argument('--tile', type=int, default=None,
                      help='tile side in pixels (default: automatic from memory; 0 = never tile)')
  parser.add_argument('--overlap', type=int, default=96, help='tile overlap in pixels')
  parser.add_argument('--batch', type=int, default=None,
                      help='tiles per forward pass (default 1); for a video, whole frames per '
                      'forward pass (default 4, fewer when they do not fit in memory)')
  parser.add_argument('--video-codec', choices=VIDEO_CODECS, default='h264',
                      help='codec of deblurred videos: h264 (libx264, CRF 18), or lossless ffv1 '
                      '(written as .mkv unless the input is .avi) or h264rgb (libx264rgb, qp 0)')
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default=None,
                      help="compute dtype (default: the checkpoint's)")
  parser.add_argument('--compare', action='store_true',
                      help='also write blur | deblurred PNGs (and videos)')
  cli_errors.add_verbose_argument(parser)
  compilation_cache.add_argument(parser)
  args = parser.parse_args(argv)
  compilation_cache.enable_for(args)
  if ((args.tile is not None and args.tile < 0) or args.overlap < 0
      or (args.batch is not None and args.batch < 1)):
    print('error: --tile and --overlap must be >= 0 and --batch >= 1', file=sys.stderr)
    return 2
  if args.tile and args.overlap >= args.tile:
    print(f'error: --overlap {args.overlap} must be smaller than --tile {args.tile}',
          file=sys.stderr)
    return 2
  try:  # inputs and output first: no model is loaded for a run that cannot finish
    if not find_inputs(args.input, exclude=args.output):
      print(f'error: no images ({", ".join(IMAGE_EXTENSIONS)}) or videos '
            f'({", ".join(VIDEO_EXTENSIONS)}) found in {args.input}', file=sys.stderr)
      return 2
    check_output_dir(args.output)
  except (FileNotFoundError, OutputError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  try:
    model, params, config = load_inference_checkpoint(args.checkpoint, args.dtype)
  except CheckpointError as e:
    print(f'error: cannot load the checkpoint, refusing to run without trained weights:\n  {e}',
          file=sys.stderr)
    return 2
  print(f'model: {config}', file=sys.stderr)
  tile = None if args.tile is None else (args.tile, args.tile)
  try:
    report = deblur_paths(params, model, args.input, args.output, tile, args.overlap, args.batch,
                          args.compare, args.video_codec)
  except FileNotFoundError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print(f'wrote {len(report.written)} file(s) to {args.output}', file=sys.stderr)
  if report.failed:
    print(f'{len(report.failed)} input(s) failed:', file=sys.stderr)
    for _, message in report.failed:
      print(f'  {message}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
