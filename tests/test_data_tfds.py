"""Tests the `gopro_large` TFDS builder on tiny dummy data written by the test.

The TFDS builder test case itself is in test_data_tfds_testcase.py. On Python >= 3.9
tensorflow-datasets 4.9.x still imports `importlib_resources` to prepare any builder
but does not declare it, so requirements.txt lists it.
"""

import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
from deepdeblur_jax.io import photos as image_io


def write_dummy_data(root: pathlib.Path) -> None:
  """GOPRO_Large layout: train 2 sequences / 3 pairs, test 1 sequence / 2 pairs."""
  rng = np.random.default_rng(0)
  layout = {'train': {'GOPR0001_00_00': 2, 'GOPR0002_00_00': 1}, 'test': {'GOPR0003_00_00': 2}}
  for split, seqs in layout.items():
    for seq, n in seqs.items():
      for i in range(n):
        for key in ('blur', 'blur_gamma', 'sharp'):
          img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
          image_io.write_png(root / 'GOPRO_Large' / split / seq / key / f'{i:06d}.png', img)


def test_examples_match_the_files(tmp_path):
  write_dummy_data(tmp_path / 'manual')
  builder = gopro_large_dataset_builder.Builder(data_dir=str(tmp_path / 'tfds'))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=str(tmp_path / 'manual')))
  examples = list(tfds.as_numpy(builder.as_dataset(split='train')))
  names = sorted(e['name'].decode() for e in examples)
  assert names == ['GOPR0001_00_00/000000.png', 'GOPR0001_00_00/000001.png',
                   'GOPR0002_00_00/000000.png']
  root = tmp_path / 'manual' / 'GOPRO_Large' / 'train'
  for e in examples:
    for key in ('blur', 'blur_gamma', 'sharp'):
      ref = image_io.read_rgb_uint8(root / e['name'].decode().replace('/', f'/{key}/'))
      np.testing.assert_array_equal(e[key], ref)


def test_missing_partner_is_named(tmp_path):
  write_dummy_data(tmp_path / 'manual')
  missing = tmp_path / 'manual' / 'GOPRO_Large' / 'test' / 'GOPR0003_00_00' / 'blur' / '000001.png'
  missing.unlink()
  builder = gopro_large_dataset_builder.Builder(data_dir=str(tmp_path / 'tfds'))
  with pytest.raises(FileNotFoundError, match=r'sharp/000001\.png has no partner .*blur/000001'):
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(tmp_path / 'manual')))
