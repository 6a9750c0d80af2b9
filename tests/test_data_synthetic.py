"""Tests for deepdeblur_jax.data.synthetic_scenes and tools/make_synthetic_dataset.py."""

import hashlib
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from configs import default
from deepdeblur_jax.data import blur_synthesis
from deepdeblur_jax.data import synthetic_scenes
from deepdeblur_jax.io import photos as image_io

REPO = pathlib.Path(__file__).resolve().parents[1]


def _digest(root):
  h = hashlib.sha256()
  for p in sorted(pathlib.Path(root).rglob('*')):
    if p.is_file():
      h.update(p.relative_to(root).as_posix().encode())
      h.update(p.read_bytes())
  return h.hexdigest()


def _psnr(a, b):
  return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2))


def test_bilinear_matches_scipy_map_coordinates():
  rng = np.random.default_rng(0)
  tex = rng.random((9, 11, 3), dtype=np.float32)
  y = rng.uniform(-12, 20, (5, 7))
  x = rng.uniform(-12, 22, (5, 7))
  got = synthetic_scenes._bilinear(tex, y, x)
  for c in range(3):
    ref = ndimage.map_coordinates(tex[..., c].astype(np.float64), [y, x], order=1,
                                  mode='reflect')
    np.testing.assert_allclose(got[..., c], ref, atol=1e-5)


def test_dead_leaves_covers_with_many_colours():
  img = synthetic_scenes.dead_leaves(np.random.default_rng(0), 64, 64, 2.0, 16.0, -3)
  assert img.shape == (64, 64, 3) and img.dtype == np.float32
  assert 0.0 <= img.min() and img.max() <= 1.0
  assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50


def test_pairs_are_blurred_consistently():
  pairs = synthetic_scenes.render_sequence_pairs(np.random.default_rng(1), (48, 64), 3)
  assert len(pairs) == 3
  for p in pairs:
    for key in blur_synthesis.KEYS:
      assert p[key].shape == (48, 64, 3) and p[key].dtype == np.uint8
    assert not np.array_equal(p['blur'], p['sharp'])
    assert 12.0 < _psnr(p['blur'], p['sharp']) < 45.0
  # Consecutive pairs come from one moving scene: sharp frames are similar, not equal.
  assert not np.array_equal(pairs[0]['sharp'], pairs[1]['sharp'])
  assert _psnr(pairs[0]['sharp'], pairs[1]['sharp']) > 10.0


def test_same_seed_gives_byte_identical_files(tmp_path):
  kw = dict(train_sequences=2, test_sequences=1, pairs_per_sequence=2, size=(32, 40))
  synthetic_scenes.make_synthetic_dataset(tmp_path / 'a', seed=3, workers=1, **kw)
  synthetic_scenes.make_synthetic_dataset(tmp_path / 'b', seed=3, workers=3, **kw)  # threads
  synthetic_scenes.make_synthetic_dataset(tmp_path / 'c', seed=4, **kw)
  assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
  assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')
  root = tmp_path / 'a'
  assert sorted(p.name for p in (root / 'train').iterdir()) == ['scene_0000', 'scene_0001']
  for key in blur_synthesis.KEYS:
    files = sorted(p.name for p in (root / 'test' / 'scene_0000' / key).iterdir())
    assert files == ['000000.png', '000001.png']
  img = image_io.read_rgb_uint8(root / 'train' / 'scene_0001' / 'blur' / '000001.png')
  assert img.shape == (32, 40, 3)
  manifest = json.loads((root / 'synthetic.json').read_text())
  assert manifest['seed'] == 3 and manifest['size'] == [32, 40]
  assert manifest['pairs'] == {'train': 4, 'test': 2}
  assert not [p for p in tmp_path.iterdir() if p.name.startswith('.')]


def test_refuses_non_empty_folder_and_cleans_up_on_failure(tmp_path, monkeypatch):
  (tmp_path / 'full').mkdir()
  (tmp_path / 'full' / 'x.txt').write_text('x')
  with pytest.raises(FileExistsError, match='full'):
    synthetic_scenes.make_synthetic_dataset(tmp_path / 'full', 1, 1, 1, (16, 16))
  calls = []
  original = blur_synthesis.write_pair

  def failing_write(*args):
    calls.append(args)
    if len(calls) == 2:
      raise RuntimeError('disk full')
    return original(*args)

  monkeypatch.setattr(blur_synthesis, 'write_pair', failing_write)
  with pytest.raises(RuntimeError, match='disk full'):
    synthetic_scenes.make_synthetic_dataset(tmp_path / 'new', 1, 1, 2, (16, 16))
  assert sorted(p.name for p in tmp_path.iterdir()) == ['full']


def _data_config(root=''):
  data = default.get_data_config()
  data.dataset = 'synthetic'
  data.root = str(root)
  data.synthetic_train_sequences = 1
  data.synthetic_test_sequences = 1
  data.synthetic_pairs_per_sequence = 2
  data.synthetic_size = (16, 24)
  return data


