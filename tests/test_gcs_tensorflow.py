"""What goes through TensorFlow's own GCS client, against the local GCS server: the TFDS
builder's records with its data_dir (and its manual copy) in a bucket, and TensorBoard reading a
bucket run's events. TensorFlow always calls *.googleapis.com, so the tests reach the server
through tests/gcs_tls_relay.py (fixture `tensorflow_gcs`)."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import tensorflow_datasets as tfds

from _gcs_utils import bucket_names
from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
from deepdeblur_jax.io import storage
from deepdeblur_jax.training.metrics_writer import MetricsWriter
from tests.test_data_tfds import write_dummy_data
from tests.tool_helpers import free_port


def _examples(builder, split):
  """{name: example} of one split."""
  return {e['name'].decode(): e for e in tfds.as_numpy(builder.as_dataset(split=split))}


_PREPARE = """
import sys
import tensorflow_datasets as tfds
from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
builder = gopro_large_dataset_builder.Builder(data_dir=sys.argv[1])
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=sys.argv[2]))
print(sorted(builder.info.splits))
"""


def test_tfds_builder_prepares_into_a_bucket_and_reads_back(tmp_path, gcs_prefix, tensorflow_gcs):
  write_dummy_data(tmp_path / 'manual')
  local = gopro_large_dataset_builder.Builder(data_dir=str(tmp_path / 'tfds'))
  local.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(tmp_path / 'manual')))
  storage.filesystem().put(str(tmp_path / 'manual'), f'{gcs_prefix}/manual'[len('gs://'):],
                           recursive=True)

  # As a user's script does it (TFDS imported first, no setting but the server's), with both
  # folders in the bucket.
  env = {k: v for k, v in os.environ.items() if k != 'EPATH_USE_TF'}  # the project sets it
  result = subprocess.run([sys.executable, '-c', _PREPARE, f'{gcs_prefix}/tfds',
                           f'{gcs_prefix}/manual'], env={**env, **tensorflow_gcs.env()},
                          capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.splitlines()[-1] == "['test', 'train']"

  version = f'{gcs_prefix}/tfds/gopro_large/1.0.0'
  local_files = sorted(p.name for p in (tmp_path / 'tfds' / 'gopro_large' / '1.0.0').iterdir())
  assert bucket_names(version) == local_files  # records and metadata, no temporaries
  assert bucket_names(f'{gcs_prefix}/tfds/gopro_large') == ['1.0.0']
  records = [n for n in local_files if '.tfrecord-' in n]
  assert len(records) == 2
  for name in records:  # the records TensorFlow wrote hold the same examples as on a local disk
    assert len(storage.read_bytes(f'{version}/{name}')) == (
        tmp_path / 'tfds' / 'gopro_large' / '1.0.0' / name).stat().st_size

  reread = gopro_large_dataset_builder.Builder(data_dir=f'{gcs_prefix}/tfds')  # a later run
  for split in ('train', 'test'):
    want, got = _examples(local, split), _examples(reread, split)
    assert sorted(got) == sorted(want) and len(got) == {'train': 3, 'test': 2}[split]
    for name, example in got.items():
      for key in ('blur', 'blur_gamma', 'sharp'):
        np.testing.assert_array_equal(example[key], want[name][key], err_msg=f'{name} {key}')


def _get_json(url: str):
  with urllib.request.urlopen(url, timeout=10) as response:
    return json.load(response)


def test_tensorboard_reads_the_events_of_a_bucket_run(tmp_path, gcs_prefix, gcs_tls_relay):
  """`tensorboard --logdir gs://...` on the events a run writes into its bucket workdir (the
  writer of deepdeblur_jax.main), read through TensorFlow's GCS client (--load_fast=false: the
  default fast loader has a GCS client of its own, which cannot be pointed at a local server)."""
  pytest.importorskip('tensorboard', reason='pip install -r requirements-test.txt')
  logdir = f'{gcs_prefix}/run/tensorboard'
  writer = MetricsWriter(logdir, process_index=0)
  losses = {1: 0.5, 2: 0.25, 3: 0.125}
  for step, loss in losses.items():
    writer.write_scalars(step, {'train/loss': loss})
  writer.write_images(3, {'test/deblurred': np.full((8, 8, 3), 0.5, np.float32)})
  writer.close()

  port = free_port()
  with open(tmp_path / 'tensorboard.log', 'wb') as log:
    board = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'tensorboard.main', '--logdir', logdir, '--host', '127.0.0.1',
         '--port', str(port), '--load_fast=false'],
        env={**os.environ, **gcs_tls_relay.env()}, stdout=log, stderr=subprocess.STDOUT)
  base = f'http://127.0.0.1:{port}/data/plugin'
  try:
    deadline, tags = time.time() + 120, {}
    while not tags.get('.', {}).get('train/loss'):
      assert board.poll() is None, (tmp_path / 'tensorboard.log').read_text()[-3000:]
      assert time.time() < deadline, (tmp_path / 'tensorboard.log').read_text()[-3000:]
      time.sleep(1)
      try:
        tags = _get_json(f'{base}/scalars/tags')
      except OSError:
        continue
    points = _get_json(f'{base}/scalars/scalars?run=.&tag=train/loss')
    assert [(step, value) for _, step, value in points] == list(losses.items())
    images = _get_json(f'{base}/images/tags')
    assert 'test/deblurred' in images.get('.', {}), images
  finally:
    board.kill()
    board.wait()
