"""Tiled deblurring: tile plans, blend weights, and agreement with the whole-image result."""

import itertools

import numpy as np
import pytest

from configs import tiny
from deepdeblur_jax.inference.tiling import auto_tile, deblur_array, ramp, tile_starts
from deepdeblur_jax.models import create_generator
from tests.tool_helpers import random_params


def test_tile_starts_cover_aligned_with_overlap():
  for size, tile, overlap in itertools.product(range(4, 200, 4), range(8, 96, 4), range(0, 64, 4)):
    if overlap >= tile:
      continue
    starts = tile_starts(size, tile, overlap, 4)
    length = min(tile, size)
    assert starts[0] == 0 and starts[-1] + length == size
    assert all(s % 4 == 0 for s in starts)
    assert all(0 < b - a <= length - overlap for a, b in zip(starts, starts[1:]))


def test_facing_ramps_sum_to_one():
  left = ramp(32, 0, 56, (0, 8))
  right = ramp(32, 24, 56, (8, 0))
  np.testing.assert_allclose(left[24:] + right[:8], 1.0)
  assert left[:24].min() == 1.0 and right[8:].min() == 1.0
  assert right[0] == 0.0 and left[-1] == 0.0


@pytest.fixture(scope='module')
def tiny_model():
  model = create_generator(tiny.get_config().model)
  return model, random_params(model)


def test_tiled_equals_whole_image(tiny_model):
  # Measured with the tiny model (1 ResBlock, 3x3) on a 100x140 image in [0, 1]: max
  # |tiled - whole| is 2.9e-4 (48px tiles, overlap 8), 1.6e-5 (64/32), 4.1e-6 (64x80/48),
  # 1.0e-6 (80/64). The default model (random weights, 256x320) gives 2.6e-4 at 128/64 and
  # 3.6e-5 at 192/96, i.e. < 0.1 uint8 level.
  model, params = tiny_model
  image = np.random.default_rng(0).random((100, 140, 3)).astype(np.float32)
  whole = deblur_array(params, model, image, tile=(0, 0))
  tiled = deblur_array(params, model, image, tile=(80, 80), overlap=64, batch=3)
  assert tiled.shape == whole.shape
  assert np.abs(tiled - whole).max() < 3e-6
  rough = deblur_array(params, model, image, tile=(48, 48), overlap=8)
  assert 1e-5 < np.abs(rough - whole).max() < 2e-3  # tiles really are separate pieces


def test_automatic_tiles_on_a_small_budget(tiny_model):
  model, params = tiny_model
  image = np.random.default_rng(1).random((40, 56, 3)).astype(np.float32)
  budget = 16 * 8 * 4 * 24 * 24  # room for a 24x24 tile
  out = deblur_array(params, model, image, budget_bytes=budget)
  whole = deblur_array(params, model, image, tile=(0, 0))
  assert out.shape == image.shape and 0 < np.abs(out - whole).max() < 1e-2


def test_auto_tile_budget():
  model = create_generator(dict(tiny.get_config().model, n_feats=64))
  assert auto_tile(1088, 1920, model, budget_bytes=8 << 30) is None  # 16 GiB accelerator
  assert auto_tile(720, 1280, model, budget_bytes=4 << 30) is None
  tile = auto_tile(4000, 6000, model, budget_bytes=4 << 30)
  assert tile == (1024, 1024)
