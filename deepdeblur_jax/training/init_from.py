"""config.init_from: start training from the generator of an inference checkpoint (fine-tuning)."""

import os
from typing import Any, Mapping

import jax

from deepdeblur_jax.inference.checkpoint import (MODEL_FIELDS, CheckpointError,
                                              load_inference_checkpoint, read_checkpoint_config)
from deepdeblur_jax.config_validation import ConfigError
from deepdeblur_jax.io import storage


def init_from_path(config: Mapping[str, Any]) -> str:
  """The absolute path config.init_from names, or '' when the run starts from random weights."""
  path = str(config.get('init_from', '') or '')
  return storage.absolute(os.path.expanduser(path)) if path else ''


def load_init_params(config: Mapping[str, Any]) -> Any:
  """Float32 generator params of the checkpoint config.init_from, checked against config.model.

  Raises ConfigError naming config.init_from when the folder is missing or unreadable, or when
  one of the architecture fields (scales, blocks, features, kernel, upsampling, rgb_range)
  differs from config.model, with both values.
  """
  path = init_from_path(config)
  try:
    saved = read_checkpoint_config(path)['model']
  except CheckpointError as e:
    raise ConfigError(f'config.init_from={path!r} is not a usable inference checkpoint: {e}'
                      ) from e
  wanted = config['model']
  for field in MODEL_FIELDS:
    if saved[field] != type(saved[field])(wanted[field]):
      raise ConfigError(
          f'config.init_from={path!r} holds a generator with model.{field}={saved[field]!r} but '
          f'config.model.{field}={wanted[field]!r}; set config.model.{field} to match the '
          'checkpoint (or start without init_from)')
  try:
    _, params, _ = load_inference_checkpoint(path, dtype='float32')
  except CheckpointError as e:
    raise ConfigError(f'config.init_from={path!r} cannot be loaded: {e}') from e
  return jax.device_get(params)


def with_generator_params(state: Any, params: Any) -> Any:
  """`state` with the generator's params replaced by `params` and a fresh optimizer state."""
  generator = state.generator
  leaves = jax.tree.leaves(params)
  structure = jax.tree.structure(generator.params)
  if structure.num_leaves != len(leaves):
    raise ValueError(f'{len(leaves)} init_from params for {structure.num_leaves} generator params')
  params = jax.tree.unflatten(structure, [jax.numpy.asarray(x, jax.numpy.float32) for x in leaves])
  return state.replace(generator=generator.replace(params=params,
                                                   opt_state=generator.tx.init(params)))
