"""A tiny model on a tiny synthetic dataset, for tests and smoke runs (seconds on a CPU).

  python -m deepdeblur_jax.main --config=configs/tiny.py --workdir=runs/tiny
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  """Returns the tiny test configuration."""
  config = default.get_config()
  config.model.n_resblocks = 1
  config.model.n_feats = 8
  config.model.kernel_size = 3
  config.data.dataset = 'synthetic'
  config.data.synthetic_train_sequences = 2
  config.data.synthetic_test_sequences = 1
  config.data.synthetic_pairs_per_sequence = 2
  config.data.synthetic_size = (64, 64)
  config.batch_size = 2
  config.patch_size = 32
  config.num_train_steps = 4
  config.learning_rate = 1e-3
  config.lr_boundaries = (2,)
  config.lr_multipliers = (0.5,)
  config.adversarial_weight = 0.0  # the discriminator needs patches >= 193 pixels
  config.checkpoint_every_steps = 2
  config.keep_checkpoints = 2
  config.eval_every_steps = 2
  config.log_every_steps = 1
  config.num_image_summaries = 1
  return config
