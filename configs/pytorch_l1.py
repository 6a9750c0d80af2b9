"""The DeepDeblur-PyTorch recipe on GOPRO_Large `blur_gamma`.

  python -m deepdeblur_jax.main --config=configs/pytorch_l1.py --workdir=runs/pytorch_l1 \
      --config.data.root=/path/to/GOPRO_Large

Sum over scales of the mean L1 error on the [0, 255] scale, no adversarial term; Adam lr 1e-4
halved at epochs 500, 750 and 900 of 1000 (131 steps per epoch: 2103 pairs / batch 16);
batch 16 of 256x256 patches. DeepDeblur-PyTorch reports 30.40 dB PSNR / 0.9018 SSIM
(scikit-image SSIM) on the GOPRO test split.

Augmentation as DeepDeblur-PyTorch (src/data/common.py): crops at any pixel
(randrange(0, h - ps + 1)) and the saturation change on every patch, where configs/default.py
(the paper's Lua recipe) crops at multiples of 4 and changes saturation with p=0.1.
"""

import ml_collections

from configs import default

STEPS_PER_EPOCH = 131  # 2103 GOPRO_Large training pairs // batch 16


def get_config() -> ml_collections.ConfigDict:
  """Returns the DeepDeblur-PyTorch configuration."""
  config = default.get_config()
  config.model.rgb_range = 255.0
  config.data.crop_multiple = 1  # any pixel, as src/data/common.py crop()
  config.data.saturation_prob = 1.0  # always, as src/data/common.py augment()
  config.batch_size = 16
  config.content_loss = 'l1'
  config.adversarial_weight = 0.0
  config.learning_rate = 1e-4
  config.num_train_steps = 1000 * STEPS_PER_EPOCH
  config.lr_boundaries = tuple(e * STEPS_PER_EPOCH for e in (500, 750, 900))
  config.lr_multipliers = (0.5, 0.5, 0.5)
  config.checkpoint_every_steps = 10 * STEPS_PER_EPOCH
  config.eval_every_steps = 50 * STEPS_PER_EPOCH
  return config
