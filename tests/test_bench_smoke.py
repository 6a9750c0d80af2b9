"""Smoke tests of bench/train_step.py, bench/inference.py and bench/gpu_suite.sh on the tiny
model and of bench/verify_data.py on frames the project renders (subprocess), and of the
analytic FLOP accounting against an independent count from the models' own conv kernels and
output shapes."""

import json
import os
import pathlib
import subprocess
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

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
  assert abs(macs - 4.72e12) / 4.72e12 < 2e-3  # about 4.72 TMAC for one 720p image


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


def test_gpu_suite_script_smoke(tmp_path):
  """bench/gpu_suite.sh with SMOKE=1 (tiny model and sizes) runs every row but the adversarial
  one and writes one JSON line each; with SECONDS=0 it skips every row."""
  out = tmp_path / 'suite'
  env = dict(os.environ, SMOKE='1', PYTHON=sys.executable, JAX_PLATFORMS='cpu')
  proc = subprocess.run(['bash', 'bench/gpu_suite.sh', str(out)], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=900, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  lines = [json.loads(l) for l in (out / 'gpu_suite.jsonl').read_text().splitlines()]
  rows = [(r['benchmark'], row['dtype'], row.get('batch'), row.get('adversarial'))
          for r in lines for row in r['rows']]
  assert rows == [('train_step', 'bfloat16', 2, False), ('inference', 'bfloat16', 1, None),
                  ('inference', 'bfloat16', 8, None), ('train_step', 'float32', 2, False),
                  ('inference', 'float32', 1, None), ('inference', 'float32', 8, None)]
  assert all(row['torch_median_s'] > 0 for r in lines for row in r['rows'])
  assert 'load average' in (out / 'env.log').read_text()
  proc = subprocess.run(['bash', 'bench/gpu_suite.sh', str(tmp_path / 'none'), '0'], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert proc.stdout.count('skipped: ') == 4
  assert not (tmp_path / 'none' / 'gpu_suite.jsonl').exists()
  proc = subprocess.run(['bash', 'bench/gpu_suite.sh'], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=60, check=False)
  assert proc.returncode == 2 and 'usage' in proc.stderr


def test_verify_data_benchmark_on_a_gopro_layout(tmp_path):
  """bench/verify_data.py --data ROOT counts the pairs of a GOPRO_Large-layout folder."""
  data = tmp_path / 'GOPRO_Large'
  for split, seqs, size in (('train', 2, (256, 264)), ('test', 1, (48, 64))):
    for s in range(seqs):  # training frames must hold a 256x256 patch (configs/default.py)
      pairs = synthetic_scenes.render_sequence_pairs(np.random.default_rng(s), size, 2)
      for i, pair in enumerate(pairs):
        for kind in ('blur', 'sharp'):
          image_io.write_png(data / split / f'GOPR{s:04d}_00_00' / kind / f'{i:06d}.png',
                             pair[kind])
  result = _run('verify_data.py', '--data', str(data), '--repeats', '1')
  assert result['benchmark'] == 'verify_data'
  assert {row['pairs'] for row in result['rows']} == {6}
  assert {row['images'] for row in result['rows']} == {12}
  assert all(row['median_s'] > 0 for row in result['rows'])
