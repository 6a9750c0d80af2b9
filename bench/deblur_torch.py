"""A plain PyTorch deblurring script: what a user of DeepDeblur-PyTorch would run on a folder.

  python bench/deblur_torch.py --weights model.pt --input photos/ --output out/

Loads `{'G': state_dict}` or a bare state_dict into bench/torch_model.MSResNet (the official
architecture and keys), builds each image's pyramid with skimage's pyramid_gaussian (as the
official code does), runs the model on the CPU with torch.no_grad, and writes uint8 PNGs
(value + 0.5, truncated, as the official code). The reference for bench/startup_time.py.
"""

import argparse
import os
import pathlib
import sys

import numpy as np
import torch
from PIL import Image
from skimage.transform import pyramid_gaussian

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from bench.torch_model import MSResNet  # pylint: disable=g-import-not-at-top,wrong-import-position


def main() -> int:
  """Deblurs every PNG of --input into --output; returns the exit code."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--weights', required=True)
  parser.add_argument('--input', required=True)
  parser.add_argument('--output', required=True)
  parser.add_argument('--n-scales', type=int, default=3)
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count() or 1)
  state = torch.load(args.weights, map_location='cpu')
  state = state.get('G', state)
  model = MSResNet(n_scales=args.n_scales)
  model.load_state_dict({k.replace('module.', '', 1): v for k, v in state.items()})
  model.eval()
  out_dir = pathlib.Path(args.output)
  out_dir.mkdir(parents=True, exist_ok=True)
  for path in sorted(pathlib.Path(args.input).glob('*.png')):
    image = np.asarray(Image.open(path).convert('RGB'), np.float32)
    levels = list(pyramid_gaussian(image, args.n_scales - 1, downscale=2, channel_axis=-1))
    pyramid = [torch.from_numpy(np.ascontiguousarray(level.transpose(2, 0, 1)))[None]
               for level in levels]
    with torch.no_grad():
      sharp = model(pyramid)[0][0].permute(1, 2, 0).numpy()
    Image.fromarray(np.clip(sharp + 0.5, 0, 255).astype(np.uint8)).save(out_dir / path.name)
  return 0


if __name__ == '__main__':
  sys.exit(main())
