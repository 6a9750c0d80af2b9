"""Deblurring arbitrary sizes: padding by edge replication, cropping back, no TensorFlow."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import tiny
from deepdeblur_jax.inference.deblur import deblur_image, make_deblur_fn
from deepdeblur_jax.models import create_generator, init_generator
from deepdeblur_jax.models.pyramid import build_pyramid


@pytest.fixture(scope='module')
def tiny_model():
  model = create_generator(tiny.get_config().model)
  return model, init_generator(model, jax.random.key(0))


@pytest.mark.parametrize('hw', [(21, 35), (32, 32), (1, 3)])
def test_any_size_equals_manual_pad_and_crop(tiny_model, hw):
  model, params = tiny_model
  image = np.random.default_rng(0).random(hw + (3,)).astype(np.float32)
  out = deblur_image(params, model, image)
  assert out.shape == image.shape
  ph, pw = (-(-hw[0] // 4) * 4, -(-hw[1] // 4) * 4)
  padded = np.pad(image, ((0, ph - hw[0]), (0, pw - hw[1]), (0, 0)), mode='edge')
  ref = model.apply({'params': params}, build_pyramid(jnp.asarray(padded[None]), 3))[0][0]
  np.testing.assert_allclose(out, np.asarray(ref)[:hw[0], :hw[1]], atol=1e-5)


def test_batch_equals_per_image_and_compile_cache(tiny_model):
  model, params = tiny_model
  images = np.random.default_rng(1).random((3, 13, 10, 3)).astype(np.float32)  # padded to 16x12
  out = deblur_image(params, model, images)
  assert out.shape == images.shape
  for image, batched in zip(images, out):
    np.testing.assert_allclose(batched, deblur_image(params, model, image), rtol=0, atol=1e-5)
  assert np.abs(out[0] - out[1]).max() > 1e-3  # the images are not all deblurred alike
  assert make_deblur_fn(model) is make_deblur_fn(model)


def test_rejects_non_rgb(tiny_model):
  model, params = tiny_model
  with pytest.raises(ValueError, match='3 channels'):
    deblur_image(params, model, np.zeros((8, 8, 4), np.float32))


def test_library_runs_without_tensorflow():
  code = (
      "import sys; sys.modules['tensorflow'] = None\n"
      "import jax, numpy as np\n"
      "from configs import tiny\n"
      "from deepdeblur_jax.models import create_generator, init_generator\n"
      "from deepdeblur_jax.inference.deblur import deblur_image\n"
      "m = create_generator(tiny.get_config().model)\n"
      "p = init_generator(m, jax.random.key(0))\n"
      "print(deblur_image(p, m, np.zeros((9, 10, 3), np.float32)).shape)\n")
  result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr
  assert '(9, 10, 3)' in result.stdout
