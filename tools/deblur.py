"""Deblurs your own photos with a trained or converted model.

  python tools/deblur.py --checkpoint checkpoints/deepdeblur_gopro --input photos/ --output out/

--input is one image or a folder (searched recursively; the layout is kept). Every input gives a
PNG of the same size in --output: greyscale stays greyscale, alpha is passed through, 16-bit
inputs give 16-bit PNGs. Large images are processed in overlapping tiles chosen from the
available memory (or --tile N --overlap M). --compare also writes NAME.compare.png with the
blurry input and the result side by side. Exit code: 0 when every image was written, 1 when some
input could not be read (each is named), 2 when the checkpoint or the arguments are unusable: no
input, no images found in it, or an output folder that cannot be written (checked before the
model loads).
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

from deepdeblur_jax import cli_errors, compilation_cache
from deepdeblur_jax.inference.checkpoint import CheckpointError, load_inference_checkpoint
from deepdeblur_jax.inference.files import OutputError, check_output_dir, deblur_paths, find_images
from deepdeblur_jax.io.photos import IMAGE_EXTENSIONS


def main(argv=None) -> int:
  """Parses arguments, deblurs, and returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--checkpoint', required=True, help='inference checkpoint folder '
                      '(from tools/export.py or tools/convert_pytorch.py)')
  parser.add_argument('--input', required=True, help='an image file or a folder of images')
  parser.add_argument('--output', required=True, help='folder for the deblurred PNGs')
  parser.add_argument('--tile', type=int, default=None,
                      help='tile side in pixels (default: automatic from memory; 0 = never tile)')
  parser.add_argument('--overlap', type=int, default=96, help='tile overlap in pixels')
  parser.add_argument('--batch', type=int, default=1, help='tiles per forward pass')
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default=None,
                      help="compute dtype (default: the checkpoint's)")
  parser.add_argument('--compare', action='store_true', help='also write blur | deblurred PNGs')
  cli_errors.add_verbose_argument(parser)
  compilation_cache.add_argument(parser)
  args = parser.parse_args(argv)
  compilation_cache.enable_for(args)
  if (args.tile is not None and args.tile < 0) or args.overlap < 0 or args.batch < 1:
    print('error: --tile and --overlap must be >= 0 and --batch >= 1', file=sys.stderr)
    return 2
  if args.tile and args.overlap >= args.tile:
    print(f'error: --overlap {args.overlap} must be smaller than --tile {args.tile}',
          file=sys.stderr)
    return 2
  try:  # inputs and output first: no model is loaded for a run that cannot finish
    if not find_images(args.input, exclude=args.output):
      print(f'error: no images ({", ".join(IMAGE_EXTENSIONS)}) found in {args.input}',
            file=sys.stderr)
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
                          args.compare)
  except FileNotFoundError as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  print(f'wrote {len(report.written)} image(s) to {args.output}', file=sys.stderr)
  if report.failed:
    print(f'{len(report.failed)} input(s) failed:', file=sys.stderr)
    for _, message in report.failed:
      print(f'  {message}', file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
