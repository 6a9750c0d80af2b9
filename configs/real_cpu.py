"""A small generator for real GOPRO blur on a few CPU cores (bench/learning_check_real.sh).

  bash bench/learning_check_real.sh --data ROOT --out DIR --minutes 40 --config configs/real_cpu.py
  # or on your own GOPRO_Large copy:
  python -m deepdeblur_jax.main --config=configs/real_cpu.py --workdir=runs/real_cpu \
      --config.data.root=/data/GOPRO_Large

3 scales of 3 ResBlocks x 16 features, 3x3 convs (about 1/180 of the paper's compute per
pixel), started as the identity map (config.generator_init='identity': every scale outputs its
blurry input, so training begins at the blurry PSNR instead of several dB below it and each
step learns a correction), batches of 4 128x128 crops of the linear `blur` frames, L1 content
loss, Adam at 1e-3, x0.3 at step 5000 and again at 6500, no adversarial term, flips and channel
permutations but no saturation or noise augmentation. Training is meant to be stopped by time
(SIGTERM saves), so num_train_steps is only an upper bound; the two rate steps are placed for
40 minutes on 2 idle cores (~2.9 steps/s: step 5000 at ~30 min, 6500 at ~38 min). On a slower
machine move them with --config.lr_boundaries. Checkpoints every 50 steps are all kept so that
earlier points of a run can be exported and compared.
Measured (2 idle cores, 40 min, 6718 steps): +0.49 dB on two real GOPRO test pairs;
docs/results.md.
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  """Returns the real-data CPU configuration."""
  config = default.get_config()
  config.model.n_resblocks = 3
  config.model.n_feats = 16
  config.model.kernel_size = 3
  config.generator_init = 'identity'
  config.data.dataset = 'gopro_large'
  config.data.blur_key = 'blur'
  config.data.cache = True
  config.data.augment_saturation = False
  config.data.augment_noise = False
  config.batch_size = 4
  config.patch_size = 128
  config.content_loss = 'l1'
  config.adversarial_weight = 0.0
  config.num_train_steps = 1_000_000
  config.learning_rate = 1e-3
  config.lr_boundaries = (5000, 6500)
  config.lr_multipliers = (0.3, 0.3)
  config.checkpoint_every_steps = 50
  config.keep_checkpoints = 0
  config.eval_every_steps = 0
  config.log_every_steps = 50
  config.num_image_summaries = 0
  return config
