"""Shared pytest fixtures."""

import os

import pytest

# Imported before jax: with libtpu installed (requirements-tpu.txt, for tests/test_tpu_plan.py) on
# a machine without a TPU, deepdeblur_jax keeps JAX off the TPU back end (deepdeblur_jax/
# platforms.py), so the tests and the tools they start run on the CPU without libtpu's start-up
# noise. The TPU plans compile for compile-only devices and need no TPU back end.
import deepdeblur_jax  # pylint: disable=unused-import

# After the platform choice above: JAX reads JAX_PLATFORMS when it is imported.
import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
from jax.experimental.compilation_cache import compilation_cache as jax_cache  # pylint: disable=g-import-not-at-top,wrong-import-position

from deepdeblur_jax import compilation_cache  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(scope='session', autouse=True)
def synthetic_cache(tmp_path_factory):
  """Points DEEPDEBLUR_CACHE at a per-session temporary folder: synthetic datasets and compiled
  XLA programs (the entry points' persistent compilation cache) are made once per test session
  and never in the user's cache. The pytest-xdist workers (`make test`) share one folder, in the
  session's temporary root above each worker's own; datasets are renamed into place whole and JAX
  locks its cache folder, so workers can fill it at the same time."""
  base = tmp_path_factory.getbasetemp()
  if os.environ.get('PYTEST_XDIST_WORKER'):
    base = base.parent
  cache = str(base / 'deepdeblur_cache')
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv('DEEPDEBLUR_CACHE', cache)
    # The tests that train in this process share the entry points' cache too: the tiny train
    # and eval steps they build afresh compile once per session rather than once per test.
    compilation_cache.enable()
    yield cache


@pytest.fixture
def without_compilation_cache():
  """Turns the session's persistent compilation cache off for one test (JAX decides whether to
  use it once per process, hence the resets): the TPU plans read the compiler's memory and cost
  analyses, which must come from a fresh compile, never from an executable read back."""
  jax.config.update('jax_enable_compilation_cache', False)
  jax_cache.reset_cache()
  yield
  jax.config.update('jax_enable_compilation_cache', True)
  jax_cache.reset_cache()


# The slowest test files (about a minute or more each on 2 CPU cores), longest first. They are
# collected first so that the pytest-xdist workers (`make test`: -n 2, --maxschedchunk 1, one
# test at a time from the front) start them early and the short tests fill in around them,
# rather than one long file starting last and stretching the end of the run.
_SLOW_FIRST = (
    'test_multihost.py',
    'test_gcs_tools.py',
    'test_gcs_multihost.py',
    'test_bench_smoke.py',
    'test_gcs_workdir.py',
    'test_init_from.py',
    'test_remat.py',
    'test_notebook.py',
    'test_train_main.py',
    'test_learning_check_real.py',
    'test_tpu_plan.py',
    'test_train_step.py',
    'test_train_loop.py',
    'test_cli_errors.py',
)


def pytest_collection_modifyitems(items):
  """Moves the tests of `_SLOW_FIRST` to the front (in that order), the rest keep theirs."""
  rank = {name: i for i, name in enumerate(_SLOW_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope='session')
def gcs_server(tmp_path_factory):
  """A local GCS server (gcp-storage-emulator, tests/gcs_server.py) for this test session, with
  STORAGE_EMULATOR_HOST pointing this process at it; each test uses its own prefix
  (`gcs_prefix`). Subprocesses get the setting through `gcs_server.env()`."""
  from _gcs_utils import GcsServer  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.io import storage  # pylint: disable=g-import-not-at-top
  base = tmp_path_factory.mktemp('gcs')
  (base / 'data').mkdir()
  server = GcsServer(str(base / 'data'), str(base / 'server.log'))
  server.start()
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv('STORAGE_EMULATOR_HOST', server.url)
    for name in ('TENSORSTORE_GCS_HTTP_URL', 'GOOGLE_AUTH_TOKEN_FOR_TESTING',
                 'GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT'):
      mp.delenv(name, raising=False)
    storage.configure()
    try:
      yield server
    finally:
      server.stop()


@pytest.fixture(scope='session')
def gcs_tls_relay(gcs_server, tmp_path_factory):
  """TensorFlow's own GCS client (TFDS records, TensorBoard) pointed at `gcs_server` through
  tests/gcs_tls_relay.py; `tensorflow_gcs` sets its environment for one test."""
  from _gcs_utils import TlsRelay  # pylint: disable=g-import-not-at-top
  relay = TlsRelay(gcs_server, str(tmp_path_factory.mktemp('gcs_tls_relay')))
  relay.start()
  try:
    yield relay
  finally:
    relay.stop()


@pytest.fixture
def tensorflow_gcs(gcs_tls_relay, monkeypatch):
  """This process's TensorFlow reaches the local GCS server (and subprocesses with
  `gcs_tls_relay.env()`)."""
  for name, value in gcs_tls_relay.env().items():
    monkeypatch.setenv(name, value)
  return gcs_tls_relay


@pytest.fixture
def gcs_prefix(gcs_server, request):
  """gs://<test bucket>/<test name>: a fresh place in the bucket for one test."""
  from _gcs_utils import BUCKET  # pylint: disable=g-import-not-at-top
  del gcs_server
  name = ''.join(c if c.isalnum() or c in '-_' else '_' for c in request.node.name)
  return f'gs://{BUCKET}/{name}'
