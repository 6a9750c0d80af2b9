"""The training step: D update on detached fakes, then G update with the updated D (section 2)."""

import functools
from typing import Any, Callable, Dict, Mapping, Tuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from deepdeblur_jax.models.pyramid import build_pyramid
from deepdeblur_jax.training import losses
from deepdeblur_jax.training.sharding import batch_sharding, replicated_sharding
from deepdeblur_jax.training.train_state import DeblurTrainState, learning_rate_schedule

Metrics = Dict[str, jax.Array]


def to_rgb_range(images: jnp.ndarray, rgb_range: float) -> jnp.ndarray:
  """float32 images on [0, rgb_range] from uint8 [0, 255] or float [0, 1] images."""
  if images.dtype == jnp.uint8:
    return images.astype(jnp.float32) * (rgb_range / 255.0)
  return images.astype(jnp.float32) * rgb_range


def train_step(state: DeblurTrainState, batch: Mapping[str, jnp.ndarray], *, n_scales: int,
               rgb_range: float, content_kind: str, adversarial_weight: float,
               schedule: optax.Schedule) -> Tuple[DeblurTrainState, Metrics]:
  """One optimisation step on a batch {'blur', 'sharp'} (NHWC, [0,1] float or uint8).

  The generator runs once; its outputs (detached) update D first, then the content loss plus
  `adversarial_weight` * BCE(D_updated(fake), 1) updates G. If the loss or a gradient is not
  finite, the returned state equals the input state and metrics['finite'] is False.
  """
  blur_pyramid = build_pyramid(to_rgb_range(batch['blur'], rgb_range), n_scales)
  sharp_pyramid = build_pyramid(to_rgb_range(batch['sharp'], rgb_range), n_scales)
  g_state, d_state = state.generator, state.discriminator
  metrics: Metrics = {'learning_rate': schedule(g_state.step)}

  outputs, g_vjp = jax.vjp(lambda p: g_state.apply_fn({'params': p}, blur_pyramid),
                           g_state.params)
  finite = jnp.array(True)

  new_d_state = None
  if d_state is not None:
    fake = jax.lax.stop_gradient(outputs[0])

    def d_loss_fn(params):
      real_logits = d_state.apply_fn({'params': params}, sharp_pyramid[0])
      fake_logits = d_state.apply_fn({'params': params}, fake)
      total, real, fake_loss = losses.discriminator_loss(real_logits, fake_logits)
      return total, {'d_real_loss': real, 'd_fake_loss': fake_loss,
                     'd_real_prob': losses.mean_probability(real_logits),
                     'd_fake_prob': losses.mean_probability(fake_logits)}

    (d_loss, d_aux), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_state.params)
    new_d_state = d_state.apply_gradients(grads=d_grads)
    d_grad_norm = optax.tree.norm(d_grads)
    metrics.update(d_aux, d_loss=d_loss, d_grad_norm=d_grad_norm)
    finite &= jnp.isfinite(d_loss) & jnp.isfinite(d_grad_norm)

  def g_loss_fn(outs):
    content, terms = losses.content_loss(outs, sharp_pyramid, content_kind)
    aux = {'content_loss': content}
    aux.update({f'content_loss_scale{k}': t for k, t in enumerate(terms)})
    total = content
    if new_d_state is not None:
      adv = losses.generator_adversarial_loss(
          new_d_state.apply_fn({'params': new_d_state.params}, outs[0]))
      aux['adversarial_loss'] = adv
      total = total + adversarial_weight * adv
    return total, aux

  (g_loss, g_aux), output_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(outputs)
  (g_grads,) = g_vjp(output_grads)
  g_grad_norm = optax.tree.norm(g_grads)
  finite &= jnp.isfinite(g_loss) & jnp.isfinite(g_grad_norm)
  metrics.update(g_aux, loss=g_loss, g_grad_norm=g_grad_norm, finite=finite)

  new_state = DeblurTrainState(generator=g_state.apply_gradients(grads=g_grads),
                               discriminator=new_d_state)
  new_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old), new_state, state)
  return new_state, metrics


def make_train_step(config: Mapping[str, Any], mesh: Mesh
                    ) -> Callable[[DeblurTrainState, Mapping[str, jax.Array]],
                                  Tuple[DeblurTrainState, Metrics]]:
  """`train_step` for this config, jitted over `mesh`: batch split on 'data', state replicated.

  The state argument is donated: do not use it after the call.
  """
  step = functools.partial(
      train_step, n_scales=int(config['model']['n_scales']),
      rgb_range=float(config['model']['rgb_range']), content_kind=str(config['content_loss']),
      adversarial_weight=float(config['adversarial_weight']),
      schedule=learning_rate_schedule(config))
  replicated = replicated_sharding(mesh)
  return jax.jit(step, in_shardings=(replicated, batch_sharding(mesh)),
                 out_shardings=(replicated, replicated), donate_argnums=0)