def test_ensure_generates_once_into_cache(tmp_path, monkeypatch):
  monkeypatch.setenv('DEEPDEBLUR_CACHE', str(tmp_path / 'cache'))
  data = _data_config()
  root = synthetic_scenes.ensure_synthetic_dataset(data)
  assert root.parent == tmp_path / 'cache' / 'synthetic'
  assert (root / 'synthetic.json').is_file()
  assert len(list((root / 'test').rglob('sharp/*.png'))) == 2

  def must_not_run(*a, **k):
    raise AssertionError('regenerated')

  monkeypatch.setattr(synthetic_scenes, 'make_synthetic_dataset', must_not_run)
  assert synthetic_scenes.ensure_synthetic_dataset(data) == root
  data.synthetic_seed = 1  # other parameters -> other default folder
  with pytest.raises(AssertionError, match='regenerated'):
    synthetic_scenes.ensure_synthetic_dataset(data)


def test_ensure_explicit_root_mismatch_names_it(tmp_path):
  data = _data_config(tmp_path / 'syn')
  assert synthetic_scenes.ensure_synthetic_dataset(data) == tmp_path / 'syn'
  data.synthetic_pairs_per_sequence = 3
  with pytest.raises(ValueError, match=r'syn.*pairs_per_sequence'):
    synthetic_scenes.ensure_synthetic_dataset(data)


def test_cli(tmp_path):
  cmd = [sys.executable, str(REPO / 'tools' / 'make_synthetic_dataset.py'), '--out',
         str(tmp_path / 'ds'), '--train-sequences', '1', '--test-sequences', '1',
         '--pairs-per-sequence', '2', '--size', '24x32', '--seed', '5']
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert 'pairs/s' in proc.stdout
  img = image_io.read_rgb_uint8(tmp_path / 'ds' / 'test' / 'scene_0000' / 'blur_gamma' /
                                '000001.png')
  assert img.shape == (24, 32, 3)
  ref = tmp_path / 'ref'
  synthetic_scenes.make_synthetic_dataset(ref, 1, 1, 2, (24, 32), seed=5)
  assert _digest(ref) == _digest(tmp_path / 'ds')
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
  assert proc.returncode == 1 and 'not empty' in proc.stderr
  proc = subprocess.run(cmd[:-4] + ['--size', '24by32'], capture_output=True, text=True)
  assert proc.returncode != 0 and 'HxW' in proc.stderr


def test_motion_scale_scales_the_camera_path_and_the_blur():
  h = w = 64
  one = synthetic_scenes.make_scene(np.random.default_rng(7), (h, w), 20)
  four = synthetic_scenes.make_scene(np.random.default_rng(7), (h, w), 20, motion_scale=4.0)
  centre = np.array([h, w], np.float64)  # the camera starts at the middle of a 2h x 2w world
  np.testing.assert_allclose(four.cam_pos - centre, 4.0 * (one.cam_pos - centre), atol=1e-9)
  np.testing.assert_allclose(four.cam_angle, 4.0 * one.cam_angle, atol=1e-12)
  np.testing.assert_array_equal(four.background, one.background)  # same draws otherwise
  # Longer motion, stronger blur: lower PSNR of blurry against sharp over a few sequences.
  psnr = {}
  for scale in (1.0, 4.0):
    pairs = [p for i in range(4) for p in synthetic_scenes.render_sequence_pairs(
        np.random.default_rng([1, i]), (h, w), 2, motion_scale=scale)]
    psnr[scale] = np.mean([_psnr(p['blur'], p['sharp']) for p in pairs])
  assert psnr[4.0] < psnr[1.0] - 2.0, psnr


def test_motion_scale_in_manifest_only_when_set(tmp_path):
  kw = dict(train_sequences=1, test_sequences=1, pairs_per_sequence=1, size=(16, 16))
  default_manifest = synthetic_scenes.make_synthetic_dataset(tmp_path / 'a', **kw)
  assert 'motion_scale' not in default_manifest
  scaled = synthetic_scenes.make_synthetic_dataset(tmp_path / 'b', motion_scale=3.0, **kw)
  assert scaled['motion_scale'] == 3.0
  assert _digest(tmp_path / 'a') != _digest(tmp_path / 'b')
  data = _data_config(tmp_path / 'b')  # config asks for the default motion: mismatch
  data.synthetic_size = (16, 16)
  data.synthetic_pairs_per_sequence = 1
  with pytest.raises(ValueError, match=r'motion_scale=3\.0.*motion_scale=1\.0'):
    synthetic_scenes.ensure_synthetic_dataset(data)
  data.synthetic_motion_scale = 3.0
  assert synthetic_scenes.ensure_synthetic_dataset(data) == tmp_path / 'b'
