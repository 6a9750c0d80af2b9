"""Smoke tests of bench/train_step.py, bench/inference.py and bench/learning_check.sh on the tiny
model (subprocess), and of the analytic FLOP accounting against an independent count from the
models' own conv kernels and output shapes."""

import json
import os
import pathlib
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from bench import flops
from bench.configs import load_config
from deepdeblur_jax.data import synthetic_scenes
from deepdeblur_jax.io import photos as image_io
from deepdeblur_jax.models import (Discriminator, create_generator, init_discriminator,
                                   init_generator)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _conv_macs(module, params, *args):
  """Sum over every nn.Conv of out_pixels * prod(kernel shape), from captured conv outputs
  (their shapes only: jax.eval_shape traces the model without computing it)."""
  _, state = jax.eval_shape(
      lambda p, *a: module.apply({'params': p}, *a,
                                 capture_intermediates=lambda mdl, _: isinstance(mdl, nn.Conv),
                                 mutable=['intermediates']), params, *args)
  kernels = {'/'.join(str(getattr(k, 'key', k)) for k in path[:-1]): leaf
             for path, leaf in jax.tree_util.tree_leaves_with_path(params)
             if str(getattr(path[-1], 'key', '')) == 'kernel'}
  outs = {'/'.join(str(k.key) for k in path if hasattr(k, 'key') and k.key != '__call__'): leaf
          for path, leaf in jax.tree_util.tree_leaves_with_path(state['intermediates'])}
  assert set(kernels) == set(outs), (sorted(kernels), sorted(outs))
  total = 0
  for name, kernel in kernels.items():
    out = outs[name]
    total += int(np.prod(out.shape[:-1])) * int(np.prod(kernel.shape))  # N*H*W * kh*kw*cin*cout
  return total


