"""config.generator_init='identity': every scale of the generator starts as the identity map."""

import jax
import numpy as np
import pytest

from _train_utils import tiny_config
from deepdeblur_jax.config_validation import ConfigError, validate_config
from deepdeblur_jax.models import create_generator
from deepdeblur_jax.training.train_state import abstract_train_state, create_train_state


@pytest.mark.parametrize('kernel_size,upsample', [(3, 'pixel_shuffle'), (5, 'conv_transpose')])
def test_identity_init_returns_each_pyramid_level(kernel_size, upsample):
  config = tiny_config(generator_init='identity')
  config.model.kernel_size = kernel_size
  config.model.upsample = upsample
  params = create_train_state(config, jax.random.key(0)).generator.params
  rng = np.random.default_rng(0)
  # Any pyramid (levels need not be related): each output must equal its own input level.
  pyramid = [rng.random((2, 32 >> k, 40 >> k, 3)).astype(np.float32) for k in range(3)]
  outputs = create_generator(config.model).apply({'params': params}, pyramid)
  for out, level in zip(outputs, pyramid):
    np.testing.assert_allclose(np.asarray(out), level, atol=1e-6)
  # Only what the identity needs is fixed: the rest keeps its random initialisation.
  block = params['scale_0']['resblock_1']
  assert np.all(np.asarray(block['conv2']['kernel']) == 0)
  assert np.std(np.asarray(block['conv1']['kernel'])) > 0
  assert np.std(np.asarray(params['scale_0']['head']['kernel'])[..., 3:]) > 0
  # A resumed run builds the state abstractly (jax.eval_shape): the init must trace.
  abstract = abstract_train_state(config).generator.params
  assert jax.tree.map(lambda x: x.shape, abstract) == jax.tree.map(np.shape, params)


def test_generator_init_is_validated():
  with pytest.raises(ConfigError, match='config.generator_init'):
    validate_config(tiny_config(generator_init='zeros'))
  with pytest.raises(ConfigError, match='config.generator_init.*init_from'):
    validate_config(tiny_config(generator_init='identity', init_from='/some/checkpoint'))
