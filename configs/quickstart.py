"""A small generator on the synthetic dataset: trains and evaluates on 2 CPU cores in minutes.

  make demo
  # = python -m deepdeblur_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

Generates the synthetic GOPRO-layout dataset on first use (64 training pairs, 16 test images of
256x256, in ~/.cache/deepdeblur_jax/synthetic or $DEEPDEBLUR_CACHE/synthetic), then trains a
3-scale generator with 2 ResBlocks of 16 features (3x3 convs) on batches of 4 64x64 patches
(L1 loss, Adam lr 2e-3, x0.25 after 6000 of 8000 steps).
Should reach (measured, deterministic for seed 0): 25.79 dB PSNR / 0.893 SSIM on the 16 synthetic
test images, against 24.30 dB / 0.876 for the blurry input; about 5 minutes in all on 2 idle CPU
cores (9 minutes with other jobs competing for them), data generation and compilation included.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  """Returns the quickstart configuration."""
  config = default.get_config()
  config.model.n_resblocks = 2
  config.model.n_feats = 16
  config.model.kernel_size = 3
  config.data.dataset = 'synthetic'
  config.data.cache = True
  config.data.saturation_prob = 1.0  # as measured above (the PyTorch recipe's)
  config.batch_size = 4
  config.patch_size = 64
  config.content_loss = 'l1'
  config.adversarial_weight = 0.0
  config.num_train_steps = 8000
  config.learning_rate = 2e-3
  config.lr_boundaries = (6000,)
  config.lr_multipliers = (0.25,)
  config.checkpoint_every_steps = 2000
  config.keep_checkpoints = 1
  config.eval_every_steps = 2000
  config.log_every_steps = 200
  config.num_image_summaries = 3
  return config
