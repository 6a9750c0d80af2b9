"""The training recipe's augmentation in NumPy (no TensorFlow): crop, 8 dihedral transforms, RGB
permutation, saturation and noise on blur, drawn from a generator the caller seeds.

The grain pipeline (`grain_pipeline`) seeds it with `np.random.default_rng([seed, g])` for global
element g, so an element's patches are a pure function of (seed, g). The tf.data pipeline draws
the same distributions with stateless TF ops, so its crops differ.
"""

from typing import Any

import numpy as np

from deepdeblur_jax.io import photos


def scale_saturation(rgb: np.ndarray, factor: float) -> np.ndarray:
  """HSV saturation times `factor` (hue and value kept), unclipped S, RGB clipped to [0, 1].

  Equals RGB -> HSV, S *= factor, HSV -> RGB, clip (what `input_pipeline.adjust_saturation`
  does with TensorFlow), in closed form: with hue and V = max(R, G, B) fixed, every channel's
  distance below V scales with S, so each channel becomes V - factor * (V - channel).
  """
  # V = max(R, G, B) as two elementwise maxima: NumPy's max over a 3-long last axis is ~30x slower.
  v = np.maximum(np.maximum(rgb[..., 0:1], rgb[..., 1:2]), rgb[..., 2:3])
  return np.clip(v + np.float32(factor) * (rgb - v), 0.0, 1.0)


def augment(blur: np.ndarray, sharp: np.ndarray, rng: np.random.Generator, data_config: Any,
            patch_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Crops and augments one uint8 pair; returns float32 [0, 1] patches."""
  h, w = blur.shape[:2]
  if h < patch_size or w < patch_size:
    raise ValueError(f'image {h}x{w} smaller than patch_size={patch_size}')
  m = max(int(data_config.crop_multiple), 1)
  y = m * int(rng.integers((h - patch_size) // m + 1))
  x = m * int(rng.integers((w - patch_size) // m + 1))
  pair = np.stack([blur[y:y + patch_size, x:x + patch_size],
                   sharp[y:y + patch_size, x:x + patch_size]])  # uint8 until every copy is made
  if data_config.augment_flip:
    hflip, vflip, transpose = rng.random(3) < 0.5
    if hflip:
      pair = pair[:, :, ::-1]
    if vflip:
      pair = pair[:, ::-1]
    if transpose:
      pair = pair.transpose(0, 2, 1, 3)
  if data_config.augment_rgb_permute:
    pair = pair[..., rng.permutation(3)]
  pair = np.ascontiguousarray(pair).astype(np.float32) / np.float32(255.0)
  if data_config.augment_saturation and rng.random() < data_config.saturation_prob:
    pair = scale_saturation(pair, rng.uniform(0.5, 1.5))
  blur, sharp = pair[0], pair[1]
  if data_config.augment_noise:
    sigma = abs(rng.standard_normal()) * 2 / 255
    noise = rng.standard_normal(blur.shape, dtype=np.float32)
    blur = np.clip(blur + np.float32(sigma) * noise, 0.0, 1.0)
  return np.ascontiguousarray(blur), np.ascontiguousarray(sharp)


def to_output(x: np.ndarray, dtype: str) -> np.ndarray:
  """Float [0, 1] -> data.output_dtype ('float32', or 'uint8' by the quantization rule)."""
  if dtype == 'uint8':
    return photos.round_to_uint8(x * 255.0)
  if dtype == 'float32':
    return x.astype(np.float32)
  raise ValueError(f"data.output_dtype must be 'float32' or 'uint8', got {dtype!r}")
