"""The jitted train step on hand-made batches: update, NaN guard, adversarial order, bfloat16."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from _train_utils import tiny_config
from deepdeblur_jax.models.pyramid import build_pyramid
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


def _adam_mismatch(expected, got, atol):
  """The fraction of weights further than `atol` from the reference, over all leaves."""
  bad = sum(int(np.sum(np.abs(a - b) > atol)) for a, b in zip(_leaves(expected), _leaves(got)))
  return bad / sum(a.size for a in _leaves(expected))


def test_two_steps_equal_an_optax_reference():
  """Params after two steps equal plain optax Adam on jax.grad of the content loss; the
  reported loss, gradient norm and learning rate equal the reference values."""
  config = tiny_config()
  mesh, state, step = _setup(config)
  params = jax.tree.map(np.asarray, state.generator.params)
  apply_fn = state.generator.apply_fn
  tx = optax.adam(config.learning_rate, b1=0.9, b2=0.999, eps=1e-8)  # lr constant for 2 steps
  opt_state = tx.init(params)

  def loss(p, batch):
    outs = apply_fn({'params': p}, build_pyramid(jnp.asarray(batch['blur']), 3))
    return losses.content_loss(outs, build_pyramid(jnp.asarray(batch['sharp']), 3),
                               config.content_loss)[0]

  loss_and_grad = jax.jit(jax.value_and_grad(loss))  # eager is slow on CPU
  for i in range(2):
    batch = _batch(2, 32, seed=10 + i)
    ref_loss, grads = loss_and_grad(params, batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    state, metrics = step(state, shard_batch(batch, mesh))
    metrics = to_host(metrics)
    assert int(state.step) == i + 1 and bool(metrics['finite'])
    assert state.discriminator is None and not any(k.startswith('d_') for k in metrics)
    assert {'content_loss_scale0', 'content_loss_scale2'} <= set(metrics)
    np.testing.assert_allclose(metrics['learning_rate'], config.learning_rate)
    np.testing.assert_allclose(metrics['loss'], ref_loss, rtol=1e-5)
    np.testing.assert_allclose(metrics['content_loss'], ref_loss, rtol=1e-5)
    np.testing.assert_allclose(metrics['g_grad_norm'], optax.tree.norm(grads), rtol=1e-4)
    # Adam moves each weight by about lr (1e-3) a step; near-zero gradients make a few weights
    # sensitive to summation order, so allow 1e-4 and one weight in 10^3 beyond it (measured: 0).
    assert _adam_mismatch(params, state.generator.params, 1e-4) < 1e-3


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
  fake = jax.jit(g0.apply_fn)({'params': g_params}, blur_p)[0]  # jitted: eager is slow on CPU

  @jax.jit
  def d_loss(p):
    return losses.discriminator_loss(d0.apply_fn({'params': p}, sharp_p[0]),
                                     d0.apply_fn({'params': p}, fake))[0]

  ref_d_loss, d_grads = jax.jit(jax.value_and_grad(d_loss))(d_params)
  updates, _ = tx.update(d_grads, tx.init(d_params), d_params)
  d_new = optax.apply_updates(d_params, updates)

  def g_loss(p, d_p):
    outs = g0.apply_fn({'params': p}, blur_p)
    adv = losses.generator_adversarial_loss(d0.apply_fn({'params': d_p}, outs[0]))
    return losses.content_loss(outs, sharp_p, 'mse')[0] + 0.5 * adv

  g_loss_and_grads = jax.jit(jax.value_and_grad(g_loss))  # one compile for both calls

  def g_update(d_p):
    """(G loss, G params after one Adam step) against discriminator params `d_p`."""
    loss, grads = g_loss_and_grads(g_params, d_p)
    updates, _ = tx.update(grads, tx.init(g_params), g_params)
    return loss, optax.apply_updates(g_params, updates)

  expected_loss, g_new = g_update(d_new)
  old_d_loss, g_old = g_update(d_params)
  assert abs(float(expected_loss) - float(old_d_loss)) > 1e-6  # the test can tell the order

  new_state, metrics = step(state, shard_batch(batch, mesh))
  metrics = to_host(metrics)
  assert bool(metrics['finite'])
  np.testing.assert_allclose(metrics['loss'], expected_loss, rtol=1e-4)
  np.testing.assert_allclose(metrics['d_loss'], ref_d_loss, rtol=1e-4)
  for key in ('d_real_loss', 'd_fake_loss', 'd_real_prob', 'd_fake_prob', 'adversarial_loss'):
    assert np.isfinite(metrics[key]), key
  # Adam's first step moves each weight by about +-lr (1e-3); weights with near-zero gradients
  # are sensitive to summation order, so allow 1e-4 and a few weights in 10^4 beyond it.
  assert _adam_mismatch(d_new, new_state.discriminator.params, 1e-4) < 1e-4
  # G's update uses the updated D: optax on the gradient of g_loss(., d_new), not (., d_old).
  # G's gradients are smaller and noisier (measured: 0.9% of weights beyond 1e-4 against d_new,
  # all with |gradient| < 1e-4, and 30% against d_old).
  assert _adam_mismatch(g_new, new_state.generator.params, 1e-4) < 0.02
  assert _adam_mismatch(g_old, new_state.generator.params, 1e-4) > 0.1


def test_adversarial_config_with_small_patch_is_rejected():
  from deepdeblur_jax.config_validation import ConfigError, validate_config  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match='config.patch_size'):
    validate_config(tiny_config(adversarial_weight=1e-4))
