"""config.remat: rematerialisation changes memory and FLOPs, never outputs or gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _train_utils import tiny_config
from deepdeblur_jax.config_validation import ConfigError, validate_config
from deepdeblur_jax.models import create_generator, init_generator
from deepdeblur_jax.models.generator import REMAT_MODES
from deepdeblur_jax.models.pyramid import build_pyramid
from deepdeblur_jax.training.sharding import make_mesh, replicate, shard_batch, to_host
from deepdeblur_jax.training.train_state import build_models, create_train_state
from deepdeblur_jax.training.train_step import make_train_step

MODEL = {'n_scales': 3, 'n_resblocks': 2, 'n_feats': 8, 'kernel_size': 3,
         'upsample': 'pixel_shuffle', 'rgb_range': 1.0}


def _loss_and_grads(remat):
  model = create_generator(MODEL, remat=remat)
  params = init_generator(model, jax.random.key(0))
  rng = np.random.default_rng(0)
  blur = build_pyramid(jnp.asarray(rng.random((2, 16, 16, 3), np.float32)), 3)
  sharp = build_pyramid(jnp.asarray(rng.random((2, 16, 16, 3), np.float32)), 3)

  def loss(p):
    outs = model.apply({'params': p}, blur)
    return sum(jnp.mean((o - s) ** 2) for o, s in zip(outs, sharp)), outs

  (value, outs), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
  forward = str(jax.make_jaxpr(lambda p: model.apply({'params': p}, blur))(params))
  return value, outs, grads, forward


def test_remat_modes_give_the_same_outputs_and_gradients():
  value0, outs0, grads0, jaxpr0 = _loss_and_grads('none')
  assert 'remat' not in jaxpr0
  for mode in ('resblock', 'scale'):
    value, outs, grads, jaxpr = _loss_and_grads(mode)
    # jax.checkpoint is really in the program: one per ResBlock (2 x 3 scales) or per scale.
    expected = 6 if mode == 'resblock' else 3
    assert jaxpr.count('remat2[') == expected, mode
    np.testing.assert_allclose(float(value), float(value0), rtol=1e-6)
    for a, b in zip(outs, outs0):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    # Same parameter tree (checkpoints stay interchangeable) and the same gradients.
    assert jax.tree.structure(grads) == jax.tree.structure(grads0)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads0)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_train_step_with_remat_equals_without():
  rng = np.random.default_rng(1)
  # The tiny config's own batch shape (2 patches of 32x32), so that 'none' is the train step the
  # other tests compile too (one compile per session with the persistent cache).
  batch = {'blur': rng.random((2, 32, 32, 3), np.float32),
           'sharp': rng.random((2, 32, 32, 3), np.float32)}
  results = {}
  for mode in ('none', 'scale'):
    config = tiny_config(remat=mode)
    assert build_models(config)[0].remat == mode
    mesh = make_mesh(jax.devices()[:1])
    state = replicate(create_train_state(config, jax.random.key(0)), mesh)
    state, metrics = make_train_step(config, mesh)(state, shard_batch(batch, mesh))
    results[mode] = (to_host(state.generator.params), float(metrics['loss']))
  np.testing.assert_allclose(results['scale'][1], results['none'][1], rtol=1e-6)
  for a, b in zip(jax.tree.leaves(results['scale'][0]), jax.tree.leaves(results['none'][0])):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_remat_is_validated_naming_the_field():
  for mode in REMAT_MODES:
    validate_config(tiny_config(remat=mode))
  with pytest.raises(ConfigError, match=r'config\.remat must be one of'):
    validate_config(tiny_config(remat='everything'))
  with pytest.raises(ValueError, match='remat must be one of'):
    create_generator(MODEL, remat='all').init(
        jax.random.key(0), [jnp.zeros((1, 16 >> k, 16 >> k, 3)) for k in range(3)])
