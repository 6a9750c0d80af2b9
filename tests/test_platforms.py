"""deepdeblur_jax/platforms.py: with libtpu installed on a machine without a TPU, the entry points
start on the CPU without libtpu's start-up errors; an explicit JAX_PLATFORMS is never changed."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from deepdeblur_jax import platforms
from tool_helpers import make_tiny_checkpoint

REPO = pathlib.Path(__file__).resolve().parents[1]

# What libtpu and JAX print when JAX tries the TPU back end of a machine without a TPU.
TPU_NOISE = ('could not determine TPU accelerator type', 'unexpected worker hostname',
             'Source Location Trace', 'E0000 ', "Unable to initialize backend 'tpu'",
             'TPU_WORKER_HOSTNAMES', 'libtpu_lockfile')


@pytest.fixture
def no_tpu_with_libtpu(monkeypatch):
  monkeypatch.setattr(platforms, 'libtpu_installed', lambda environ=None: True)
  monkeypatch.setattr(platforms, 'tpu_present', lambda: False)
  monkeypatch.setattr(platforms, '_plugin_names', lambda: [])


def test_cpu_only_machine_skips_the_tpu(no_tpu_with_libtpu):
  environ = {}
  assert platforms.skip_absent_tpu(environ) == 'cpu'
  assert environ == {'JAX_PLATFORMS': 'cpu'}


@pytest.mark.parametrize('value', ['', 'tpu', 'cpu,tpu'])
def test_an_explicit_jax_platforms_is_left_alone(no_tpu_with_libtpu, value):
  environ = {'JAX_PLATFORMS': value}
  assert platforms.skip_absent_tpu(environ) is None
  assert environ == {'JAX_PLATFORMS': value}


def test_a_tpu_vm_is_left_alone(no_tpu_with_libtpu, monkeypatch):
  monkeypatch.setattr(platforms, 'tpu_present', lambda: True)
  environ = {}
  assert platforms.skip_absent_tpu(environ) is None and environ == {}


def test_without_libtpu_nothing_changes(no_tpu_with_libtpu, monkeypatch):
  monkeypatch.setattr(platforms, 'libtpu_installed', lambda environ=None: False)
  environ = {}
  assert platforms.skip_absent_tpu(environ) is None and environ == {}


@pytest.mark.parametrize('plugins,hardware,expected', [
    (['xla_cuda12'], True, 'cuda,cpu'),
    (['xla_cuda13'], False, 'cpu'),  # the plugin without a visible GPU: JAX would skip it too
    (['xla_rocm7'], True, 'rocm,cpu'),
    (['xla_cuda12', 'some_accelerator'], True, None),  # a plugin of unknown kind: hands off
])
def test_gpu_plugins_stay_available(no_tpu_with_libtpu, monkeypatch, plugins, hardware, expected):
  monkeypatch.setattr(platforms, '_plugin_names', lambda: plugins)
  monkeypatch.setattr(platforms, '_any_exists', lambda paths: hardware)
  environ = {}
  assert platforms.skip_absent_tpu(environ) == expected
  assert environ.get('JAX_PLATFORMS') == expected


def test_libtpu_found_through_tpu_library_path(monkeypatch):
  monkeypatch.setattr(platforms.importlib.util, 'find_spec', lambda name: None)
  assert platforms.libtpu_installed({'TPU_LIBRARY_PATH': '/opt/libtpu.so'})
  assert not platforms.libtpu_installed({})


needs_libtpu_without_tpu = pytest.mark.skipif(
    not platforms.libtpu_installed({}) or platforms.tpu_present(),
    reason='needs libtpu installed (pip install -r requirements-tpu.txt) on a machine without TPU')


def _run_quietly_checked(args, cwd):
  """Runs `python args` as a user would start it: no JAX_PLATFORMS; libtpu's lock file ignored
  so that libtpu, if JAX loaded it, would print its start-up errors even while another process
  holds the lock."""
  env = {k: v for k, v in os.environ.items() if k not in ('JAX_PLATFORMS', 'PYTHONPATH')}
  env.update(PYTHONPATH=str(REPO), ALLOW_MULTIPLE_LIBTPU_LOAD='1')
  proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                        text=True, timeout=300, check=False)
  noise = [line for line in proc.stderr.splitlines() if any(n in line for n in TPU_NOISE)]
  assert not noise, '\n'.join(noise)
  return proc


@needs_libtpu_without_tpu
def test_a_tool_starts_quietly_with_libtpu_installed(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ckpt')
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / 'in.png')
  proc = _run_quietly_checked([REPO / 'tools' / 'deblur.py', '--checkpoint', tmp_path / 'ckpt',
                               '--input', tmp_path / 'in.png', '--output', tmp_path / 'out',
                               '--no-compilation-cache'], REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (tmp_path / 'out' / 'in.png').is_file()


@needs_libtpu_without_tpu
def test_main_starts_quietly_with_libtpu_installed(tmp_path):
  proc = _run_quietly_checked(
      ['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py', f'--workdir={tmp_path / "run"}',
       '--config.data.dataset=paired', f'--config.data.root={tmp_path / "missing"}',
       '--nocompilation_cache'], REPO)
  # JAX started (it lists the devices), then the run stopped at the data check.
  assert 'devices: [CpuDevice' in proc.stderr, proc.stderr[-3000:]
  assert 'data.root folder not found' in proc.stderr, proc.stderr[-3000:]
