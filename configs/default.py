"""The paper's model and recipe: Nah, Kim, Lee, CVPR 2017, on GOPRO_Large `blur_gamma`.

Run (needs a local GOPRO_Large copy; see README "Train on GOPRO_Large"):

  python -m deepdeblur_jax.main --config=configs/default.py --workdir=runs/default \
      --config.data.root=/path/to/GOPRO_Large

K=3 scales, 19 ResBlocks of 5x5 convs, 64 features, conv+PixelShuffle upsampling;
multi-scale MSE content loss + 1e-4 adversarial loss; Adam lr 5e-5, /10 after 150k of 450k
steps; batch 4 of 256x256 patches. The paper reports 29.08 dB PSNR on the GOPRO test split.

Augmentation as the paper's Lua code: crop corners at multiples of 4,
8 dihedral transforms, RGB permutation, saturation change with p=0.1, noise on the blurry
input. configs/pytorch_l1.py is the DeepDeblur-PyTorch recipe instead: crops at any pixel and
the saturation change on every patch.
"""

import ml_collections


def get_model_config() -> ml_collections.ConfigDict:
  """The paper's generator (11,721,321 parameters)."""
  model = ml_collections.ConfigDict()
  model.n_scales = 3
  model.n_resblocks = 19
  model.n_feats = 64
  model.kernel_size = 5
  model.upsample = 'pixel_shuffle'  # 'pixel_shuffle' (released) | 'conv_transpose'
  model.rgb_range = 1.0  # 1.0 (mean 0.5) | 255.0 (mean 127.5)
  return model


def get_data_config() -> ml_collections.ConfigDict:
  """Dataset and augmentation fields."""
  data = ml_collections.ConfigDict()
  data.dataset = 'gopro_large'  # 'gopro_large' | 'reds' | 'paired' | 'synthetic'
  data.root = ''  # dataset root folder; for 'synthetic' the cache folder ('' = default)
  data.blur_key = 'blur_gamma'  # GOPRO_Large only: 'blur_gamma' | 'blur'
  data.train_split = 'train'
  data.eval_split = 'test'
  data.cache = False  # keep decoded images in memory after the first pass
  data.crop_multiple = 4  # crop corners at multiples of this: 4 (Lua/paper), 1 (PyTorch)
  data.augment_flip = True  # 8 dihedral transforms
  data.augment_rgb_permute = True
  data.augment_saturation = True  # S *= U(0.5, 1.5) in HSV
  data.saturation_prob = 0.1  # Lua/paper: p=0.1; PyTorch: 1.0 (always)
  data.augment_noise = True  # Gaussian noise on blur only, sigma = |N(0,1)| * 2/255
  data.output_dtype = 'float32'  # 'float32' | 'uint8'
  data.num_parallel_calls = -1  # -1 = tf.data.AUTOTUNE
  # Synthetic dataset (generated on first use when dataset == 'synthetic').
  data.synthetic_train_sequences = 8
  data.synthetic_test_sequences = 2
  data.synthetic_pairs_per_sequence = 8
  data.synthetic_size = (256, 256)
  data.synthetic_seed = 0
  data.synthetic_motion_scale = 1.0  # x every camera/object speed: blur lengths (1 = default)
  data.max_eval_images = -1  # -1 = every test image
  # Before step 1, decode every train and test image once and check sizes (data/verify.py);
  # False skips it (huge datasets: a bad file then stops the run when first read).
  data.verify = True
  return data


def get_config() -> ml_collections.ConfigDict:
  """Returns the paper's configuration."""
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.model = get_model_config()
  config.data = get_data_config()
  config.batch_size = 4  # global, divisible by the device count
  config.patch_size = 256  # divisible by 2**(n_scales - 1)
  # Inference checkpoint (tools/export.py, tools/convert_pytorch.py) whose generator starts the
  # run at step 0 (fine-tuning); '' = random initialisation. Not used when a run resumes.
  config.init_from = ''
  # Without init_from: 'random' (the paper) | 'identity' (every scale starts as the identity
  # map, zero-initialised residual branches; models/identity_init.py).
  config.generator_init = 'random'
  config.dtype = 'float32'  # compute dtype: 'float32' | 'bfloat16' (params stay float32)
  # Training memory: 'none' | 'resblock' | 'scale' recompute activations in the backward pass
  # (same result, less memory, more FLOPs; see docs/tpu.md).
  config.remat = 'none'
  # Optimisation (the paper's recipe).
  config.num_train_steps = 450_000
  config.learning_rate = 5e-5
  # Piecewise-constant schedule: from step lr_boundaries[i] on, the rate is multiplied by
  # lr_multipliers[i], cumulatively (as optax.piecewise_constant_schedule).
  config.lr_boundaries = (150_000,)
  config.lr_multipliers = (0.1,)
  config.adam_b1 = 0.9
  config.adam_b2 = 0.999
  config.adam_eps = 1e-8
  config.content_loss = 'mse'  # 'mse' (paper: 1/(2K) sum_k per-scale MSE) | 'l1' (PyTorch)
  config.adversarial_weight = 1e-4  # 0 disables the discriminator entirely
  # Checkpoints, evaluation and logging.
  config.checkpoint_every_steps = 5_000
  config.keep_checkpoints = 3  # keep the latest N checkpoints; 0 keeps them all
  config.eval_every_steps = 50_000  # 0: evaluate only at the end
  config.log_every_steps = 100
  config.num_image_summaries = 3  # test images written to TensorBoard as blur | output | sharp
  return config
