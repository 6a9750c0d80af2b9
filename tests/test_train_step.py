"""The jitted train step on hand-made batches: update, NaN guard, adversarial order, bfloat16."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from _train_utils import tiny_config
from deepdeblur_jax.pyramid import build_pyramid
from deepdeblur_jax.training import losses
from deepdeblur_jax.training.sharding import make_mesh, replicate, shard_batch, to_host
from deepdeblur_jax.training.train_state import create_train_state
from deepdeblur_jax.training.train_step import make_train_step


def _batch(n, size, seed=0):
  rng = np.random.default_rng(seed)
  sharp = rng.random((n, size, size, 3), dtype=np.float32)
  blur = np.clip(sharp + 0.1 * rng.standard_normal(sharp.shape, dtype=np.float32), 0, 1)
  return {'blur': blur, 'sharp': sharp}


def _setup(config):
  mesh = make_mesh()
  state = replicate(create_train_state(config, jax.random.key(config.seed)), mesh)
  return mesh, state, make_train_step(config, mesh)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_one_step_updates_params_and_reports_metrics():
  config = tiny_config()
  mesh, state, step = _setup(config)
  before = _leaves(state.generator.params)
  state, metrics = step(state, shard_batch(_batch(2, 32), mesh))
  metrics = to_host(metrics)
  assert int(state.step) == 1
  assert bool(metrics['finite'])
  assert {'loss', 'content_loss', 'content_loss_scale0', 'content_loss_scale2', 'learning_rate',
          'g_grad_norm'} <= set(metrics)
  assert state.discriminator is None and not any(k.startswith('d_') for k in metrics)
  np.testing.assert_allclose(metrics['learning_rate'], config.learning_rate)
  np.testing.assert_allclose(metrics['loss'], metrics['content_loss'])
  changed = [not np.array_equal(a, b) for a, b in zip(before, _leaves(state.generator.params))]
  assert all(changed)


def test_step_loss_matches_direct_computation():
  config = tiny_config(content_loss='l1')
  mesh, state, step = _setup(config)
  batch = _batch(2, 32, seed=3)
  model_params = jax.tree.map(np.asarray, state.generator.params)
  outputs = state.generator.apply_fn({'params': model_params},
                                     build_pyramid(jnp.asarray(batch['blur']), 3))
  expected, _ = losses.content_loss(outputs, build_pyramid(jnp.asarray(batch['sharp']), 3), 'l1')
  _, metrics = step(state, shard_batch(batch, mesh))
  np.testing.assert_allclose(to_host(metrics)['loss'], expected, rtol=1e-5)


def test_uint8_batch_equals_float_batch():
  config = tiny_config()
  batch = _batch(2, 32, seed=4)
  batch = {k: np.round(v * 255) / 255 for k, v in batch.items()}
  as_uint8 = {k: np.round(v * 255).astype(np.uint8) for k, v in batch.items()}
  mesh, state, step = _setup(config)
  _, m_float = step(state, shard_batch(batch, mesh))
  mesh, state, step = _setup(config)
  _, m_uint8 = step(state, shard_batch(as_uint8, mesh))
  np.testing.assert_allclose(to_host(m_float)['loss'], to_host(m_uint8)['loss'], rtol=1e-5)


def test_nan_batch_keeps_state_and_flags_it():
  config = tiny_config()
  mesh, state, step = _setup(config)
  state, _ = step(state, shard_batch(_batch(2, 32), mesh))
  before = _leaves(state)
  bad = _batch(2, 32, seed=1)
  bad['blur'][0, 3, 3, 0] = np.nan
  state, metrics = step(state, shard_batch(bad, mesh))
  assert not bool(to_host(metrics)['finite'])
  assert int(state.step) == 1
  for a, b in zip(before, _leaves(state)):
    np.testing.assert_array_equal(a, b)


def test_bfloat16_compute_keeps_float32_params_and_optimizer_state():
  config = tiny_config(dtype='bfloat16')
  mesh, state, step = _setup(config)
  state, metrics = step(state, shard_batch(_batch(2, 32), mesh))
  assert bool(to_host(metrics)['finite'])
  floats = [x for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.floating)]
  assert floats and all(x.dtype == jnp.float32 for x in floats)


def test_adversarial_step_updates_d_first_then_g_with_updated_d():
  """Reference computation with optax: D step on detached fakes, then G against the new D."""
  config = tiny_config(adversarial_weight=0.5, patch_size=196, learning_rate=1e-3)
  mesh, state, step = _setup(config)
  batch = _batch(1, 196, seed=5)
  g0, d0 = state.generator, state.discriminator
  g_params, d_params = jax.tree.map(np.asarray, (g0.params, d0.params))
  tx = optax.adam(1e-3)
  blur_p = build_pyramid(jnp.asarray(batch['blur']), 3)
  sharp_p = build_pyramid(jnp.asarray(batch['sharp']), 3)
  fake = g0.apply_fn({'params': g_params}, blur_p)[0]

  def d_loss(p):
    return losses.discriminator_loss(d0.apply_fn({'params': p}, sharp_p[0]),
                                     d0.apply_fn({'params': p}, fake))[0]

  d_grads = jax.grad(d_loss)(d_params)
  updates, _ = tx.update(d_grads, tx.init(d_params), d_params)
  d_new = optax.apply_updates(d_params, updates)

  def g_loss(p, d_p):
    outs = g0.apply_fn({'params': p}, blur_p)
    adv = losses.generator_adversarial_loss(d0.apply_fn({'params': d_p}, outs[0]))
    return losses.content_loss(outs, sharp_p, 'mse')[0] + 0.5 * adv

  expected_loss = g_loss(g_params, d_new)
  old_d_loss = g_loss(g_params, d_params)
  assert abs(float(expected_loss) - float(old_d_loss)) > 1e-6  # the test can tell the order

  new_state, metrics = step(state, shard_batch(batch, mesh))
  metrics = to_host(metrics)
  assert bool(metrics['finite'])
  np.testing.assert_allclose(metrics['loss'], expected_loss, rtol=1e-4)
  np.testing.assert_allclose(metrics['d_loss'], d_loss(d_params), rtol=1e-4)
  for key in ('d_real_loss', 'd_fake_loss', 'd_real_prob', 'd_fake_prob', 'adversarial_loss'):
    assert np.isfinite(metrics[key]), key
  # Adam's first step moves each weight by about +-lr (1e-3); weights with near-zero gradients
  # are sensitive to summation order, so allow 1e-4, which still tells a wrong update apart.
  for a, b in zip(_leaves(d_new), _leaves(new_state.discriminator.params)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_adversarial_config_with_small_patch_is_rejected():
  from deepdeblur_jax.config_validation import ConfigError, validate_config  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match='config.patch_size'):
    validate_config(tiny_config(adversarial_weight=1e-4))
