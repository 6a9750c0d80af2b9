"""A small generator for real GOPRO blur on a CPU (bench/learning_check_real.sh).

DRAFT: being tuned (issue 13).
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  """Returns the real-data CPU configuration."""
  config = default.get_config()
  config.model.n_resblocks = 4
  config.model.n_feats = 32
  config.model.kernel_size = 3
  config.data.dataset = 'gopro_large'
  config.data.blur_key = 'blur'
  config.data.cache = True
  config.data.augment_saturation = False
  config.data.augment_noise = False
  config.batch_size = 4
  config.patch_size = 128
  config.content_loss = 'l1'
  config.adversarial_weight = 0.0
  config.num_train_steps = 100_000
  config.learning_rate = 1e-3
  config.lr_boundaries = ()
  config.lr_multipliers = ()
  config.checkpoint_every_steps = 200
  config.keep_checkpoints = 0
  config.eval_every_steps = 0
  config.log_every_steps = 50
  config.num_image_summaries = 0
  return config
