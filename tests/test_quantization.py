"""The official rounding rule (DeepDeblur-PyTorch `save_image`: add 0.5, clamp, cast to uint8)
against PyTorch itself, everywhere images are written or measured."""

import jax
import jax.numpy as jnp
import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio

from deepdeblur_jax import quantization
from deepdeblur_jax.evaluation.metrics import image_metrics, quantize
from deepdeblur_jax.io import photos as image_io
from deepdeblur_jax.io.photos import Photo, to_array


def _values() -> np.ndarray:
  """float32 on the [0, 255] scale: exact .5 ties, their neighbours, out of range, random."""
  ties = np.arange(256, dtype=np.float32) + 0.5
  near = np.concatenate([np.nextafter(ties, 0), np.nextafter(ties, 300)]).astype(np.float32)
  rng = np.random.default_rng(0)
  return np.concatenate([ties, near, np.float32([-7.5, -0.5, -0.2, 255.4, 255.5, 256.0, 900.0]),
                         rng.uniform(-10, 265, 2000).astype(np.float32)])


def _official(x: np.ndarray) -> np.ndarray:
  """DeepDeblur-PyTorch src/utils.py: output_img.add_(0.5).clamp_(0, 255) ... .to(torch.uint8)."""
  return torch.from_numpy(x.copy()).add_(0.5).clamp_(0, 255).to(torch.uint8).numpy()


def test_ties_go_up_like_the_official_code():
  x = _values()
  want = _official(x)
  np.testing.assert_array_equal(want[:256], np.arange(1, 257).clip(0, 255))  # .5 goes up
  np.testing.assert_array_equal(quantization.to_uint8(x), want)
  np.testing.assert_array_equal(image_io.round_to_uint8(x), want)
  np.testing.assert_array_equal(np.asarray(jax.jit(quantization.quantize)(jnp.asarray(x))), want)
  np.testing.assert_array_equal(np.asarray(quantize(jnp.asarray(x), 255.0)), want)
  assert not np.array_equal(np.round(x[:256]), want[:256])  # half-to-even would differ


def test_written_outputs_use_the_official_rule():
  x = _values()[:256 * 3].reshape(16, 16, 3)  # ties and their neighbours
  photo = Photo(rgb=np.zeros_like(x), alpha=None, channels=3, bit_depth=8)
  np.testing.assert_array_equal(to_array(x / np.float32(255.0), photo), _official(x))
  deep = Photo(rgb=np.zeros_like(x), alpha=None, channels=3, bit_depth=16)
  levels = np.float32([0.5, 1.5, 65534.5, 100.25, 100.75]) / np.float32(65535.0)
  np.testing.assert_array_equal(to_array(np.broadcast_to(levels[:, None, None], (5, 1, 3)), deep)[:, 0, 0],
                                [1, 2, 65535, 100, 101])


def test_metrics_measure_the_officially_written_image():
  rng = np.random.default_rng(1)
  sharp = rng.integers(0, 256, (1, 24, 24, 3)).astype(np.uint8)
  raw = (sharp.astype(np.float32) + rng.choice([-0.5, 0.5, 1.5], sharp.shape)).astype(np.float32)
  saved = _official(raw)
  out = image_metrics(jnp.asarray(raw), jnp.asarray(sharp, jnp.float32), 255.0)
  ref = peak_signal_noise_ratio(sharp[0], saved[0], data_range=255)
  assert abs(float(out['psnr'][0]) - ref) < 1e-4
