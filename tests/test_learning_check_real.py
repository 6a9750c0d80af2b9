"""Smoke test of bench/learning_check_real.sh on pairs the project renders, laid out like
shared/samples (gopro_train_mini/<SEQ>/{blur,sharp}/ and flat gopro_test/ pairs)."""

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
  samples = tmp_path / 'samples'
  train = synthetic_scenes.render_sequence_pairs(np.random.default_rng(1), (64, 96), 3)
  for i, pair in enumerate(train):
    for kind in ('blur', 'sharp'):
      image_io.write_png(samples / 'gopro_train_mini' / 'GOPR0001_00_00' / kind / f'{i:06d}.png',
                         pair[kind])
  test = synthetic_scenes.render_sequence_pairs(np.random.default_rng(2), (64, 96), 2)
  for i, pair in enumerate(test):
    for kind in ('blur', 'sharp'):
      image_io.write_png(samples / 'gopro_test' / f'GOPR{i + 2:04d}_11_00_000001_{kind}.png',
                         pair[kind])
  out = tmp_path / 'out'
  env = dict(os.environ, PYTHON=sys.executable, JAX_PLATFORMS='cpu')
  proc = subprocess.run(
      ['bash', 'bench/learning_check_real.sh', '--minutes', '8', '--config', 'configs/tiny.py',
       '--samples', str(samples), '--out', str(out),
       '--', '--config.num_train_steps=4', '--config.generator_init=identity'],
      cwd=ROOT, env=env, capture_output=True, text=True, timeout=580, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  # Links, not copies, into a GOPRO_Large layout.
  data = out / 'GOPRO_Large'
  assert (data / 'train' / 'GOPR0001_00_00' / 'blur').is_symlink()
  assert (data / 'test' / 'GOPR0002_11_00' / 'sharp' / '000001.png').is_symlink()
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
