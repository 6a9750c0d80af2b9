"""Bounded retries against an unreachable bucket (deepdeblur_jax/io/outage.py), without a server:
requests go to a local port nothing listens on."""

import socket
import time

import pytest
import tensorstore as ts

from deepdeblur_jax import cli_errors
from deepdeblur_jax.io import outage, storage
from deepdeblur_jax.training import checkpointing  # pylint: disable=unused-import  (bounds Orbax)
from tests.tool_helpers import free_port


@pytest.fixture
def dead_server(monkeypatch):
  """STORAGE_EMULATOR_HOST pointing at a port nothing listens on; a 3 s retry time."""
  port = free_port()
  url = f'http://127.0.0.1:{port}'
  monkeypatch.setenv('STORAGE_EMULATOR_HOST', url)
  monkeypatch.setenv('TENSORSTORE_GCS_HTTP_URL', url)
  monkeypatch.setenv('GOOGLE_AUTH_TOKEN_FOR_TESTING', 'emulator')
  monkeypatch.setenv('GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT', 'false')
  monkeypatch.setenv(outage.RETRY_SECONDS_ENV, '3')
  storage.filesystem().clear_instance_cache()
  yield port
  storage.filesystem().clear_instance_cache()
  outage._OUTAGE.set(False)  # pylint: disable=protected-access


def test_backoff_fits_the_retry_time():
  assert outage._delays(30) == [1, 2, 4, 8, 8]  # pylint: disable=protected-access
  assert outage._delays(0) == []  # pylint: disable=protected-access
  assert outage.tensorstore_retries(30)['max_retries'] == 6
  assert outage.retry_seconds({outage.RETRY_SECONDS_ENV: '12.5'}) == 12.5
  assert outage.retry_seconds({}) == outage.DEFAULT_RETRY_SECONDS


def test_gcsfs_gives_up_within_the_retry_time_then_tries_once(dead_server):
  start = time.monotonic()
  with pytest.raises(outage.StorageUnreachableError) as info:
    storage.read_bytes('gs://some-bucket/runs/x/metrics.json')
  first = time.monotonic() - start
  assert 2 <= first < 8, first  # 1 + 2 s of back-off (-25 %), not gcsfs's 34 s
  assert str(info.value) == (f'storage gs://some-bucket/runs/x/metrics.json unreachable: cannot '
                             f"connect to 127.0.0.1:{dead_server} (Connect call failed "
                             f"('127.0.0.1', {dead_server}))")
  start = time.monotonic()
  with pytest.raises(outage.StorageUnreachableError):
    storage.write_bytes('gs://some-bucket/runs/x/other.json', b'{}')
  assert time.monotonic() - start < 1  # during the outage: once, no retries
  try:
    raise RuntimeError('clean-up failed') from info.value
  except RuntimeError as e:  # the one-line message names the request that began the outage
    assert cli_errors.short_message(e) == str(info.value)


def test_a_server_that_never_answers_is_given_up_within_the_retry_time(monkeypatch):
  with socket.socket() as listener:  # accepts connections (the kernel's backlog), never answers
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    url = f'http://127.0.0.1:{listener.getsockname()[1]}'
    monkeypatch.setenv('STORAGE_EMULATOR_HOST', url)
    monkeypatch.setenv('GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT', 'false')
    monkeypatch.setenv(outage.RETRY_SECONDS_ENV, '3')
    storage.filesystem().clear_instance_cache()
    try:
      start = time.monotonic()
      with pytest.raises(outage.StorageUnreachableError, match='^storage gs://some-bucket/x.json '
                         'unreachable: no answer \\(Timeout on reading data from socket\\)$'):
        storage.read_bytes('gs://some-bucket/x.json')
      assert time.monotonic() - start < 8  # aiohttp alone waits 5 minutes
    finally:
      storage.filesystem().clear_instance_cache()
      outage._OUTAGE.set(False)  # pylint: disable=protected-access


def test_orbax_tensorstore_context_gives_up_within_the_retry_time(dead_server):
  from orbax.checkpoint._src.serialization import tensorstore_utils  # pylint: disable=g-import-not-at-top
  del dead_server
  context = tensorstore_utils.get_ts_context(use_ocdbt=True)
  store = ts.KvStore.open({'driver': 'gcs', 'bucket': 'some-bucket', 'path': 'runs/x/'},
                          context=context).result()
  start = time.monotonic()
  with pytest.raises(ValueError) as info:
    store.write('a', b'123').result()
  assert time.monotonic() - start < 10  # TensorStore alone: 32 retries of up to 32 s
  message = outage.unreachable_message(info.value, 'gs://some-bucket/runs/x')
  assert message.startswith('storage gs://some-bucket/runs/x unreachable: '), message
  assert 'Could not connect to server' in message, message


def test_other_errors_are_not_called_unreachable():
  assert outage.unreachable_message(ValueError('Invalid GCS bucket name: "b"')) is None
  assert outage.unreachable_message(FileNotFoundError('gs://b/x')) is None
