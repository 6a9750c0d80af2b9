"""bench/linear_baseline_real.py recovers a known filter and applies it as scipy.ndimage does."""

import pathlib
import sys

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench import linear_baseline_real  # noqa: E402
from deepdeblur_jax.io import photos  # noqa: E402


def _correct(blur: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
  """Independent reference: blur + sum over input channels of scipy's correlation + bias."""
  return blur + bias + np.stack(
      [sum(ndimage.correlate(blur[..., c_in], kernel[:, :, c_in, c_out], mode='constant')
           for c_in in range(3)) for c_out in range(3)], axis=-1)


def _write_frames(root: pathlib.Path, kernel: np.ndarray, bias: np.ndarray) -> None:
  rng = np.random.default_rng(0)
  for split, count in (('train', 3), ('test', 2)):
    for i in range(count):
      blur = rng.integers(90, 160, (40, 52, 3)).astype(np.uint8)
      sharp = _correct(blur / 255.0, kernel, bias)
      assert 0 < sharp.min() and sharp.max() < 1
      sharp_u8 = np.round(sharp * 255).astype(np.uint8)
      # GOPRO_Large layout: one training sequence of 3 frames, 2 test sequences of one frame.
      seq, frame = (('GOPR0001_00_00', i) if split == 'train' else (f'GOPR{i + 2:04d}_11_00', 1))
      photos.write_png(root / split / seq / 'blur' / f'{frame:06d}.png', blur)
      photos.write_png(root / split / seq / 'sharp' / f'{frame:06d}.png', sharp_u8)


def test_recovers_a_known_filter_and_applies_it_like_scipy(tmp_path, capsys):
  rng = np.random.default_rng(1)
  kernel = rng.normal(0, 0.01, (5, 5, 3, 3))
  bias = np.array([0.01, -0.02, 0.015])
  _write_frames(tmp_path, kernel, bias)
  train, test = (linear_baseline_real.load_pairs(pairs)
                 for pairs in linear_baseline_real.data_pairs(tmp_path))
  assert len(train) == 3 and len(test) == 2
  assert [name for name, _, _ in test] == ['GOPR0002_11_00/000001.png', 'GOPR0003_11_00/000001.png']
  fitted, fitted_bias = linear_baseline_real.fit_filter(train, 5, pixels_per_image=1500,
                                                        ridge=1e-9)
  # The only error left is the uint8 rounding of the sharp frames (std 0.0011).
  np.testing.assert_allclose(fitted, kernel, atol=4e-3)
  np.testing.assert_allclose(fitted_bias, bias, atol=4e-3)
  blur = rng.uniform(0.2, 0.8, (30, 33, 3))
  np.testing.assert_allclose(linear_baseline_real.apply_filter(blur, kernel, bias),
                             _correct(blur, kernel, bias), atol=1e-9)
  rows = linear_baseline_real.evaluate(test, fitted, fitted_bias)
  assert all(r['filtered'] > r['blurry'] + 10 for r in rows), rows
  assert linear_baseline_real.main(['--data', str(tmp_path), '--sizes', '3',
                                    '--pixels', '500']) == 0
  out = capsys.readouterr().out
  assert '3x3 filter, test pairs: mean gain +' in out and 'training frames' in out
  assert 'GOPR0002_11_00/000001.png' in out
