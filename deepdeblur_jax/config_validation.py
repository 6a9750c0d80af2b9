"""Checks a config before anything runs; a wrong value stops with a message naming the field."""

from typing import Any, Callable, Iterable

import ml_collections

from deepdeblur_jax.data.loaders import LOADERS
from deepdeblur_jax.data.readers import DATASETS, GOPRO_BLUR_KEYS
from deepdeblur_jax.models.factory import DTYPES
from deepdeblur_jax.models.generator import REMAT_MODES, UPSAMPLE_MODES


class ConfigError(ValueError):
  """A config field holds an invalid value; the message names the field."""


def _get(config: ml_collections.ConfigDict, field: str) -> Any:
  node = config
  for part in field.split('.'):
    if part not in node:
      raise ConfigError(f'config.{field} is missing')
    node = node[part]
  return node


def check(config: ml_collections.ConfigDict, field: str, ok: Callable[[Any], bool],
          expected: str) -> Any:
  """Returns config.<field>, raising ConfigError naming it unless `ok(value)`."""
  value = _get(config, field)
  try:
    good = ok(value)
  except (TypeError, ValueError):
    good = False
  if not good:
    raise ConfigError(f'config.{field} must be {expected}, got {value!r}')
  return value


def check_choice(config: ml_collections.ConfigDict, field: str, choices: Iterable[Any]) -> Any:
  """Returns config.<field>, raising ConfigError unless it is one of `choices`."""
  choices = tuple(choices)
  return check(config, field, lambda v: v in choices, f'one of {choices}')


def _is_int(v: Any) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def positive_int(v: Any) -> bool:
  """True for an int > 0."""
  return _is_int(v) and v > 0


def validate_model_config(config: ml_collections.ConfigDict) -> None:
  """Checks config.model (and config.dtype)."""
  check(config, 'model.n_scales', positive_int, 'an integer >= 1')
  check(config, 'model.n_resblocks', lambda v: _is_int(v) and v >= 0, 'an integer >= 0')
  check(config, 'model.n_feats', positive_int, 'an integer >= 1')
  check(config, 'model.kernel_size', lambda v: positive_int(v) and v % 2 == 1,
        'an odd integer >= 1')
  check_choice(config, 'model.upsample', UPSAMPLE_MODES)
  check_choice(config, 'model.rgb_range', (1.0, 255.0))
  check_choice(config, 'dtype', tuple(DTYPES))
  if 'remat' in config:
    check_choice(config, 'remat', REMAT_MODES)


CONTENT_LOSSES = ('mse', 'l1')
GENERATOR_INITS = ('random', 'identity')


def _is_number(v: Any) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_training_config(config: ml_collections.ConfigDict) -> None:
  """Checks the optimisation, loss, checkpoint and logging fields."""
  check(config, 'num_train_steps', positive_int, 'an integer >= 1')
  check(config, 'learning_rate', lambda v: _is_number(v) and v >= 0,
        'a number >= 0 (0 leaves the weights unchanged)')
  boundaries = check(config, 'lr_boundaries',
                     lambda v: all(positive_int(b) for b in v)
                     and list(v) == sorted(set(v)),
                     'a strictly increasing sequence of integers >= 1')
  check(config, 'lr_multipliers',
        lambda v: len(v) == len(boundaries) and all(_is_number(m) and m > 0 for m in v),
        f'a sequence of {len(boundaries)} numbers > 0 (one per lr_boundaries entry)')
  check(config, 'adam_b1', lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)')
  check(config, 'adam_b2', lambda v: _is_number(v) and 0 <= v < 1, 'a number in [0, 1)')
  check(config, 'adam_eps', lambda v: _is_number(v) and v > 0, 'a number > 0')
  check_choice(config, 'content_loss', CONTENT_LOSSES)
  weight = check(config, 'adversarial_weight', lambda v: _is_number(v) and v >= 0,
                 'a number >= 0 (0 disables the discriminator)')
  if weight > 0:
    from deepdeblur_jax.models.discriminator import MIN_INPUT_SIZE  # pylint: disable=g-import-not-at-top
    check(config, 'patch_size', lambda v: v >= MIN_INPUT_SIZE,
          f'>= {MIN_INPUT_SIZE} when adversarial_weight > 0 (the discriminator needs it; '
          'use 256, or set adversarial_weight=0)')
  check(config, 'checkpoint_every_steps', positive_int, 'an integer >= 1')
  check(config, 'keep_checkpoints', lambda v: _is_int(v) and v >= 0,
        'an integer >= 0 (0 keeps every checkpoint)')
  check(config, 'eval_every_steps', lambda v: _is_int(v) and v >= 0,
        'an integer >= 0 (0 evaluates only at the end)')
  check(config, 'log_every_steps', positive_int, 'an integer >= 1')
  check(config, 'num_image_summaries', lambda v: _is_int(v) and v >= 0, 'an integer >= 0')


