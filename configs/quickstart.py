"""A small generator on the synthetic dataset: trains and evaluates on 2 CPU cores in minutes.

  make demo
  # = python -m deepdeblur_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

Generates the synthetic GOPRO-layout dataset on first use (64 training pairs, 16 test images of
256x256, in ~/.cache/deepdeblur_jax/synthetic or $DEEPDEBLUR_CACHE/synthetic), then trains a
3-scale generator with 4 ResBlocks of 32 features (3x3 convs) on 64x64 patches.
Should reach: PSNR clearly above the blurry input on the synthetic test split (see README).
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  """Returns the quickstart configuration."""
  config = default.get_config()
  config.model.n_resblocks = 4
  config.model.n_feats = 32
  config.model.kernel_size = 3
  config.data.dataset = 'synthetic'
  config.data.cache = True
  config.batch_size = 8
  config.patch_size = 64
  config.content_loss = 'l1'
  config.adversarial_weight = 0.0
  config.num_train_steps = 1500
  config.learning_rate = 5e-4
  config.lr_boundaries = (1000,)
  config.lr_multipliers = (0.2,)
  config.checkpoint_every_steps = 500
  config.keep_checkpoints = 1
  config.eval_every_steps = 500
  config.log_every_steps = 50
  config.num_image_summaries = 3
  return config
