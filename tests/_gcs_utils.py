"""The local GCS server of the bucket tests (tests/gcs_server.py in a subprocess)."""

import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKET = 'deepdeblur-test'


def bucket_names(url: str) -> list:
  """The sorted names in a bucket folder (gs://...)."""
  from deepdeblur_jax.io import storage  # pylint: disable=g-import-not-at-top
  return sorted(p.name for p in storage.path(url).iterdir())


class GcsServer:
  """gcp-storage-emulator on 127.0.0.1 keeping its objects in `data_dir`; `stop()` and `start()`
  again serve the same objects on the same port."""

  def __init__(self, data_dir: str, log_path: str):
    self.data_dir = data_dir
    self.log_path = log_path
    self.port = 0
    self.process = None

  @property
  def url(self) -> str:
    return f'http://127.0.0.1:{self.port}'

  def env(self) -> dict:
    """The environment a user sets to point every part of the project at this server."""
    return {'STORAGE_EMULATOR_HOST': self.url}

  def start(self) -> None:
    log = open(self.log_path, 'ab')  # pylint: disable=consider-using-with
    self.process = subprocess.Popen(
        [sys.executable, os.path.join(HERE, 'gcs_server.py'), '--data-dir', self.data_dir,
         '--bucket', BUCKET, '--port', str(self.port)],
        stdout=subprocess.PIPE, stderr=log, text=True)
    line = self.process.stdout.readline()
    if not line.startswith('port '):
      raise RuntimeError(f'the GCS server did not start: {open(self.log_path).read()[-2000:]}')
    self.port = int(line.split()[1])
    deadline = time.time() + 30
    while True:
      try:
        urllib.request.urlopen(f'{self.url}/storage/v1/b/{BUCKET}', timeout=5).read()
        return
      except OSError:
        if time.time() > deadline:
          raise

  def stop(self) -> None:
    if self.process is not None:
      self.process.kill()
      self.process.wait()
      self.process = None


class TlsRelay:
  """tests/gcs_tls_relay.py in a subprocess: TensorFlow's GCS client (`env()`) reaches `server`."""

  def __init__(self, server: GcsServer, certs: str):
    self.server = server
    self.certs = certs
    self.port = 0
    self.process = None

  def env(self) -> dict:
    """The environment for TensorFlow's GCS client (and the server's own, `server.env()`)."""
    import gcs_tls_relay  # pylint: disable=g-import-not-at-top
    return {**self.server.env(), **gcs_tls_relay.environ(self.port, self.certs)}

  def start(self) -> None:
    self.process = subprocess.Popen(
        [sys.executable, os.path.join(HERE, 'gcs_tls_relay.py'), '--upstream-port',
         str(self.server.port), '--certs', self.certs], stdout=subprocess.PIPE, text=True)
    line = self.process.stdout.readline()
    if not line.startswith('port '):
      raise RuntimeError('the TLS relay did not start')
    self.port = int(line.split()[1])

  def stop(self) -> None:
    if self.process is not None:
      self.process.kill()
      self.process.wait()
      self.process = None
