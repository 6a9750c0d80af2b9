"""Tests for the input pipelines: deepdeblur_jax.data.input_pipeline (tf.data) and grain_pipeline
(Grain; in-process threads here, worker processes in test_grain_workers_make_the_same_batches)."""

import collections
import glob
import itertools
import os
import tempfile

import numpy as np
import psutil
import pytest
from scipy import stats
from skimage import color

from configs import default, pytorch_l1
from deepdeblur_jax.data import augment
from deepdeblur_jax.data import grain_pipeline
from deepdeblur_jax.data import input_pipeline
from deepdeblur_jax.data import loaders
from deepdeblur_jax.io import photos as image_io

N_FILES = 6
SOURCES = [pytest.param(input_pipeline, id='tf_data'), pytest.param(grain_pipeline, id='grain')]
ONE = 16  # size of the single pair of split 'one'


def _sharp(i, h, w):
  return np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _blur(i, h, w):
  return (_sharp(i, h, w) // 2 + 40).astype(np.uint8)


def _coords(h, w):
  yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
  return np.stack([yy, xx, (yy * 7 + xx) % 256], -1).astype(np.uint8)


@pytest.fixture(name='root', scope='module')
def fixture_root(tmp_path_factory):
  """GOPRO layout: 6 random 32x32 train pairs, a one-pair split, a 40x48 coordinate image,
  5 test pairs."""
  root = tmp_path_factory.mktemp('gopro')
  for i in range(N_FILES):
    seq = f'seq{i % 2}'
    image_io.write_png(root / 'train' / seq / 'sharp' / f'{i:06d}.png', _sharp(i, 32, 32))
    image_io.write_png(root / 'train' / seq / 'blur_gamma' / f'{i:06d}.png', _blur(i, 32, 32))
  image_io.write_png(root / 'one' / 's' / 'sharp' / '000000.png', _sharp(99, ONE, ONE))
  image_io.write_png(root / 'one' / 's' / 'blur_gamma' / '000000.png', _blur(99, ONE, ONE))
  c = _coords(40, 48)
  image_io.write_png(root / 'coords' / 's' / 'sharp' / '000000.png', c)
  image_io.write_png(root / 'coords' / 's' / 'blur_gamma' / '000000.png', 255 - c)
  for i in range(5):
    image_io.write_png(root / 'test' / 'a' / 'sharp' / f'{i:06d}.png', _sharp(i, 24 + i, 20))
    image_io.write_png(root / 'test' / 'a' / 'blur_gamma' / f'{i:06d}.png', _blur(i, 24 + i, 20))
  return root


def _config(root, batch_size=4, patch=16, augment=True, **kw):
  config = default.get_config()
  config.seed = 7
  config.batch_size = batch_size
  config.patch_size = patch
  data = config.data
  data.root = str(root)
  data.num_workers = 0  # grain: threads in this process (worker processes are slow to start)
  for flag in ('augment_flip', 'augment_rgb_permute', 'augment_saturation', 'augment_noise'):
    setattr(data, flag, augment)
  for k, v in kw.items():
    setattr(data, k, v)
  return config


def _take(config, n, start_step=0, index=0, count=1, source=input_pipeline):
  it = source.create_train_iterator(config, start_step, index, count)
  batches = list(itertools.islice(it, n))
  it.close()  # stops the pipeline's threads or worker processes
  return batches


def _assert_batches_equal(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    for k in ('blur', 'sharp'):
      np.testing.assert_array_equal(x[k], y[k])


@pytest.mark.parametrize('source', SOURCES)
def test_batch_format(root, source):
  config = _config(root)
  batch = _take(config, 1, source=source)[0]
  for k in ('blur', 'sharp'):
    assert batch[k].shape == (4, 16, 16, 3) and batch[k].dtype == np.float32
    assert 0.0 <= batch[k].min() and batch[k].max() <= 1.0
  config.data.output_dtype = 'uint8'
  batch = _take(config, 1, source=source)[0]
  assert batch['blur'].dtype == np.uint8 and batch['blur'].shape == (4, 16, 16, 3)


@pytest.mark.parametrize('source', SOURCES)
def test_same_seed_same_batches_other_seed_differs(root, source):
  config = _config(root)
  a, b = _take(config, 4, source=source), _take(config, 4, source=source)
  _assert_batches_equal(a, b)
  config.seed = 8
  c = _take(config, 4, source=source)
  assert not np.array_equal(a[0]['blur'], c[0]['blur'])


@pytest.mark.parametrize('source', SOURCES)
def test_resume_gives_the_uninterrupted_batches(root, source):
  config = _config(root, batch_size=4)
  full = _take(config, 6, source=source)  # 24 elements: 4 epochs of 6 files
  _assert_batches_equal(_take(config, 3, start_step=3, source=source), full[3:])


@pytest.mark.parametrize('source', SOURCES)
def test_two_processes_make_the_one_process_batch(root, source):
  config = _config(root, batch_size=4)
  one = _take(config, 3, source=source)
  p0 = _take(config, 3, index=0, count=2, source=source)
  p1 = _take(config, 3, index=1, count=2, source=source)
  for b, b0, b1 in zip(one, p0, p1):
    assert b0['blur'].shape == (2, 16, 16, 3)
    for k in ('blur', 'sharp'):
      np.testing.assert_array_equal(np.concatenate([b0[k], b1[k]]), b[k])


@pytest.mark.parametrize('source', SOURCES)
def test_cache_gives_identical_batches(root, source):
  config = _config(root)
  a = _take(config, 4, source=source)
  config.data.cache = True
  _assert_batches_equal(_take(config, 4, source=source), a)


@pytest.mark.parametrize('source', SOURCES)
def test_batch_size_not_divisible_names_it(root, source):
  with pytest.raises(ValueError, match='batch_size=3'):
    _take(_config(root, batch_size=3), 1, count=2, source=source)


@pytest.mark.parametrize('source', SOURCES)
def test_each_epoch_reads_every_file_once(root, source):
  config = _config(root, batch_size=3, patch=32, augment=False)
  batches = _take(config, 4, source=source)  # 12 elements = 2 epochs of 6 files
  sharp = np.concatenate([b['sharp'] for b in batches])
  refs = [_sharp(i, 32, 32).astype(np.float32) / 255 for i in range(N_FILES)]
  ids = [next(i for i, r in enumerate(refs) if np.array_equal(s, r)) for s in sharp]
  assert sorted(ids[:6]) == list(range(6)) and sorted(ids[6:]) == list(range(6))
  assert ids[:6] != ids[6:]  # a new permutation each epoch
  blur = np.concatenate([b['blur'] for b in batches])
  for i, b in zip(ids, blur):  # blur and sharp come from the same pair
    np.testing.assert_array_equal(b, _blur(i, 32, 32).astype(np.float32) / 255)


@pytest.mark.parametrize('source', SOURCES)
def test_crop_is_aligned_and_shared(root, source):
  config = _config(root, batch_size=8, patch=16, augment=False, train_split='coords',
                   crop_multiple=4, output_dtype='uint8')
  c = _coords(40, 48)
  corners = set()
  for batch in _take(config, 4, source=source):
    for blur, sharp in zip(batch['blur'], batch['sharp']):
      y, x = int(sharp[0, 0, 0]), int(sharp[0, 0, 1])
      assert y % 4 == 0 and x % 4 == 0 and y <= 24 and x <= 32
      np.testing.assert_array_equal(sharp, c[y:y + 16, x:x + 16])
      np.testing.assert_array_equal(blur, 255 - c[y:y + 16, x:x + 16])
      corners.add((y, x))
  assert len(corners) > 10


@pytest.mark.parametrize('source', SOURCES)
def test_pytorch_recipe_crops_at_any_pixel(root, source):
  """configs/pytorch_l1.py crops as DeepDeblur-PyTorch (randrange(0, h - ps + 1)), not at
  multiples of 4 as the paper's recipe."""
  multiple = pytorch_l1.get_config().data.crop_multiple
  config = _config(root, batch_size=8, patch=16, augment=False, train_split='coords',
                   crop_multiple=multiple, output_dtype='uint8')
  corners = set()
  for batch in _take(config, 4, source=source):
    for sharp in batch['sharp']:
      corners.add((int(sharp[0, 0, 0]), int(sharp[0, 0, 1])))
  assert {y % 4 for y, _ in corners} | {x % 4 for _, x in corners} == {0, 1, 2, 3}
  assert all(y <= 24 and x <= 32 for y, x in corners)



def _dihedral(a, hflip, vflip, transpose):
  """NumPy's h-flip, then v-flip, then transpose of an HxWx... array."""
  a = a[:, ::-1] if hflip else a
  a = a[::-1] if vflip else a
  return a.swapaxes(0, 1) if transpose else a


DIHEDRAL = list(itertools.product((False, True), repeat=3))
PERMS = list(itertools.permutations(range(3)))


def _recover(blur, sharp, blur_ref, sharp_ref):
  """The augmentation parameters of one element made from the pair (blur_ref, sharp_ref) (uint8).

  Returns (dihedral index, RGB permutation, saturation factor, noise sigma); asserts that
  sharp is exactly the transformed, permuted, saturation-scaled reference (no noise) and that
  blur is the same transform of blur_ref plus noise.
  """
  s = sharp_ref.astype(np.float32) / np.float32(255)
  b = blur_ref.astype(np.float32) / np.float32(255)
  v_out = sharp.max(-1)  # saturation keeps V = max(R, G, B); permutation too
  ts = [t for t, d in enumerate(DIHEDRAL)
        if np.allclose(v_out, _dihedral(s.max(-1), *d), atol=1e-6, rtol=0)]
  assert len(ts) == 1, 'sharp is no dihedral transform of the reference'
  found = []
  for perm in PERMS:
    x = _dihedral(s, *DIHEDRAL[ts[0]])[..., perm].astype(np.float64)
    v = x.max(-1, keepdims=True)
    use = (v - x > 0.1) & (sharp > 1e-6)  # unclipped channels well below V
    factor = float(np.median((v - sharp)[use] / (v - x)[use]))
    if np.abs(np.clip(v + factor * (x - v), 0, 1) - sharp).max() < 1e-5:
      found.append((perm, factor))
  assert len(found) == 1, f'sharp is no permuted, saturation-scaled transform: {found}'
  perm, factor = found[0]
  x = _dihedral(b, *DIHEDRAL[ts[0]])[..., perm].astype(np.float64)
  v = x.max(-1, keepdims=True)
  clean = np.clip(v + factor * (x - v), 0, 1)
  inside = (clean > 0.1) & (clean < 0.9)  # noise not clipped there
  residual = blur - clean
  assert np.abs(residual[~inside]).max(initial=0) < 0.2
  return ts[0], perm, factor, float(np.sqrt(np.mean(residual[inside] ** 2)))


@pytest.mark.parametrize('source', SOURCES)
def test_augmentation_statistics(root, source):
  """256 augmented elements of one pair; the same statistics pinned for both sources:
  the 8 dihedral transforms (as NumPy's flips) and 6 RGB permutations, each shared by blur and
  sharp and each about equally often; saturation S *= U(0.5, 1.5) with probability
  saturation_prob; noise on blur only with sigma = |N(0, 1)| * 2/255."""
  config = _config(root, batch_size=8, patch=ONE, train_split='one', saturation_prob=0.75)
  sharp_ref, blur_ref = _sharp(99, ONE, ONE), _blur(99, ONE, ONE)
  draws = [_recover(b, s, blur_ref, sharp_ref)
           for batch in _take(config, 32, source=source)
           for b, s in zip(batch['blur'], batch['sharp'])]
  n = len(draws)
  dihedral = np.bincount([d[0] for d in draws], minlength=8)
  assert dihedral.min() >= n / 8 / 2.5, dihedral  # expected 32 each
  perms = collections.Counter(d[1] for d in draws)
  assert len(perms) == 6 and min(perms.values()) >= n / 6 / 2.5, perms
  factors = np.array([d[2] for d in draws])
  applied = factors[np.abs(factors - 1) > 1e-6]
  assert 0.65 < len(applied) / n < 0.85  # saturation_prob = 0.75
  assert applied.min() < 0.6 and applied.max() > 1.4 and abs(applied.mean() - 1) < 0.06
  assert 0.5 - 1e-4 < applied.min() and applied.max() < 1.5 + 1e-4
  assert stats.kstest(applied, stats.uniform(0.5, 1.0).cdf).pvalue > 1e-3
  sigmas = np.array([d[3] for d in draws]) / (2 / 255)
  assert abs(sigmas.mean() - np.sqrt(2 / np.pi)) < 0.1 and sigmas.max() < 4.5
  assert stats.kstest(sigmas, stats.halfnorm.cdf).pvalue > 1e-3


def test_adjust_saturation_matches_skimage():
  rng = np.random.default_rng(3)
  img = rng.random((8, 9, 3)).astype(np.float32)
  img[0, :3] = [[0, 0, 0], [0.5, 0.5, 0.5], [1, 1, 1]]  # black, grey, white: no hue
  img[1, :3] = [[1, 0, 0], [0.2, 0.9, 0.9], [0, 0, 0.4]]  # two equal channels, one pure
  for factor in (0.0, 0.5, 0.8, 1.0, 1.3, 1.5, 3.0):  # 3.0 drives S above 1: RGB clipping
    hsv = color.rgb2hsv(img.astype(np.float64))
    hsv[..., 1] *= factor
    ref = np.clip(color.hsv2rgb(hsv), 0, 1)
    got = input_pipeline.adjust_saturation(img, np.float32(factor)).numpy()
    np.testing.assert_allclose(got, ref, atol=2e-5)
    got_np = augment.scale_saturation(img, factor)
    assert got_np.dtype == np.float32 and got_np.shape == img.shape
    np.testing.assert_allclose(got_np, ref, atol=1e-6)


@pytest.mark.parametrize('source', SOURCES)
def test_patch_larger_than_image_names_the_file(root, source):
  config = _config(root, patch=64)
  with pytest.raises(Exception, match=r'blur_gamma/00000\d\.png is 32x32, smaller than '
                                      r'patch_size=64'):
    _take(config, 1, source=source)


@pytest.mark.parametrize('source', SOURCES)
def test_eval_iterator(root, source):
  config = _config(root)
  items = list(source.create_eval_iterator(config, 0, 1))
  assert [it['name'] for it in items] == [f'a/{i:06d}.png' for i in range(5)]
  for i, it in enumerate(items):
    assert it['blur'].shape == (1, 24 + i, 20, 3) and it['blur'].dtype == np.float32
    np.testing.assert_array_equal(it['sharp'][0], _sharp(i, 24 + i, 20) / np.float32(255))
    np.testing.assert_array_equal(it['blur'][0], _blur(i, 24 + i, 20) / np.float32(255))
  p0 = [it['name'] for it in source.create_eval_iterator(config, 0, 2)]
  p1 = [it['name'] for it in source.create_eval_iterator(config, 1, 2)]
  assert p0 == ['a/000000.png', 'a/000002.png', 'a/000004.png']
  assert p1 == ['a/000001.png', 'a/000003.png']
  config.data.max_eval_images = 2
  config.data.output_dtype = 'uint8'
  items = list(source.create_eval_iterator(config, 0, 1))
  assert len(items) == 2
  np.testing.assert_array_equal(items[1]['sharp'][0], _sharp(1, 25, 20))


def test_grain_matches_tf_files_without_augmentation(root):
  config = _config(root, batch_size=4, patch=32, augment=False)
  _assert_batches_equal(_take(config, 3, source=grain_pipeline), _take(config, 3))


def test_grain_eval_matches_tf(root):
  config = _config(root)
  for process_index in (0, 1):
    ours = list(grain_pipeline.create_eval_iterator(config, process_index, 2))
    ref = list(input_pipeline.create_eval_iterator(config, process_index, 2))
    assert [it['name'] for it in ours] == [it['name'] for it in ref]
    for a, b in zip(ours, ref):
      for key in ('blur', 'sharp'):
        assert a[key].dtype == b[key].dtype
        np.testing.assert_array_equal(a[key], b[key])


def _workers():
  """This process's spawned worker processes (not multiprocessing's resource tracker)."""
  return [p for p in psutil.Process().children(recursive=True)
          if '--multiprocessing-fork' in p.cmdline()]


def _cache_folders():
  return {p for root in ('/dev/shm', tempfile.gettempdir())
          for p in glob.glob(os.path.join(root, 'deepdeblur-grain-cache-*'))}


def test_grain_workers_make_the_same_batches(root):
  """Worker processes (each makes whole batches, in turn) give the one-thread batches, also
  resumed at step 1 and from the cache folder they share (one file per pair, not per worker);
  closing the iterator ends the workers and removes the cache."""
  config = _config(root, batch_size=4, num_parallel_calls=1)
  ref = _take(config, 5, source=grain_pipeline)
  config.data.num_workers = 2
  config.data.cache = True
  before, folders = _workers(), _cache_folders()
  it = grain_pipeline.create_train_iterator(config, 1, 0, 1)
  _assert_batches_equal(list(itertools.islice(it, 4)), ref[1:])  # elements 4..19: every file
  assert len(_workers()) >= len(before) + 2  # the batches came from worker processes
  (cache,) = _cache_folders() - folders
  assert sorted(os.listdir(cache)) == [f'{i}.npy' for i in range(N_FILES)]
  it.close()
  assert _workers() == before
  assert _cache_folders() == folders


def test_loader_choice():
  config = default.get_config()
  warnings = []
  assert loaders.input_module(config.data, warnings.append) is input_pipeline
  config.data.loader = 'grain'
  assert loaders.input_module(config.data, warnings.append) is grain_pipeline
  assert not warnings
  config.data.loader = 'torch'
  with pytest.raises(ValueError, match='config.data.loader'):
    loaders.input_module(config.data, warnings.append)
