"""Losses and the learning-rate schedule against NumPy references."""

import numpy as np
import pytest

from configs import default
from deepdeblur_jax.training import losses
from deepdeblur_jax.training.train_state import learning_rate_schedule


def _pyramids(seed=0):
  rng = np.random.default_rng(seed)
  shapes = [(2, 16, 16, 3), (2, 8, 8, 3), (2, 4, 4, 3)]
  return ([rng.random(s, dtype=np.float32) for s in shapes],
          [rng.random(s, dtype=np.float32) for s in shapes])


def test_mse_content_loss_matches_paper_formula():
  outputs, targets = _pyramids()
  total, terms = losses.content_loss(outputs, targets, 'mse')
  expected_terms = [np.sum((o - t) ** 2) / o.size for o, t in zip(outputs, targets)]
  np.testing.assert_allclose(terms, expected_terms, rtol=1e-5)
  np.testing.assert_allclose(total, sum(expected_terms) / (2 * 3), rtol=1e-5)


def test_l1_content_loss_is_sum_of_per_scale_means_on_255_scale():
  outputs, targets = _pyramids(1)
  outputs = [o * 255 for o in outputs]
  targets = [t * 255 for t in targets]
  total, terms = losses.content_loss(outputs, targets, 'l1')
  expected = [np.mean(np.abs(o - t)) for o, t in zip(outputs, targets)]
  np.testing.assert_allclose(terms, expected, rtol=1e-5)
  np.testing.assert_allclose(total, sum(expected), rtol=1e-5)


def test_unknown_content_loss_raises():
  outputs, targets = _pyramids()
  with pytest.raises(ValueError, match='huber'):
    losses.content_loss(outputs, targets, 'huber')


def _bce_reference(logits, label):
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  return np.mean(-(label * np.log(p) + (1 - label) * np.log(1 - p)))


def test_adversarial_losses_match_numpy_bce():
  rng = np.random.default_rng(2)
  real = rng.normal(size=(3, 2, 2, 1)).astype(np.float32)
  fake = rng.normal(size=(3, 2, 2, 1)).astype(np.float32)
  total, real_loss, fake_loss = losses.discriminator_loss(real, fake)
  np.testing.assert_allclose(real_loss, _bce_reference(real, 1.0), rtol=1e-5)
  np.testing.assert_allclose(fake_loss, _bce_reference(fake, 0.0), rtol=1e-5)
  np.testing.assert_allclose(total, real_loss + fake_loss, rtol=1e-6)
  np.testing.assert_allclose(losses.generator_adversarial_loss(fake), _bce_reference(fake, 1.0),
                             rtol=1e-5)
  np.testing.assert_allclose(losses.mean_probability(real), np.mean(1 / (1 + np.exp(-real))),
                             rtol=1e-5)


def test_bce_is_stable_for_large_logits():
  big = np.array([[[[80.0]]], [[[-80.0]]]], np.float32)
  assert np.isfinite(float(losses.bce_with_logits(big, 1.0)))
  np.testing.assert_allclose(losses.bce_with_logits(big, 1.0), 40.0, rtol=1e-4)


def test_schedules_of_the_paper_and_pytorch_recipes():
  paper = learning_rate_schedule(default.get_config())
  np.testing.assert_allclose([paper(0), paper(149_999), paper(150_000), paper(449_999)],
                             [5e-5, 5e-5, 5e-6, 5e-6], rtol=1e-6)
  from configs import pytorch_l1  # pylint: disable=g-import-not-at-top
  config = pytorch_l1.get_config()
  torch = learning_rate_schedule(config)
  steps = [500 * 131 - 1, 500 * 131, 750 * 131, 900 * 131, config.num_train_steps - 1]
  np.testing.assert_allclose([torch(s) for s in steps], [1e-4, 5e-5, 2.5e-5, 1.25e-5, 1.25e-5],
                             rtol=1e-6)
