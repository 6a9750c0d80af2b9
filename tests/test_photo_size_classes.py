"""deblur_photo's size classes (pad_to, tools/app.py --pad-to): one compiled program per class,
the photo cropped back in place, and no change for a photo already on the class grid."""

import numpy as np

from deepdeblur_jax.inference.deblur import make_deblur_fn
from deepdeblur_jax.inference.files import deblur_photo
from deepdeblur_jax.io.photos import Photo
from deepdeblur_jax.models import create_generator
from configs import tiny
from tests.tool_helpers import colour_mixing_params, colour_mixing_reference, random_params

RNG = np.random.default_rng(3)


def _photo(h: int, w: int) -> Photo:
  return Photo(RNG.random((h, w, 3)).astype(np.float32), None, 3, 8)


def _model():
  config = tiny.get_config().model
  config.rgb_range = 255.0
  return create_generator(config)


def test_sizes_of_one_class_share_one_compiled_program():
  model = _model()
  params = random_params(model, seed=1)
  fn = make_deblur_fn(model)
  before = fn._cache_size()  # pylint: disable=protected-access
  for h, w in ((33, 45), (40, 48), (47, 37)):  # all pad to 48x48
    deblur_photo(params, model, _photo(h, w), tile=(0, 0), pad_to=48)
  assert fn._cache_size() == before + 1  # pylint: disable=protected-access


def test_a_photo_on_the_class_grid_is_unchanged_and_crops_stay_in_place():
  model = _model()
  params = random_params(model, seed=2)
  photo = _photo(32, 64)
  np.testing.assert_array_equal(deblur_photo(params, model, photo, tile=(0, 0), pad_to=32),
                                deblur_photo(params, model, photo, tile=(0, 0)))
  # A per-pixel model: padding changes nothing, so a misplaced crop would show.
  mixing = colour_mixing_params(model)
  photo = _photo(21, 30)
  got = deblur_photo(mixing, model, photo, tile=(0, 0), pad_to=64)
  want = colour_mixing_reference(photo.rgb) * 255
  assert got.shape == (21, 30, 3) and np.abs(got - want).max() <= 0.5 + 1e-3