OUTPUT_DTYPES = ('float32', 'uint8')


def _is_bool(v: Any) -> bool:
  return isinstance(v, bool)


def validate_data_config(config: ml_collections.ConfigDict) -> None:
  """Checks config.data: dataset, paths, augmentation and, for 'synthetic', its generator."""
  dataset = check_choice(config, 'data.dataset', DATASETS)
  root = check(config, 'data.root', lambda v: isinstance(v, str), 'a folder path (a string)')
  if dataset != 'synthetic' and not root:
    raise ConfigError(f'config.data.root must name the {dataset} dataset folder, got an empty '
                      "string (only data.dataset='synthetic' has a default location)")
  check_choice(config, 'data.blur_key', GOPRO_BLUR_KEYS)
  for field in ('data.train_split', 'data.eval_split'):
    check(config, field, lambda v: isinstance(v, str) and v, 'a non-empty split folder name')
  for field in ('data.cache', 'data.augment_flip', 'data.augment_rgb_permute',
                'data.augment_saturation', 'data.augment_noise', 'data.verify'):
    check(config, field, _is_bool, 'True or False')
  check(config, 'data.crop_multiple', positive_int, 'an integer >= 1')
  check(config, 'data.saturation_prob', lambda v: _is_number(v) and 0 <= v <= 1,
        'a probability in [0, 1]')
  check_choice(config, 'data.output_dtype', OUTPUT_DTYPES)
  check(config, 'data.num_parallel_calls', lambda v: _is_int(v) and (v == -1 or v >= 1),
        'an integer >= 1, or -1 for automatic')
  if 'loader' in config.data:
    check_choice(config, 'data.loader', LOADERS)
  if 'num_workers' in config.data:
    check(config, 'data.num_workers', lambda v: _is_int(v) and v >= -1,
          'an integer >= 0 (grain worker processes; 0 = threads in this process), or -1 for '
          'the CPU count')
  check(config, 'data.max_eval_images', lambda v: _is_int(v) and (v == -1 or v >= 1),
        'an integer >= 1, or -1 for every test image')
  if dataset == 'synthetic':
    check(config, 'data.synthetic_train_sequences', positive_int, 'an integer >= 1')
    check(config, 'data.synthetic_test_sequences', positive_int, 'an integer >= 1')
    check(config, 'data.synthetic_pairs_per_sequence', positive_int, 'an integer >= 1')
    check(config, 'data.synthetic_seed', _is_int, 'an integer')
    check(config, 'data.synthetic_motion_scale', lambda v: _is_number(v) and v > 0,
          'a number > 0 (1 = the default blur lengths)')
    patch = config.get('patch_size', 8)
    check(config, 'data.synthetic_size',
          lambda v: len(v) == 2 and all(_is_int(x) and x >= max(patch, 8) for x in v),
          f'(height, width), integers >= patch_size ({patch}) and >= 8')


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Checks every section the config has; raises ConfigError naming the first bad field."""
  validate_model_config(config)
  check(config, 'seed', _is_int, 'an integer')
  check(config, 'batch_size', positive_int, 'an integer >= 1')
  if 'init_from' in config:
    check(config, 'init_from', lambda v: isinstance(v, str),
          "an inference checkpoint folder (a string; '' = random initialisation)")
  if 'generator_init' in config:
    init = check_choice(config, 'generator_init', GENERATOR_INITS)
    if init != 'random' and config.get('init_from'):
      raise ConfigError(f"config.generator_init={init!r} and config.init_from both choose the "
                        "starting weights; set generator_init='random' to use init_from")
  multiple = 2 ** (config.model.n_scales - 1)
  check(config, 'patch_size', lambda v: positive_int(v) and v % multiple == 0,
        f'a positive integer divisible by 2**(model.n_scales-1) = {multiple}')
  if 'data' in config:
    validate_data_config(config)
  if 'num_train_steps' in config:
    validate_training_config(config)
