"""`python -m deepdeblur_jax.main` through subprocesses: tiny run, 2 devices == 1, bad config."""

import json
import os

import jax
import numpy as np

from _train_utils import run_python
from deepdeblur_jax.training import checkpointing

_TINY = ['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py']


def _run_main(workdir, cache, devices=1):
  env = {'DEEPDEBLUR_CACHE': cache, 'JAX_PLATFORMS': 'cpu',
         'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}'}
  result = run_python(_TINY + [f'--workdir={workdir}'], env)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def _params(workdir):
  params, _, step = checkpointing.restore_generator(str(workdir))
  return [np.asarray(x) for x in jax.tree.leaves(params)], step


def test_main_tiny_then_two_devices_match(tmp_path, synthetic_cache):
  one = tmp_path / 'one'
  _run_main(one, synthetic_cache, devices=1)
  metrics = json.loads((one / 'metrics.json').read_text())
  assert metrics['step'] == 4 and metrics['num_images'] == 2
  for key in ('psnr', 'ssim', 'baseline_psnr', 'baseline_ssim', 'minutes'):
    assert np.isfinite(metrics[key]), key
  assert sorted(os.listdir(one / 'checkpoints')) == ['2', '4']
  assert any(name.startswith('events') for name in os.listdir(one / 'tensorboard'))

  two = tmp_path / 'two'
  result = _run_main(two, synthetic_cache, devices=2)
  assert 'on 2 device(s)' in result.stderr
  a, step_a = _params(one)
  b, step_b = _params(two)
  assert step_a == step_b == 4
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)


def test_bad_config_field_stops_with_its_name(tmp_path):
  result = run_python(_TINY + [f'--workdir={tmp_path}', '--config.content_loss=huber'])
  assert result.returncode != 0
  assert 'config.content_loss' in result.stderr
  assert not (tmp_path / 'checkpoints').exists()


def test_batch_not_divisible_by_devices_names_batch_size(tmp_path, synthetic_cache):
  result = run_python(_TINY + [f'--workdir={tmp_path}', '--config.batch_size=3'],
                      {'XLA_FLAGS': '--xla_force_host_platform_device_count=2',
                       'DEEPDEBLUR_CACHE': synthetic_cache})
  assert result.returncode != 0
  assert 'config.batch_size' in result.stderr


def test_trains_without_tensorflow_on_grain(tmp_path, synthetic_cache):
  """Where TensorFlow is absent (a GPU machine, say) main trains on the Grain pipeline, with
  worker processes (data.num_workers=-1: one per CPU), saying so in one line."""
  code = ('import runpy, sys\n'
          "sys.modules['tensorflow'] = None\n"
          f"sys.argv = ['main', '--config=configs/tiny.py', '--workdir={tmp_path}']\n"
          "runpy.run_module('deepdeblur_jax.main', run_name='__main__')\n")
  result = run_python(['-c', code], {'DEEPDEBLUR_CACHE': synthetic_cache})
  assert result.returncode == 0, result.stderr[-3000:]
  assert ("TensorFlow is not installed: using the grain input pipeline "
          "(config.data.loader='grain')") in result.stderr
  assert 'leaked' not in result.stderr and 'Traceback' not in result.stderr
  metrics = json.loads((tmp_path / 'metrics.json').read_text())
  assert metrics['step'] == 4 and metrics['num_images'] == 2
