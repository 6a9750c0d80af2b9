"""Tests for deepdeblur_jax.data.readers."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from configs import default
from deepdeblur_jax.data import readers
from deepdeblur_jax.io import photos as image_io

REPO = pathlib.Path(__file__).resolve().parents[1]


def _img(value, h=8, w=10):
  return np.full((h, w, 3), value, np.uint8)


def _config(dataset, root, **kw):
  data = default.get_data_config()
  data.dataset = dataset
  data.root = str(root)
  for k, v in kw.items():
    setattr(data, k, v)
  return data


def _make_gopro(root, split='train'):
  for seq in ('GOPR0002_00_00', 'GOPR0001_00_00'):
    for i in (3, 1, 2):
      for key, v in (('blur', 10), ('blur_gamma', 20), ('sharp', 30)):
        image_io.write_png(root / split / seq / key / f'{i:06d}.png', _img(v + i))


def test_gopro_large_pairs_sorted_and_matched(tmp_path):
  _make_gopro(tmp_path)
  pairs = readers.list_pairs(_config('gopro_large', tmp_path), 'train')
  assert [p.name for p in pairs] == [f'GOPR000{s}_00_00/00000{i}.png' for s in (1, 2)
                                     for i in (1, 2, 3)]
  for p in pairs:
    assert '/blur_gamma/' in p.blur and '/sharp/' in p.sharp
    assert pathlib.Path(p.blur).name == pathlib.Path(p.sharp).name
    assert pathlib.Path(p.blur).parent.parent == pathlib.Path(p.sharp).parent.parent
  assert image_io.read_rgb_uint8(pairs[1].blur)[0, 0, 0] == 22
  pairs = readers.list_pairs(_config('gopro_large', tmp_path, blur_key='blur'), 'train')
  assert all('/blur/' in p.blur for p in pairs)
  with pytest.raises(ValueError, match='blur_key'):
    readers.list_pairs(_config('gopro_large', tmp_path, blur_key='blurry'), 'train')
  with pytest.raises(FileNotFoundError, match='test'):
    readers.list_pairs(_config('gopro_large', tmp_path), 'test')


def test_missing_partner_is_named_not_shifted(tmp_path):
  _make_gopro(tmp_path)
  missing = tmp_path / 'train' / 'GOPR0001_00_00' / 'sharp' / '000002.png'
  missing.unlink()
  # A positional match would silently pair 000002 with 000003; by name it is an error.
  with pytest.raises(ValueError, match=r'000002\.png has no sharp partner'):
    readers.list_pairs(_config('gopro_large', tmp_path), 'train')


def test_size_mismatch_names_both_files(tmp_path):
  _make_gopro(tmp_path)
  image_io.write_png(tmp_path / 'train' / 'GOPR0002_00_00' / 'sharp' / '000003.png',
                     _img(0, 9, 10))
  with pytest.raises(ValueError, match=r'blur_gamma/000003\.png is 8x10 but .*sharp/000003\.png is 9x10'):
    readers.list_pairs(_config('gopro_large', tmp_path), 'train')


def test_corrupt_header_is_named(tmp_path):
  _make_gopro(tmp_path)
  bad = tmp_path / 'train' / 'GOPR0001_00_00' / 'sharp' / '000001.png'
  bad.write_bytes(b'garbage')
  with pytest.raises(ValueError, match=r'sharp/000001\.png'):
    readers.list_pairs(_config('gopro_large', tmp_path), 'train')


def test_reds_layout(tmp_path):
  for split in ('train', 'val'):
    for seq in ('001', '000'):
      for i in (1, 0):
        image_io.write_png(tmp_path / split / f'{split}_blur' / seq / f'{i:08d}.png', _img(1))
        image_io.write_png(tmp_path / split / f'{split}_sharp' / seq / f'{i:08d}.png', _img(2))
  pairs = readers.list_pairs(_config('reds', tmp_path), 'val')
  assert [p.name for p in pairs] == ['000/00000000.png', '000/00000001.png',
                                     '001/00000000.png', '001/00000001.png']
  assert all('val_blur' in p.blur and 'val_sharp' in p.sharp for p in pairs)


def test_paired_with_and_without_split(tmp_path):
  for name in ('b.png', 'a.png', 'sub/c.jpg'):
    image_io.write_png(tmp_path / 'flat' / 'input' / name, _img(5))
    image_io.write_png(tmp_path / 'flat' / 'target' / name, _img(6))
    image_io.write_png(tmp_path / 'split' / 'test' / 'input' / name, _img(5))
    image_io.write_png(tmp_path / 'split' / 'test' / 'target' / name, _img(6))
  flat = readers.list_pairs(_config('paired', tmp_path / 'flat'), 'test')
  split = readers.list_pairs(_config('paired', tmp_path / 'split'), 'test')
  assert [p.name for p in flat] == ['a.png', 'b.png', 'sub/c.jpg']
  assert [p.name for p in split] == [p.name for p in flat]
  assert '/test/input/' in split[0].blur
  (tmp_path / 'flat' / 'input' / 'b.png').unlink()
  with pytest.raises(ValueError, match=r'target/b\.png has no blurry partner'):
    readers.list_pairs(_config('paired', tmp_path / 'flat'), 'test')


def test_synthetic_generates_and_lists(tmp_path):
  data = _config('synthetic', tmp_path / 'syn', synthetic_train_sequences=1,
                 synthetic_test_sequences=1, synthetic_pairs_per_sequence=2,
                 synthetic_size=(16, 16))
  pairs = readers.list_pairs(data, 'test')
  assert [p.name for p in pairs] == ['scene_0000/000000.png', 'scene_0000/000001.png']


def test_errors_for_config(tmp_path):
  with pytest.raises(ValueError, match='data.dataset'):
    readers.list_pairs(_config('imagenet', tmp_path), 'train')
  with pytest.raises(ValueError, match='data.root'):
    readers.list_pairs(_config('gopro_large', ''), 'train')
  with pytest.raises(FileNotFoundError, match='nowhere'):
    readers.list_pairs(_config('reds', tmp_path / 'nowhere'), 'train')
  (tmp_path / 'train').mkdir()
  with pytest.raises(ValueError, match='no image pairs'):
    readers.list_pairs(_config('gopro_large', tmp_path), 'train')


def test_modules_import_without_tensorflow():
  code = ('import sys; sys.modules["tensorflow"] = None\n'
          'import deepdeblur_jax.data\n'
          'from deepdeblur_jax.data import readers, synthetic_scenes, grain_pipeline, '
          'blur_synthesis\nfrom deepdeblur_jax.io import photos\n'
          'assert sys.modules["tensorflow"] is None\n'
          'assert "deepdeblur_jax.data.input_pipeline" not in sys.modules\n'
          'print("ok")\n')
  proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                        cwd=REPO, env={'PYTHONPATH': str(REPO), 'PATH': '/usr/bin:/bin'})
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip() == 'ok'
