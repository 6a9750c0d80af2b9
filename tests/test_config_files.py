"""Config files that import each other (`from configs import default`) load from any working
directory: deepdeblur_jax/config_files.py and `python -m deepdeblur_jax.main`."""

import os
import pathlib
import subprocess
import sys

from deepdeblur_jax import config_files

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_add_package_root_puts_the_package_parent_first(tmp_path, monkeypatch):
  package = tmp_path / 'somewhere' / 'myconfigs'
  package.mkdir(parents=True)
  (package / '__init__.py').write_text('')
  (package / 'base.py').write_text('VALUE = 7\n')
  (package / 'child.py').write_text('from myconfigs import base\n')
  monkeypatch.setattr(sys, 'path', list(sys.path))
  assert config_files.add_package_root(str(package / 'child.py')) == str(tmp_path / 'somewhere')
  assert sys.path[0] == str(tmp_path / 'somewhere')
  assert config_files.add_package_root(str(tmp_path / 'nothing.py')) is None
  (tmp_path / 'loose.py').write_text('')
  assert config_files.add_package_root(str(tmp_path / 'loose.py')) is None


def test_main_loads_an_absolute_config_path_from_another_directory(tmp_path):
  """From an empty working directory, with only the deepdeblur_jax package importable (as after
  `pip install`): configs/tiny.py imports configs/default.py, and the override applies."""
  site = tmp_path / 'site'
  site.mkdir()
  (site / 'deepdeblur_jax').symlink_to(REPO / 'deepdeblur_jax', target_is_directory=True)
  cwd = tmp_path / 'elsewhere'
  cwd.mkdir()
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['PYTHONPATH'] = str(site)
  env.setdefault('JAX_PLATFORMS', 'cpu')
  proc = subprocess.run(
      [sys.executable, '-m', 'deepdeblur_jax.main', f'--config={REPO / "configs" / "tiny.py"}',
       f'--workdir={tmp_path / "run"}', '--config.data.dataset=paired',
       f'--config.data.root={tmp_path / "missing"}', '--nocompilation_cache'],
      cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
  assert "No module named 'configs'" not in proc.stderr, proc.stderr[-3000:]
  assert 'data.root folder not found: ' + str(tmp_path / 'missing') in proc.stderr, \
      proc.stderr[-3000:]
