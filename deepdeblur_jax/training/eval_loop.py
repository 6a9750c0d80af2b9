"""Evaluation on the test split: PSNR/SSIM of the finest output and of the blurry input."""

from typing import Any, Dict, Iterable, List, Mapping, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from deepdeblur_jax.evaluation.metrics import image_metrics
from deepdeblur_jax.inference.deblur import make_deblur_fn
from deepdeblur_jax.models.generator import MultiScaleGenerator
from deepdeblur_jax.training.train_step import to_rgb_range

_KEYS = ('psnr', 'ssim', 'baseline_psnr', 'baseline_ssim')


def _sum_over_processes(values: np.ndarray) -> np.ndarray:
  if jax.process_count() == 1:
    return values
  return np.asarray(multihost_utils.process_allgather(values)).sum(axis=0)


def evaluate(params: Any, model: MultiScaleGenerator, examples: Iterable[Mapping[str, Any]],
             num_images_to_keep: int = 0) -> Tuple[Dict[str, float], List[np.ndarray]]:
  """Mean PSNR/SSIM over every process's `examples`, and a few blur | output | sharp images.

  `params` live on one local device (see sharding.local_copy); `examples` are this process's
  test images {'blur', 'sharp'} of shape (1, H, W, 3), float in [0, 1] or uint8. Metrics follow
  evaluation.metrics (clipped, quantised, peak 255); 'baseline_*' measure the blurry input.
  Every process must call this (the sums are all-gathered). Returns
  ({'psnr', 'ssim', 'baseline_psnr', 'baseline_ssim', 'num_images'}, images in [0, 1]).
  """
  deblur = make_deblur_fn(model)
  rgb_range = float(model.rgb_range)
  sums = np.zeros(len(_KEYS) + 1, np.float64)
  images: List[np.ndarray] = []
  for example in examples:
    blur = to_rgb_range(jnp.asarray(example['blur']), 1.0)
    sharp = to_rgb_range(jnp.asarray(example['sharp']), 1.0)
    output = deblur(params, blur * rgb_range) / rgb_range
    trained = image_metrics(output, sharp, 1.0)
    baseline = image_metrics(blur, sharp, 1.0)
    values = [trained['psnr'], trained['ssim'], baseline['psnr'], baseline['ssim']]
    sums[:-1] += [float(np.sum(np.asarray(v))) for v in values]
    sums[-1] += blur.shape[0]
    if len(images) < num_images_to_keep:
      row = np.concatenate([np.asarray(blur[0]), np.clip(np.asarray(output[0]), 0.0, 1.0),
                            np.asarray(sharp[0])], axis=1)
      images.append(row)
  sums = _sum_over_processes(sums)
  count = sums[-1]
  if count == 0:
    raise ValueError('the evaluation split has no images')
  metrics = {key: float(sums[i] / count) for i, key in enumerate(_KEYS)}
  metrics['num_images'] = int(count)
  return metrics, images
