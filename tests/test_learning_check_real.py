"""Smoke test of bench/learning_check_real.sh and bench/real_crops.py on pairs the project
renders, in the GOPRO_Large layout (ROOT/{train,test}/<SEQ>/{blur,sharp}/*.png)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from deepdeblur_jax.data import synthetic_scenes
from deepdeblur_jax.io import photos as image_io

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_learning_check_real_script_end_to_end(tmp_path):
  data = tmp_path / 'GOPRO_Large'
  train = synthetic_scenes.render_sequence_pairs(np.random.default_rng(1), (64, 96), 3)
  for i, pair in enumerate(train):
    for kind in ('blur', 'sharp'):
      image_io.write_png(data / 'train' / 'GOPR0001_00_00' / kind / f'{i:06d}.png', pair[kind])
  test = synthetic_scenes.render_sequence_pairs(np.random.default_rng(2), (64, 96), 2)
  for i, pair in enumerate(test):
    for kind in ('blur', 'sharp'):
      image_io.write_png(data / 'test' / f'GOPR{i + 2:04d}_11_00' / kind / '000001.png',
                         pair[kind])
  out = tmp_path / 'out'
  env = dict(os.environ, PYTHON=sys.executable, JAX_PLATFORMS='cpu')
  command = ['bash', 'bench/learning_check_real.sh', '--data', str(data), '--out', str(out),
             '--minutes', '8', '--config', 'configs/tiny.py',
             '--', '--config.num_train_steps=4', '--config.generator_init=identity']
  # A non-empty --out that is no earlier run is refused, not emptied.
  out.mkdir()
  (out / 'keep.txt').write_text('not a learning check')
  proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                        check=False)
  assert proc.returncode == 2 and 'choose another --out' in proc.stderr
  assert (out / 'keep.txt').exists()
  (out / 'keep.txt').unlink()
  proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=580,
                        check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert 'step 4/4' in (out / 'train.log').read_text()
  results = {p.stem: json.loads(p.read_text()) for p in out.glob('*.json')}
  assert set(results) == {'test_blur', 'test_model', 'train_blur', 'train_model'}
  for name, pairs in (('test', test), ('train', train)):
    expected = np.mean([peak_signal_noise_ratio(p['sharp'], p['blur'], data_range=255)
                        for p in pairs])
    np.testing.assert_allclose(results[f'{name}_blur']['psnr'], expected, atol=1e-3)
    assert results[f'{name}_model']['num_images'] == len(pairs)
    assert results[f'{name}_blur']['settings']['blur_key'] == 'blur'
  summary = (out / 'summary.txt').read_text()
  assert 'test pairs, end (step 4)' in summary and 'training frames, end (step 4)' in summary
  assert 'mean: PSNR' in summary and 'load average' in summary
  assert f'data: {data}' in summary
  # blur | output | sharp crops of a test pair from the run's outputs.
  proc = subprocess.run(
      [sys.executable, 'bench/real_crops.py', '--run', str(out), '--data', str(data),
       '--output', str(tmp_path / 'crops'), '--box', 'GOPR0003_11_00/000001.png:8,16,32'],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  strip = image_io.read_rgb_uint8(str(tmp_path / 'crops_GOPR0003_11_00.png'))
  assert strip.shape == (32, 3 * 32 + 2 * 4, 3)
  np.testing.assert_array_equal(strip[:, :32], test[1]['blur'][8:40, 16:48])
  np.testing.assert_array_equal(strip[:, -32:], test[1]['sharp'][8:40, 16:48])
  output = image_io.read_rgb_uint8(str(out / 'test_outputs' / 'GOPR0003_11_00' / '000001.png'))
  np.testing.assert_array_equal(strip[:, 36:68], output[8:40, 16:48])
