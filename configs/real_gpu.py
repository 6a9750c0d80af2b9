"""The full generator on real GOPRO blur for a few GPU minutes (bench/learning_check_real.sh).

  bash bench/learning_check_real.sh --data ROOT --out DIR --minutes 4 --config configs/real_gpu.py \
      --test-only
  # or on your own GOPRO_Large copy, on one GPU:
  python -m deepdeblur_jax.main --config=configs/real_gpu.py --workdir=runs/real_gpu \
      --config.data.root=/data/GOPRO_Large

The DeepDeblur-PyTorch recipe of configs/pytorch_l1.py (3 scales x 19 ResBlocks x 64 features,
5x5 convs, L1 on the [0, 255] scale, Adam 1e-4, batch 16 of 256x256, no adversarial term) in
bfloat16, on the linear `blur` frames, started as the identity map (config.generator_init =
'identity': training begins at the blurry PSNR), at a constant learning rate since training is
meant to be stopped by time (SIGTERM saves). Decoded frames are cached in memory (it is meant
for a few dozen frames). Measured results: docs/results.md.
"""

import ml_collections

from configs import pytorch_l1


def get_config() -> ml_collections.ConfigDict:
  """Returns the short real-data GPU configuration."""
  config = pytorch_l1.get_config()
  config.dtype = 'bfloat16'
  config.generator_init = 'identity'
  config.data.dataset = 'gopro_large'
  config.data.blur_key = 'blur'
  config.data.cache = True
  config.num_train_steps = 1_000_000
  config.lr_boundaries = ()
  config.lr_multipliers = ()
  config.checkpoint_every_steps = 1000
  config.keep_checkpoints = 0
  config.eval_every_steps = 0
  config.log_every_steps = 100
  config.num_image_summaries = 0
  return config
