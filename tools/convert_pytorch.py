"""Converts an official DeepDeblur-PyTorch generator (.pt) into an inference checkpoint folder.

  python tools/convert_pytorch.py --input model-1000.pt --output checkpoints/deepdeblur_gopro

Reads `{'G': state_dict}` or a bare state_dict (a `module.` prefix is fine), infers the
architecture from the shapes, checks every key and shape, and writes OUTPUT (Orbax params +
config.json). `--rgb-range 255` (default) keeps the weights exactly; `--rgb-range 1` divides the
biases by 255 so the model works on [0, 1] images. Needs PyTorch (CPU build) to read the file.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse

from deepdeblur_jax import cli_errors
from deepdeblur_jax.convert.pytorch import ConversionError, convert_state_dict, read_state_dict
from deepdeblur_jax.inference.checkpoint import CheckpointError, save_inference_checkpoint


def main(argv=None) -> int:
  """Parses arguments, converts, and returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--input', required=True, help='official .pt weights file')
  parser.add_argument('--output', required=True, help='inference checkpoint folder to write')
  parser.add_argument('--rgb-range', type=float, choices=(255.0, 1.0), default=255.0,
                      help='value range the converted model works on (255 keeps weights as-is)')
  parser.add_argument('--overwrite', action='store_true', help='replace an existing OUTPUT')
  cli_errors.add_verbose_argument(parser)
  args = parser.parse_args(argv)
  try:
    params, config = convert_state_dict(read_state_dict(args.input), args.rgb_range)
    out = save_inference_checkpoint(
        args.output, params, config, dtype='float32', overwrite=args.overwrite,
        provenance={'source': 'DeepDeblur-PyTorch',
                    'input': str(pathlib.Path(args.input).resolve())})
  except (ConversionError, CheckpointError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(f'wrote {out}: {config}')
  return 0


if __name__ == '__main__':
  cli_errors.run_tool(main)
