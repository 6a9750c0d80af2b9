"""The best single linear deblurring filter for the real learning check's data, as a yardstick.

  python bench/linear_baseline_real.py --data ROOT [--sizes 5,11,21] [--pixels 20000]

ROOT is a GOPRO_Large folder or any subset of it in the same layout (bench/gopro_frames.py),
as bench/learning_check_real.sh reads it. Fits, by regularised least squares on --pixels random
pixels of each training frame (linear `blur` -> `sharp`), one K x K x 3 -> 3 filter plus bias
that predicts the sharp pixel from the blurry neighbourhood (a global Wiener-style filter: the
best any linear, space-invariant model can do on those frames), then applies it to the test
pairs and to the training frames and prints blurry vs filtered PSNR per test pair and the mean
gain (the official +0.5-then-truncate rounding). It answers how much of
bench/learning_check_real.sh's gain a model could get by sharpening alone.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy import signal
from skimage.metrics import peak_signal_noise_ratio

from bench.gopro_frames import gopro_pairs
from deepdeblur_jax import quantization
from deepdeblur_jax.io import photos


def _load(path: pathlib.Path) -> np.ndarray:
  return photos.read_rgb_uint8(str(path)).astype(np.float64) / 255.0


def load_pairs(pairs: Sequence[Tuple[str, pathlib.Path, pathlib.Path]]
               ) -> List[Tuple[str, np.ndarray, np.ndarray]]:
  """(name, blur, sharp) in [0, 1] for each (name, blur path, sharp path), read once."""
  return [(name, _load(blur), _load(sharp)) for name, blur, sharp in pairs]


def fit_filter(pairs: Sequence[Tuple[str, np.ndarray, np.ndarray]], size: int,
               pixels_per_image: int, seed: int = 0, ridge: float = 1e-3
               ) -> Tuple[np.ndarray, np.ndarray]:
  """(filter [K, K, 3 in, 3 out], bias [3]) minimising |blur + filter * blur + bias - sharp|^2."""
  rng = np.random.default_rng(seed)
  half = size // 2
  offsets = np.arange(-half, half + 1)
  features = 3 * size * size + 1
  gram = np.zeros((features, features))
  cross = np.zeros((features, 3))
  for _, blur, sharp in pairs:
    height, width, _ = blur.shape
    ys = rng.integers(half, height - half, pixels_per_image)
    xs = rng.integers(half, width - half, pixels_per_image)
    windows = blur[ys[:, None, None] + offsets[None, :, None],
                   xs[:, None, None] + offsets[None, None, :]]  # [n, K, K, 3]
    x = np.concatenate([windows.reshape(pixels_per_image, -1),
                        np.ones((pixels_per_image, 1))], axis=1)
    gram += x.T @ x
    cross += x.T @ (sharp[ys, xs] - blur[ys, xs])
  regulariser = ridge * np.trace(gram) / features
  weights = np.linalg.solve(gram + regulariser * np.eye(features), cross)
  return weights[:-1].reshape(size, size, 3, 3), weights[-1]


def apply_filter(blur: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
  """blur + the fitted correction (correlation with `kernel`, zero padding)."""
  out = blur.copy()
  for c_out in range(3):
    out[..., c_out] += bias[c_out] + sum(
        signal.fftconvolve(blur[..., c_in], kernel[::-1, ::-1, c_in, c_out], mode='same')
        for c_in in range(3))
  return out


def psnr_uint8(image: np.ndarray, sharp: np.ndarray) -> float:
  """PSNR of `image` rounded as the official code saves it, against the uint8 sharp frame."""
  return float(peak_signal_noise_ratio(quantization.to_uint8(image * 255.0),
                                       quantization.to_uint8(sharp * 255.0), data_range=255))


def evaluate(pairs: Sequence[Tuple[str, np.ndarray, np.ndarray]], kernel: np.ndarray,
             bias: np.ndarray) -> List[Dict[str, float]]:
  """Blurry and filtered PSNR per pair."""
  rows = []
  for name, blur, sharp in pairs:
    rows.append({'path': name, 'blurry': psnr_uint8(blur, sharp),
                 'filtered': psnr_uint8(apply_filter(blur, kernel, bias), sharp)})
  return rows


def data_pairs(root: pathlib.Path) -> Tuple[list, list]:
  """(training pairs, test pairs) of a GOPRO_Large-layout folder, `blur` frames."""
  return gopro_pairs(root, 'train'), gopro_pairs(root, 'test')


def main(argv=None) -> int:
  """Fits one filter per size and prints the gains."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--data', required=True, type=pathlib.Path,
                      help='GOPRO_Large folder (or a subset): ROOT/{train,test}/<SEQ>/{blur,sharp}')
  parser.add_argument('--sizes', default='5,11,21', help='comma list of odd filter sizes K')
  parser.add_argument('--pixels', type=int, default=20000, help='random pixels per frame')
  args = parser.parse_args(argv)
  train, test = (load_pairs(pairs) for pairs in data_pairs(args.data))
  for size in (int(v) for v in args.sizes.split(',')):
    kernel, bias = fit_filter(train, size, args.pixels)
    for label, pairs in (('test pairs', test), ('training frames', train)):
      rows = evaluate(pairs, kernel, bias)
      gain = np.mean([r['filtered'] - r['blurry'] for r in rows])
      detail = ', '.join(f'{r["path"]} {r["blurry"]:.2f} -> {r["filtered"]:.2f}'
                         for r in rows) if label == 'test pairs' else f'{len(rows)} frames'
      print(f'{size}x{size} filter, {label}: mean gain {gain:+.3f} dB ({detail})')
  return 0


if __name__ == '__main__':
  sys.exit(main())
