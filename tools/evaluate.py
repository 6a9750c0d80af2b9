"""Measures PSNR/SSIM of a model (or of the blurry inputs) on GOPRO_Large, REDS or paired folders.

  python tools/evaluate.py --data /data/GOPRO_Large --checkpoint checkpoints/deepdeblur_gopro \
      --output results/gopro_test.json
  python tools/evaluate.py --data /data/GOPRO_Large --baseline --output results/gopro_blur.json

The layout of --data is detected (or give --format). Outputs are clipped and quantised to uint8
before measuring (docs/evaluation.md): PSNR on RGB with peak 255 and scikit-image's Gaussian
SSIM, per image, then averaged. GOPRO_Large uses --blur-key blur_gamma (the paper's and
DeepDeblur-PyTorch's choice) unless told `blur`; results.json records which.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

import numpy as np

from deepdeblur_jax import cli_errors, compilation_cache
from deepdeblur_jax.evaluation.evaluate_folder import FORMATS, evaluate_pairs, list_eval_pairs
from deepdeblur_jax.inference.checkpoint import CheckpointError, load_inference_checkpoint
from deepdeblur_jax.io import storage
from deepdeblur_jax.io.atomic import write_json


def main(argv=None) -> int:
  """Parses arguments, evaluates, writes results.json and returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--data', required=True, help='GOPRO_Large, REDS or paired-folder root')
  parser.add_argument('--format', choices=FORMATS, default=None, help='layout (default: detect)')
  parser.add_argument('--split', default=None, help="split folder (default: 'test'; REDS 'val')")
  parser.add_argument('--blur-key', choices=('blur_gamma', 'blur'), default='blur_gamma',
                      help='GOPRO_Large blurry folder')
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument('--checkpoint', help='inference checkpoint folder')
  source.add_argument('--baseline', action='store_true', help='measure the blurry inputs')
  parser.add_argument('--output', required=True, help='results JSON file')
  parser.add_argument('--save-images', default=None, help='folder for the quantised outputs')
  parser.add_argument('--max-images', type=int, default=None,
                      help='evaluate only the first N pairs (sorted by name)')
  parser.add_argument('--dtype', choices=('float32', 'bfloat16'), default=None,
                      help="compute dtype (default: the checkpoint's)")
  cli_errors.add_verbose_argument(parser)
  compilation_cache.add_argument(parser)
  args = parser.parse_args(argv)
  compilation_cache.enable_for(args)
  try:
    split = args.split
    if split is None:
      split = 'val' if (args.format == 'reds' or (args.format is None and (
          storage.path(args.data, expand_user=False) / 'val' / 'val_blur').is_dir())) else 'test'
    fmt, pairs = list_eval_pairs(args.data, split, args.format, args.blur_key)
  except (OSError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  if args.max_images is not None:
    if args.max_images < 1:
      print('error: --max-images must be >= 1', file=sys.stderr)
      return 2
    pairs = pairs[:args.max_images]
  model = params = config = None
  if args.checkpoint:
    try:
      model, params, config = load_inference_checkpoint(args.checkpoint, args.dtype)
    except CheckpointError as e:
      print(f'error: cannot load the checkpoint:\n  {e}', file=sys.stderr)
      return 2
  what = f'checkpoint {args.checkpoint}' if model else 'the blurry inputs (baseline)'
  print(f'evaluating {what} on {len(pairs)} {fmt} pairs of split {split!r}'
        + (f' ({args.blur_key})' if fmt == 'gopro_large' else ''), file=sys.stderr)
  try:
    results = evaluate_pairs(pairs, params, model, args.save_images)
  except (OSError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  results['settings'] = {
      'data': storage.resolved(args.data), 'format': fmt, 'split': split,
      'blur_key': args.blur_key if fmt == 'gopro_large' else None,
      'checkpoint': storage.resolved(args.checkpoint) if args.checkpoint else None,
      'baseline': bool(args.baseline), 'model': config,
      'dtype': np.dtype(model.dtype).name if model else None,
      'metric': 'PSNR RGB peak 255; SSIM skimage gaussian sigma 1.5, uint8-quantised output'}
  write_json(args.output, results)
  print(f'{results["num_images"]} images: PSNR {results["psnr"]:.3f} dB, SSIM '
        f'{results["ssim"]:.4f} -> {args.output}')
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
