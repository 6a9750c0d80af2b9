"""Config validation names the bad field."""

import pytest

from configs import default, tiny
from deepdeblur_jax.config_validation import ConfigError, validate_config


def test_shipped_configs_are_valid():
  validate_config(default.get_config())
  validate_config(tiny.get_config())


@pytest.mark.parametrize('field,value,match', [
    ('model.n_scales', 0, 'config.model.n_scales'),
    ('model.kernel_size', 4, 'config.model.kernel_size'),
    ('model.upsample', 'bilinear', 'config.model.upsample'),
    ('model.rgb_range', 2.0, 'config.model.rgb_range'),
    ('dtype', 'float16', 'config.dtype'),
    ('patch_size', 250, 'config.patch_size'),
    ('batch_size', 0, 'config.batch_size'),
])
def test_bad_value_names_field(field, value, match):
  config = default.get_config()
  section, _, key = field.rpartition('.')
  (config[section] if section else config)[key] = value
  with pytest.raises(ConfigError, match=match):
    validate_config(config)
