"""Generator and discriminator: parameter counts, PixelShuffle order, shapes, dtypes, jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default, tiny
from deepdeblur_jax.models import Discriminator, create_generator, init_discriminator, init_generator
from deepdeblur_jax.models.discriminator import MIN_INPUT_SIZE
from deepdeblur_jax.models.factory import count_params
from deepdeblur_jax.models.layers import pixel_shuffle
from deepdeblur_jax.models.pyramid import build_pyramid


def _torch_pixel_shuffle_nchw(x: np.ndarray, r: int) -> np.ndarray:
  """PyTorch's documented order, written with explicit loops: out[c, r*h+i, r*w+j] = in[c*r*r + r*i + j, h, w]."""
  n, c, h, w = x.shape
  oc = c // (r * r)
  out = np.zeros((n, oc, h * r, w * r), x.dtype)
  for ch in range(oc):
    for i in range(r):
      for j in range(r):
        out[:, ch, i::r, j::r] = x[:, ch * r * r + r * i + j]
  return out


def test_pixel_shuffle_matches_pytorch_order():
  x = np.random.default_rng(0).random((2, 12, 3, 5)).astype(np.float32)  # NCHW
  expected = _torch_pixel_shuffle_nchw(x, 2).transpose(0, 2, 3, 1)
  got = pixel_shuffle(jnp.asarray(x.transpose(0, 2, 3, 1)), 2)
  np.testing.assert_array_equal(np.asarray(got), expected)


def test_default_generator_parameter_count():
  model = create_generator(default.get_config().model)
  shapes = jax.eval_shape(lambda: init_generator(model, jax.random.key(0)))
  assert count_params(shapes) == 11_721_321
  assert len(jax.tree_util.tree_leaves(shapes)) == 244
  assert shapes['scale_0']['head']['kernel'].shape == (5, 5, 6, 64)
  assert shapes['scale_2']['head']['kernel'].shape == (5, 5, 3, 64)
  assert shapes['upsample_1']['conv']['kernel'].shape == (5, 5, 3, 12)


def test_discriminator_parameter_count_and_patch_output():
  disc = Discriminator()
  shapes = jax.eval_shape(lambda: init_discriminator(disc, jax.random.key(0)))
  assert count_params(shapes) == 10_725_216
  out = jax.eval_shape(lambda p, x: disc.apply({'params': p}, x), shapes,
                       jax.ShapeDtypeStruct((2, 256, 256, 3), jnp.float32))
  assert out.shape == (2, 1, 1, 1)
  out = jax.eval_shape(lambda p, x: disc.apply({'params': p}, x), shapes,
                       jax.ShapeDtypeStruct((1, 512, 384, 3), jnp.float32))
  assert out.shape == (1, 2, 1, 1)


def test_discriminator_rejects_small_input_naming_size():
  disc = Discriminator()
  with pytest.raises(ValueError, match='128x128'):
    jax.eval_shape(lambda: disc.init(jax.random.key(0), jnp.zeros((1, 128, 128, 3))))
  assert MIN_INPUT_SIZE == 193


@pytest.fixture(scope='module')
def tiny_model():
  model = create_generator(tiny.get_config().model)
  return model, init_generator(model, jax.random.key(0))


@pytest.mark.parametrize('hw', [(32, 32), (64, 48), (36, 20)])
def test_output_shapes_finest_first(tiny_model, hw):
  model, params = tiny_model
  x = jnp.asarray(np.random.default_rng(0).random((2,) + hw + (3,)), jnp.float32)
  outputs = model.apply({'params': params}, build_pyramid(x, 3))
  assert [o.shape for o in outputs] == [(2, hw[0] >> k, hw[1] >> k, 3) for k in range(3)]
  assert all(o.dtype == jnp.float32 for o in outputs)


def test_mismatched_pyramid_is_rejected(tiny_model):
  model, params = tiny_model
  with pytest.raises(ValueError, match='divisible'):
    model.apply({'params': params}, build_pyramid(jnp.zeros((1, 30, 30, 3)), 3))


