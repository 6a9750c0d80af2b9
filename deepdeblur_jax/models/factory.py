"""Builds and initialises the modules from a config."""

from typing import Any, Mapping

import jax
import jax.numpy as jnp

from deepdeblur_jax.models.discriminator import MIN_INPUT_SIZE, Discriminator
from deepdeblur_jax.models.generator import MultiScaleGenerator

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def parse_dtype(name: str) -> Any:
  """Maps a config dtype name ('float32' | 'bfloat16') to a JAX dtype."""
  if name not in DTYPES:
    raise ValueError(f'dtype must be one of {sorted(DTYPES)}, got {name!r}')
  return DTYPES[name]


def create_generator(model_config: Mapping[str, Any], dtype: str = 'float32',
                     remat: str = 'none') -> MultiScaleGenerator:
  """The generator described by a `config.model` dict, computing in `dtype`, with `remat`."""
  return MultiScaleGenerator(
      n_scales=int(model_config['n_scales']),
      n_resblocks=int(model_config['n_resblocks']),
      n_feats=int(model_config['n_feats']),
      kernel_size=int(model_config['kernel_size']),
      upsample=str(model_config['upsample']),
      rgb_range=float(model_config['rgb_range']),
      dtype=parse_dtype(dtype),
      remat=remat)


def init_generator(model: MultiScaleGenerator, rng: jax.Array) -> Any:
  """Float32 generator params (shapes do not depend on the image size)."""
  side = 2 ** (model.n_scales - 1) * 4
  pyramid = [jnp.zeros((1, side >> k, side >> k, 3), jnp.float32) for k in range(model.n_scales)]
  return jax.jit(model.init)(rng, pyramid)['params']


def init_discriminator(discriminator: Discriminator, rng: jax.Array) -> Any:
  """Float32 discriminator params."""
  x = jnp.zeros((1, MIN_INPUT_SIZE, MIN_INPUT_SIZE, 3), jnp.float32)
  return jax.jit(discriminator.init)(rng, x)['params']


def count_params(params: Any) -> int:
  """Number of scalars in a parameter tree."""
  return sum(int(x.size) for x in jax.tree_util.tree_leaves(params))
