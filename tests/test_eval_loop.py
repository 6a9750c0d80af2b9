"""training.eval_loop.evaluate against scikit-image metrics of an independently run model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from configs import tiny
from deepdeblur_jax.models import create_generator
from deepdeblur_jax.models.pyramid import build_pyramid
from deepdeblur_jax.training.eval_loop import evaluate
from tests.tool_helpers import random_params

SHAPES = [(24, 32), (24, 32), (20, 16)]  # multiples of 4: the model runs unpadded


def _examples():
  """Three uint8 (blur, sharp) pairs (two sizes: each size compiles); blur is sharp plus noise."""
  rng = np.random.default_rng(0)
  pairs = []
  for h, w in SHAPES:
    sharp = rng.integers(30, 226, (h, w, 3), dtype=np.uint8)
    blur = np.clip(sharp + rng.normal(0, 12, sharp.shape), 0, 255).astype(np.uint8)
    pairs.append((blur, sharp))
  return pairs


def _skimage(output_u8, target_u8):
  psnr = peak_signal_noise_ratio(target_u8, output_u8, data_range=255)
  ssim = structural_similarity(target_u8, output_u8, channel_axis=-1, gaussian_weights=True,
                               sigma=1.5, use_sample_covariance=False, data_range=255)
  return psnr, ssim


def _to_uint8(x01):
  """Clip and round to uint8 levels (output values are never exactly half a level)."""
  return np.round(np.clip(x01, 0.0, 1.0) * 255.0).astype(np.uint8)


@pytest.mark.parametrize('rgb_range, dtype', [(1.0, 'float32'), (255.0, 'uint8')])
def test_evaluate_matches_scikit_image(rgb_range, dtype):
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  model = create_generator(config)
  # The [0, 1] model's weights with biases scaled to rgb_range: the same function up to scale.
  params = jax.tree_util.tree_map_with_path(
      lambda path, v: v * rgb_range if path[-1].key == 'bias' else v, random_params(model))
  pairs = _examples()
  examples = [{'blur': (b if dtype == 'uint8' else b / np.float32(255))[None],
               'sharp': (s if dtype == 'uint8' else s / np.float32(255))[None]}
              for b, s in pairs]
  metrics, images = evaluate(params, model, examples, num_images_to_keep=2)

  expected = {'psnr': [], 'ssim': [], 'baseline_psnr': [], 'baseline_ssim': []}
  outputs = []
  run = jax.jit(lambda x: model.apply({'params': params}, build_pyramid(x, 3))[0])  # eager: slow
  for blur, sharp in pairs:
    x = jnp.asarray(blur[None], jnp.float32) * (rgb_range / 255.0)
    output = np.asarray(run(x)[0]) / rgb_range
    outputs.append(output)
    psnr, ssim = _skimage(_to_uint8(output), sharp)
    base_psnr, base_ssim = _skimage(blur, sharp)
    for key, value in zip(expected, (psnr, ssim, base_psnr, base_ssim)):
      expected[key].append(value)
  assert metrics['num_images'] == len(pairs)
  assert set(metrics) == set(expected) | {'num_images'}
  for key, values in expected.items():
    np.testing.assert_allclose(metrics[key], np.mean(values), rtol=0, atol=2e-3, err_msg=key)
  assert metrics['psnr'] < metrics['baseline_psnr'] - 1  # random weights: the two differ

  assert len(images) == 2
  for row, (blur, sharp), output in zip(images, pairs, outputs):
    w = blur.shape[1]
    assert row.shape == (blur.shape[0], 3 * w, 3)
    np.testing.assert_allclose(row[:, :w], blur / 255.0, atol=1e-6)
    np.testing.assert_allclose(row[:, w:2 * w], np.clip(output, 0, 1), atol=1e-4)
    np.testing.assert_allclose(row[:, 2 * w:], sharp / 255.0, atol=1e-6)


def test_evaluate_rejects_an_empty_split():
  model = create_generator(tiny.get_config().model)
  with pytest.raises(ValueError, match='no images'):
    evaluate(random_params(model), model, [])
