"""Chooses the input pipeline module named by config.data.loader."""

from types import ModuleType
from typing import Any, Callable

LOADERS = ('tf_data', 'grain')


def input_module(data: Any, warn: Callable[[str], None]) -> ModuleType:
  """`input_pipeline` (tf.data) or `grain_pipeline`, as `data.loader` says; 'tf_data' where
  TensorFlow is not installed falls back to grain, calling `warn` with one line. Both modules
  provide create_train_iterator and create_eval_iterator."""
  loader = data.get('loader', 'tf_data')
  if loader not in LOADERS:
    raise ValueError(f'config.data.loader must be one of {LOADERS}, got {loader!r}')
  if loader == 'tf_data':
    try:
      from deepdeblur_jax.data import input_pipeline  # pylint: disable=g-import-not-at-top
      return input_pipeline
    except ImportError as e:
      if 'tensorflow' not in str(e):
        raise
      warn("TensorFlow is not installed: using the grain input pipeline "
           "(config.data.loader='grain')")
  from deepdeblur_jax.data import grain_pipeline  # pylint: disable=g-import-not-at-top
  return grain_pipeline