def _run(script, *args):
  env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS='cpu')
  proc = subprocess.run([sys.executable, str(ROOT / 'bench' / script), *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=240, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  line = next(l for l in proc.stdout.splitlines() if l.startswith('{'))
  return json.loads(line)


def test_generator_macs_match_independent_count():
  model_config = load_config('configs/tiny.py').model
  model = create_generator(model_config)
  params = init_generator(model, jax.random.key(0))
  h, w = 24, 40
  pyramid = [jnp.zeros((1, h >> k, w >> k, 3)) for k in range(model.n_scales)]
  assert flops.generator_macs_from_config(model_config, h, w) == _conv_macs(model, params, pyramid)


def test_default_generator_is_3906k_mac_per_pixel_per_scale():
  model_config = load_config('configs/default.py').model
  macs = flops.generator_macs_from_config(model_config, 720, 1280)
  pixels = sum((720 >> k) * (1280 >> k) for k in range(3))
  assert abs(macs / pixels - 3.906e6) / 3.906e6 < 1e-3
  assert abs(macs - 4.72e12) / 4.72e12 < 2e-3  # reference section 7: about 4.72 TMAC at 720p


def test_discriminator_macs_match_independent_count():
  disc = Discriminator()
  params = init_discriminator(disc, jax.random.key(0))
  for side in (256, 200):
    x = jnp.zeros((1, side, side, 3))
    assert flops.discriminator_macs(side, side) == _conv_macs(disc, params, x)


def test_train_step_benchmark_json_and_flops():
  result = _run('train_step.py', '--config', 'configs/tiny.py', '--batch', '2', '--patch', '32',
                '--repeats', '2', '--warmup', '1', '--steps', '2', '--peak-tflops', '100')
  assert result['benchmark'] == 'train_step'
  (row,) = result['rows']
  for key in ('median_s', 'step_s', 'throughput_step_s', 'patches_per_s', 'tflops',
              'pct_of_peak', 'torch_median_s', 'jax_over_torch_time', 'flops', 'loss_finite'):
    assert key in row, key
  assert row['batch'] == 2 and row['patch'] == 32 and row['adversarial'] is False
  assert row['loss_finite'] is True
  # Independent count: tiny model, 3x forward, 2 patches of 32x32, no discriminator.
  model_config = load_config('configs/tiny.py').model
  model = create_generator(model_config)
  params = init_generator(model, jax.random.key(0))
  pyramid = [jnp.zeros((2, 32 >> k, 32 >> k, 3)) for k in range(3)]
  assert row['flops'] == 2 * 3 * _conv_macs(model, params, pyramid)
  assert row['discriminator_flops'] == 0
  np.testing.assert_allclose(row['tflops'], row['flops'] / row['step_s'] / 1e12, rtol=1e-9)
  np.testing.assert_allclose(row['pct_of_peak'], row['tflops'], rtol=1e-9)  # peak 100
  np.testing.assert_allclose(row['patches_per_s'], 2 / row['step_s'], rtol=1e-9)


def test_inference_benchmark_json_and_flops():
  result = _run('inference.py', '--config', 'configs/tiny.py', '--sizes', '32x48',
                '--repeats', '2', '--warmup', '1')
  (row,) = result['rows']
  assert row['size'] == '32x48' and row['batch'] == 1
  model_config = load_config('configs/tiny.py').model
  model = create_generator(model_config)
  params = init_generator(model, jax.random.key(0))
  pyramid = [jnp.zeros((1, 32 >> k, 48 >> k, 3)) for k in range(3)]
  assert row['flops'] == 2 * _conv_macs(model, params, pyramid)
  assert row['jax_over_torch_time'] > 0


def test_adversarial_flops_count_discriminator():
  model_config = load_config('configs/default.py').model
  with_d = flops.train_step_flops(model_config, 4, 256, adversarial=True)
  without = flops.train_step_flops(model_config, 4, 256, adversarial=False)
  assert with_d['generator_flops'] == without['generator_flops']
  assert with_d['discriminator_flops'] == 4 * 2 * 8 * flops.discriminator_macs(256, 256)
  assert flops.peak_tflops('NVIDIA H100 80GB HBM3', 'bfloat16') == 989.0
  assert flops.peak_tflops('cpu', 'float32') is None


def test_learning_check_script_end_to_end(tmp_path):
  """bench/learning_check.sh (SMOKE: tiny model) trains, exports and evaluates on flat
  NAME_{blur,sharp}.png pairs like shared/samples/gopro_test; here pairs the project renders."""
  samples = tmp_path / 'samples'
  pairs = synthetic_scenes.render_sequence_pairs(np.random.default_rng(3), (64, 96), 2)
  for i, pair in enumerate(pairs):
    name = f'GOPR{i:04d}_11_00_{i:06d}'  # sequence GOPR000i_11_00, frame 00000i
    image_io.write_png(samples / f'{name}_blur.png', pair['blur'])
    image_io.write_png(samples / f'{name}_sharp.png', pair['sharp'])
  out = tmp_path / 'out'
  env = dict(os.environ, SMOKE='1', TRAIN_SECONDS='400', PYTHON=sys.executable,
             LC_SCRATCH=str(tmp_path / 'scratch'), JAX_PLATFORMS='cpu')
  proc = subprocess.run(['bash', 'bench/learning_check.sh', str(out), '6', str(samples)],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=500,
                        check=False)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
  assert 'step 6/6' in (out / 'train.log').read_text()
  results = {name: json.loads((out / f'{name}.json').read_text())
             for name in ('real_blur', 'real_model', 'synthetic_blur', 'synthetic_model')}
  # The staged pairs are the ones written above: the baseline equals scikit-image's PSNR.
  expected = np.mean([peak_signal_noise_ratio(p['sharp'], p['blur'], data_range=255)
                      for p in pairs])
  assert results['real_blur']['num_images'] == 2
  np.testing.assert_allclose(results['real_blur']['psnr'], expected, atol=1e-3)
  assert results['real_model']['num_images'] == 2
  assert results['real_model']['settings']['checkpoint'].endswith('run/export')
  assert results['synthetic_model']['num_images'] == results['synthetic_blur']['num_images'] > 0
  for result in results.values():
    assert np.isfinite(result['psnr']) and 0 < result['ssim'] <= 1
