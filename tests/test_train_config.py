"""Training config fields: shipped configs are valid, bad values name the field."""

import importlib
import pathlib

import pytest

from configs import default
from deepdeblur_jax.config_validation import ConfigError, validate_config

SHIPPED_CONFIGS = sorted(p.stem for p in (pathlib.Path(__file__).parents[1] / 'configs').glob('*.py')
                         if p.stem != '__init__')


def test_every_config_is_checked():
  assert {'default', 'pytorch_l1', 'quickstart', 'real_cpu', 'real_gpu', 'tiny'} <= set(SHIPPED_CONFIGS)


@pytest.mark.parametrize('name', SHIPPED_CONFIGS)
def test_shipped_configs_are_valid(name):
  config = importlib.import_module(f'configs.{name}').get_config()
  if config.data.dataset != 'synthetic':  # the real datasets' folder comes from the user
    config.data.root = '/data/GOPRO_Large'
  validate_config(config)


@pytest.mark.parametrize('field,value', [
    ('num_train_steps', 0), ('learning_rate', -1.0), ('lr_boundaries', (10, 5)),
    ('lr_multipliers', (0.1, 0.1)), ('content_loss', 'huber'), ('adversarial_weight', -1.0),
    ('checkpoint_every_steps', 0), ('keep_checkpoints', -1), ('eval_every_steps', -1),
    ('log_every_steps', 0), ('adam_b2', 1.0), ('num_image_summaries', -2),
])
def test_bad_training_field_names_it(field, value):
  config = default.get_config()
  config.data.root = '/data/GOPRO_Large'
  config[field] = value
  with pytest.raises(ConfigError, match=f'config.{field} '):
    validate_config(config)
