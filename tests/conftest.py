"""Shared pytest fixtures."""

import pytest


@pytest.fixture(scope='session', autouse=True)
def synthetic_cache(tmp_path_factory):
  """Points DEEPDEBLUR_CACHE at a per-session temporary folder: synthetic datasets are made
  once per test session and never in the user's cache."""
  cache = str(tmp_path_factory.getbasetemp() / 'deepdeblur_cache')
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv('DEEPDEBLUR_CACHE', cache)
    yield cache
