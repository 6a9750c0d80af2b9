"""What goes through TensorFlow's own GCS client, against the local GCS server: the TFDS
builder's records with its data_dir (and its manual copy) in a bucket, and TensorBoard reading a
bucket run's events. TensorFlow always calls *.googleapis.com, so the tests reach the server
through tests/gcs_tls_relay.py (fixture `tensorflow_gcs`)."""

import numpy as np
import tensorflow_datasets as tfds

from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
from deepdeblur_jax.io import storage
from tests.test_data_tfds import write_dummy_data


def _names(url):
  """Names in a bucket folder."""
  return sorted(p.name for p in storage.path(url).iterdir())


def _examples(builder, split):
  """{name: example} of one split."""
  return {e['name'].decode(): e for e in tfds.as_numpy(builder.as_dataset(split=split))}


def _prepare(data_dir, manual_dir):
  builder = gopro_large_dataset_builder.Builder(data_dir=str(data_dir))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(manual_dir)))
  return builder


def test_tfds_builder_prepares_into_a_bucket_and_reads_back(tmp_path, gcs_prefix, tensorflow_gcs):
  del tensorflow_gcs
  write_dummy_data(tmp_path / 'manual')
  local = _prepare(tmp_path / 'tfds', tmp_path / 'manual')
  storage.filesystem().put(str(tmp_path / 'manual'), f'{gcs_prefix}/manual'[len('gs://'):],
                           recursive=True)

  _prepare(f'{gcs_prefix}/tfds', f'{gcs_prefix}/manual')  # both folders in the bucket

  version = f'{gcs_prefix}/tfds/gopro_large/1.0.0'
  local_files = sorted(p.name for p in (tmp_path / 'tfds' / 'gopro_large' / '1.0.0').iterdir())
  assert sorted(_names(version)) == local_files  # records and metadata, no temporaries
  assert not [n for n in _names(f"{gcs_prefix}/tfds/gopro_large") if n != '1.0.0']
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
