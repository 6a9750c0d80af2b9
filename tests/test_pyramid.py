"""The JAX pyramid against scikit-image's pyramid_gaussian."""

import jax
import numpy as np
import pytest
from scipy import ndimage
from skimage.transform import pyramid_gaussian

from deepdeblur_jax.models.pyramid import build_pyramid, gaussian_taps, level_shape


@pytest.mark.parametrize('shape', [(32, 48), (33, 47), (17, 16), (5, 7), (64, 64)])
def test_matches_skimage(shape):
  rng = np.random.default_rng(0)
  image = rng.random(shape + (3,))
  expected = list(pyramid_gaussian(image, max_layer=2, downscale=2, channel_axis=-1))
  got = jax.jit(lambda x: build_pyramid(x, 3))(image[None].astype(np.float32))
  assert len(got) == 3
  for level, (ref, out) in enumerate(zip(expected, got)):
    assert out.shape[1:3] == ref.shape[:2] == level_shape(shape, level)
    np.testing.assert_allclose(np.asarray(out[0]), ref, atol=1e-4, rtol=0)


def test_taps_match_reference_numbers():
  np.testing.assert_allclose(
      gaussian_taps(), [2.4e-5, 0.006646, 0.194216, 0.598228, 0.194216, 0.006646, 2.4e-5],
      atol=1e-6)


def test_hwc_input_and_even_level_is_blurred_2x2_mean():
  """For even sizes a level is the 2x2 mean of the previous level blurred with sigma 2/3
  (scipy's gaussian_filter, 'reflect' borders), on a non-constant image."""
  image = np.random.default_rng(1).random((16, 12, 3)).astype(np.float32)
  levels = build_pyramid(image, 2)
  assert levels[0].shape == (16, 12, 3) and levels[1].shape == (8, 6, 3)
  np.testing.assert_array_equal(np.asarray(levels[0]), image)
  blurred = ndimage.gaussian_filter(image.astype(np.float64), sigma=(2 / 3, 2 / 3, 0),
                                    mode='reflect', truncate=4.0)
  expected = blurred.reshape(8, 2, 6, 2, 3).mean(axis=(1, 3))
  assert np.ptp(expected) > 0.2
  np.testing.assert_allclose(np.asarray(levels[1]), expected, rtol=0, atol=1e-5)
  flat = np.full((16, 16, 3), 0.25, np.float32)  # blur of a constant is the constant
  np.testing.assert_allclose(np.asarray(build_pyramid(flat, 3)[2]), 0.25, atol=1e-6)


def test_rejects_zero_scales():
  with pytest.raises(ValueError, match='n_scales'):
    build_pyramid(np.zeros((4, 4, 3), np.float32), 0)
