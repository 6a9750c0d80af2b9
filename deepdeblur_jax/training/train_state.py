"""Train state: a generator and an optional discriminator, each with its own Adam."""

from typing import Any, Mapping, Optional, Tuple

import flax.struct
import jax
import optax
from flax.training.train_state import TrainState

from deepdeblur_jax.models import Discriminator, create_generator, init_discriminator, init_generator
from deepdeblur_jax.models.factory import parse_dtype
from deepdeblur_jax.models.identity_init import identity_generator_params
from deepdeblur_jax.models.generator import MultiScaleGenerator


class DeblurTrainState(flax.struct.PyTreeNode):
  """Both networks' params and optimizer states; `discriminator` is None without the GAN term."""
  generator: TrainState
  discriminator: Optional[TrainState]

  @property
  def step(self) -> jax.Array:
    """Number of completed training steps."""
    return self.generator.step


def uses_discriminator(config: Mapping[str, Any]) -> bool:
  """True when the adversarial term is on (adversarial_weight > 0)."""
  return float(config['adversarial_weight']) > 0


def build_models(config: Mapping[str, Any]) -> Tuple[MultiScaleGenerator, Optional[Discriminator]]:
  """The generator and (when the adversarial term is on) the discriminator, in config.dtype;
  the generator rematerialises as config.remat says ('none' when the field is absent)."""
  generator = create_generator(config['model'], dtype=config['dtype'],
                               remat=config.get('remat', 'none'))
  discriminator = None
  if uses_discriminator(config):
    discriminator = Discriminator(dtype=parse_dtype(config['dtype']))
  return generator, discriminator


def learning_rate_schedule(config: Mapping[str, Any]) -> optax.Schedule:
  """Piecewise-constant rate: learning_rate times the product of multipliers of passed boundaries."""
  boundaries = [int(b) for b in config['lr_boundaries']]
  multipliers = [float(m) for m in config['lr_multipliers']]
  if len(boundaries) != len(multipliers):
    raise ValueError('lr_boundaries and lr_multipliers must have the same length')
  return optax.piecewise_constant_schedule(float(config['learning_rate']),
                                           dict(zip(boundaries, multipliers)))


def make_optimizer(config: Mapping[str, Any]) -> optax.GradientTransformation:
  """Adam (b1, b2, eps from the config) with the learning-rate schedule."""
  return optax.adam(learning_rate_schedule(config), b1=float(config['adam_b1']),
                    b2=float(config['adam_b2']), eps=float(config['adam_eps']))


def create_train_state(config: Mapping[str, Any], rng: jax.Array) -> DeblurTrainState:
  """Fresh float32 params and optimizer states from `rng` (same key => same state).

  config.generator_init 'identity' (default 'random') starts every scale at the identity map.
  """
  generator, discriminator = build_models(config)
  g_rng, d_rng = jax.random.split(rng)
  g_params = init_generator(generator, g_rng)
  if config.get('generator_init', 'random') == 'identity':
    g_params = identity_generator_params(g_params)
  g_state = TrainState.create(apply_fn=generator.apply, params=g_params,
                              tx=make_optimizer(config))
  d_state = None
  if discriminator is not None:
    d_state = TrainState.create(apply_fn=discriminator.apply,
                                params=init_discriminator(discriminator, d_rng),
                                tx=make_optimizer(config))
  return DeblurTrainState(generator=g_state, discriminator=d_state)


def abstract_train_state(config: Mapping[str, Any]) -> DeblurTrainState:
  """The state's shapes and dtypes (jax.ShapeDtypeStruct leaves) without allocating it."""
  return jax.eval_shape(lambda: create_train_state(config, jax.random.key(0)))
