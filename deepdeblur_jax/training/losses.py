"""Pure loss functions. Images are NHWC on the [0, rgb_range] scale."""

from typing import List, Sequence, Tuple

import jax
import jax.numpy as jnp
import optax


def per_scale_content_losses(outputs: Sequence[jnp.ndarray], targets: Sequence[jnp.ndarray],
                             kind: str) -> List[jnp.ndarray]:
  """Per-scale mean squared ('mse') or mean absolute ('l1') error, finest scale first."""
  if len(outputs) != len(targets):
    raise ValueError(f'{len(outputs)} outputs but {len(targets)} targets')
  if kind == 'mse':
    err = lambda d: jnp.mean(jnp.square(d))
  elif kind == 'l1':
    err = lambda d: jnp.mean(jnp.abs(d))
  else:
    raise ValueError(f"content loss must be 'mse' or 'l1', got {kind!r}")
  return [err(o.astype(jnp.float32) - t.astype(jnp.float32)) for o, t in zip(outputs, targets)]


def content_loss(outputs: Sequence[jnp.ndarray], targets: Sequence[jnp.ndarray],
                 kind: str) -> Tuple[jnp.ndarray, List[jnp.ndarray]]:
  """Multi-scale content loss and its per-scale terms.

  'mse' is the paper's 1/(2K) sum_k ||L_k - S_k||^2 / (c_k w_k h_k); 'l1' is DeepDeblur-PyTorch's
  sum over scales of the mean absolute error.
  """
  terms = per_scale_content_losses(outputs, targets, kind)
  total = sum(terms)
  if kind == 'mse':
    total = total / (2.0 * len(terms))
  return total, terms


def bce_with_logits(logits: jnp.ndarray, label: float) -> jnp.ndarray:
  """Mean binary cross-entropy of `logits` against a constant `label` (0 fake, 1 real)."""
  logits = logits.astype(jnp.float32)
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.full_like(logits, label)))


def discriminator_loss(real_logits: jnp.ndarray, fake_logits: jnp.ndarray
                       ) -> Tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
  """(total, real, fake) with real = BCE(D(real), 1) and fake = BCE(D(fake), 0)."""
  real = bce_with_logits(real_logits, 1.0)
  fake = bce_with_logits(fake_logits, 0.0)
  return real + fake, real, fake


def generator_adversarial_loss(fake_logits: jnp.ndarray) -> jnp.ndarray:
  """The generator's adversarial term BCE(D(fake), 1)."""
  return bce_with_logits(fake_logits, 1.0)


def mean_probability(logits: jnp.ndarray) -> jnp.ndarray:
  """Mean sigmoid probability of 'real' over a logit map."""
  return jnp.mean(jax.nn.sigmoid(logits.astype(jnp.float32)))
