"""Config validation names the bad field."""

import pytest

from configs import default, tiny
from deepdeblur_jax.config_validation import ConfigError, validate_config


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


@pytest.mark.parametrize('field,value,match', [
    ('dataset', 'gopro', 'config.data.dataset'),
    ('root', None, 'config.data.root'),
    ('blur_key', 'blurry', 'config.data.blur_key'),
    ('train_split', '', 'config.data.train_split'),
    ('cache', None, 'config.data.cache'),  # ConfigDict itself refuses other types
    ('augment_noise', None, 'config.data.augment_noise'),
    ('verify', None, 'config.data.verify'),
    ('crop_multiple', 0, 'config.data.crop_multiple'),
    ('saturation_prob', 1.5, 'config.data.saturation_prob'),
    ('output_dtype', 'float16', 'config.data.output_dtype'),
    ('num_parallel_calls', 0, 'config.data.num_parallel_calls'),
    ('max_eval_images', 0, 'config.data.max_eval_images'),
])
def test_bad_data_value_names_field(field, value, match):
  config = default.get_config()
  config.data.root = '/data/GOPRO_Large'
  config.data[field] = value
  with pytest.raises(ConfigError, match=match):
    validate_config(config)


def test_real_dataset_needs_a_root():
  config = default.get_config()  # gopro_large with root ''
  with pytest.raises(ConfigError, match='config.data.root must name the gopro_large'):
    validate_config(config)


@pytest.mark.parametrize('field,value,match', [
    ('synthetic_train_sequences', 0, 'config.data.synthetic_train_sequences'),
    ('synthetic_test_sequences', 0, 'config.data.synthetic_test_sequences'),
    ('synthetic_pairs_per_sequence', -1, 'config.data.synthetic_pairs_per_sequence'),
    ('synthetic_seed', None, 'config.data.synthetic_seed'),
    ('synthetic_motion_scale', 0.0, 'config.data.synthetic_motion_scale'),
    ('synthetic_size', (16, 16), r'config.data.synthetic_size.*patch_size \(32\)'),
    ('synthetic_size', (64,), 'config.data.synthetic_size'),
])
def test_bad_synthetic_value_names_field(field, value, match):
  config = tiny.get_config()  # synthetic, patch_size 32
  assert config.patch_size == 32
  config.data[field] = value
  with pytest.raises(ConfigError, match=match):
    validate_config(config)


def test_recipes_follow_the_reference_augmentation():
  """The paper's Lua code crops at multiples of 4 and changes saturation
  with p=0.1; DeepDeblur-PyTorch crops at any pixel and changes saturation always."""
  from configs import pytorch_l1  # pylint: disable=g-import-not-at-top
  paper, torch_recipe = default.get_config().data, pytorch_l1.get_config().data
  assert (paper.crop_multiple, paper.saturation_prob) == (4, 0.1)
  assert (torch_recipe.crop_multiple, torch_recipe.saturation_prob) == (1, 1.0)
  assert paper.verify and torch_recipe.verify