def test_conv_transpose_upsampling_shapes():
  config = tiny.get_config().model
  config.upsample = 'conv_transpose'
  model = create_generator(config)
  params = init_generator(model, jax.random.key(1))
  assert params['upsample_1']['conv']['kernel'].shape == (3, 3, 3, 3)
  outputs = model.apply({'params': params}, build_pyramid(jnp.zeros((1, 16, 24, 3)), 3))
  assert outputs[0].shape == (1, 16, 24, 3)


def test_bfloat16_forward_close_to_float32(tiny_model):
  model, params = tiny_model
  bf16 = create_generator(tiny.get_config().model, dtype='bfloat16')
  x = jnp.asarray(np.random.default_rng(2).random((1, 32, 32, 3)), jnp.float32)
  pyr = build_pyramid(x, 3)
  ref = model.apply({'params': params}, pyr)
  out = bf16.apply({'params': params}, pyr)
  for r, o in zip(ref, out):
    assert o.dtype == jnp.float32
    rel = float(jnp.linalg.norm(o - r) / jnp.linalg.norm(r))
    assert rel < 1e-2, rel


def test_jit_equals_eager(tiny_model):
  model, params = tiny_model
  x = jnp.asarray(np.random.default_rng(3).random((1, 32, 32, 3)), jnp.float32)
  pyr = build_pyramid(x, 3)
  eager = model.apply({'params': params}, pyr)
  jitted = jax.jit(model.apply)({'params': params}, pyr)
  for e, j in zip(eager, jitted):
    np.testing.assert_allclose(np.asarray(e), np.asarray(j), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('rgb_range', [1.0, 255.0])
def test_mean_shift(tiny_model, rgb_range):
  """Zero weights give rgb_range/2 at every scale (the mean added back to the outputs); with zero
  biases the network is positively homogeneous in (input - rgb_range/2), so scaling the contrast
  of the input about rgb_range/2 scales the outputs' distance from rgb_range/2 alike (the mean
  subtracted from the inputs)."""
  _, params = tiny_model
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  model = create_generator(config)
  apply = jax.jit(lambda p, x: model.apply({'params': p}, build_pyramid(x, 3)))
  mean = rgb_range / 2
  x = jnp.asarray(np.random.default_rng(5).random((1, 16, 20, 3)) * rgb_range, jnp.float32)
  for out in apply(jax.tree.map(jnp.zeros_like, params), x):
    np.testing.assert_array_equal(np.asarray(out), np.float32(mean))
  no_bias = jax.tree_util.tree_map_with_path(
      lambda path, v: jnp.zeros_like(v) if path[-1].key == 'bias' else v, params)
  contrast = mean + 0.3 * (x - mean)
  for out, low in zip(apply(no_bias, x), apply(no_bias, contrast)):
    assert np.abs(np.asarray(out) - mean).mean() > 0.01 * rgb_range  # not trivially the mean
    np.testing.assert_allclose(np.asarray(low) - mean, 0.3 * (np.asarray(out) - mean),
                               rtol=0, atol=1e-5 * rgb_range)


def test_rgb_range_homogeneity(tiny_model):
  """A [0,255] model equals the [0,1] model scaled by 255 with biases divided by 255."""
  model, params = tiny_model
  config = tiny.get_config().model
  config.rgb_range = 255.0
  model255 = create_generator(config)
  params255 = jax.tree_util.tree_map_with_path(
      lambda path, v: v * 255.0 if path[-1].key == 'bias' else v, params)
  x = jnp.asarray(np.random.default_rng(4).random((1, 16, 16, 3)), jnp.float32)
  out1 = model.apply({'params': params}, build_pyramid(x, 3))
  out255 = model255.apply({'params': params255}, build_pyramid(x * 255.0, 3))
  for a, b in zip(out1, out255):
    np.testing.assert_allclose(np.asarray(b) / 255.0, np.asarray(a), atol=1e-4)
