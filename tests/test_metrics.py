"""PSNR and SSIM against scikit-image."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from deepdeblur_jax.evaluation.metrics import image_metrics


@pytest.mark.parametrize('shape', [(48, 64), (31, 45)])
def test_matches_skimage(shape):
  rng = np.random.default_rng(0)
  sharp = rng.integers(0, 256, (2,) + shape + (3,)).astype(np.uint8)
  noisy = np.clip(sharp + rng.normal(0, 20, sharp.shape), 0, 255).astype(np.uint8)
  out = image_metrics(noisy / 255.0, sharp / 255.0)
  for i in range(2):
    ref_psnr = peak_signal_noise_ratio(sharp[i], noisy[i], data_range=255)
    ref_ssim = structural_similarity(sharp[i], noisy[i], channel_axis=-1, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False, data_range=255)
    assert abs(float(out['psnr'][i]) - ref_psnr) < 1e-3
    assert abs(float(out['ssim'][i]) - ref_ssim) < 1e-3


def test_clips_and_quantizes_like_a_saved_png():
  rng = np.random.default_rng(1)
  sharp = rng.integers(0, 256, (1, 32, 32, 3)).astype(np.uint8)
  raw = sharp / 255.0 + rng.normal(0, 0.05, sharp.shape)  # goes outside [0, 1]
  saved = np.floor(np.clip(raw, 0, 1) * 255 + 0.5).astype(np.uint8)  # official rule
  out = image_metrics(raw, sharp / 255.0)
  ref = peak_signal_noise_ratio(sharp[0], saved[0], data_range=255)
  assert abs(float(out['psnr'][0]) - ref) < 1e-3
  out255 = image_metrics(raw * 255.0, sharp.astype(np.float32), rgb_range=255.0)
  assert abs(float(out255['psnr'][0]) - ref) < 1e-3
