"""The persistent compilation cache: where it goes, that JAX stores programs there, the switches."""

import numpy as np
from PIL import Image

from _train_utils import run_python
from tests.tool_helpers import make_tiny_checkpoint, run_tool

_CODE = '''
import os, jax, jax.numpy as jnp
from deepdeblur_jax import compilation_cache
path = compilation_cache.enable()
print(path)
if path:
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)  # store even tiny programs
  jax.jit(lambda x: jnp.sin(x) * 2)(jnp.ones(3)).block_until_ready()
  print(sorted(os.listdir(path)))
'''


def test_enable_stores_programs_in_the_project_cache(tmp_path):
  result = run_python(['-c', _CODE], {'DEEPDEBLUR_CACHE': str(tmp_path / 'c'),
                                      'JAX_PLATFORMS': 'cpu'})
  assert result.returncode == 0, result.stderr[-2000:]
  path, entries = result.stdout.strip().splitlines()
  assert path == str(tmp_path / 'c' / 'jax_compilation_cache')
  assert any(name.endswith('-cache') for name in eval(entries)), entries  # pylint: disable=eval-used

  result = run_python(['-c', _CODE], {'DEEPDEBLUR_CACHE': str(tmp_path / 'c'),
                                      'JAX_COMPILATION_CACHE_DIR': str(tmp_path / 'mine'),
                                      'JAX_PLATFORMS': 'cpu'})
  assert result.stdout.splitlines()[0] == str(tmp_path / 'mine')  # the user's setting wins

  result = run_python(['-c', _CODE], {'DEEPDEBLUR_CACHE': str(tmp_path / 'off'),
                                      'DEEPDEBLUR_COMPILATION_CACHE': '0', 'JAX_PLATFORMS': 'cpu'})
  assert result.stdout.strip() == 'None' and not (tmp_path / 'off').exists()


def test_deblur_switch(tmp_path, monkeypatch):
  make_tiny_checkpoint(tmp_path / 'ckpt')
  Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / 'x.png')
  args = ('--checkpoint', tmp_path / 'ckpt', '--input', tmp_path / 'x.png')
  monkeypatch.setenv('DEEPDEBLUR_CACHE', str(tmp_path / 'cache'))
  result = run_tool('deblur', *args, '--output', tmp_path / 'a', '--no-compilation-cache')
  assert result.returncode == 0, result.stderr
  assert not (tmp_path / 'cache').exists()
  result = run_tool('deblur', *args, '--output', tmp_path / 'b')
  assert result.returncode == 0, result.stderr
  assert (tmp_path / 'cache' / 'jax_compilation_cache').is_dir()
