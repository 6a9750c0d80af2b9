"""Shared pytest fixtures."""

import glob
import importlib.util
import os

import pytest


def _keep_jax_off_an_absent_tpu() -> None:
  """With libtpu installed (requirements-tpu.txt, for tests/test_tpu_plan.py) on a machine with
  no TPU, JAX would try to open one at start-up (log noise on stderr, cloud metadata look-ups).
  The tests run on CPU then; TPU VMs, GPU plugins and an explicit JAX_PLATFORMS are left alone.
  The TPU plans compile for compile-only devices and need no TPU backend."""
  if 'JAX_PLATFORMS' in os.environ or importlib.util.find_spec('libtpu') is None:
    return
  if glob.glob('/dev/accel*') or glob.glob('/dev/vfio/[0-9]*'):
    return
  if importlib.util.find_spec('jax_plugins') is not None:  # a CUDA/ROCm plugin is installed
    return
  os.environ['JAX_PLATFORMS'] = 'cpu'


_keep_jax_off_an_absent_tpu()


@pytest.fixture(scope='session', autouse=True)
def synthetic_cache(tmp_path_factory):
  """Points DEEPDEBLUR_CACHE at a per-session temporary folder: synthetic datasets are made
  once per test session and never in the user's cache."""
  cache = str(tmp_path_factory.getbasetemp() / 'deepdeblur_cache')
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv('DEEPDEBLUR_CACHE', cache)
    yield cache
