"""tools/evaluate.py end to end on dataset folders the test writes; metrics vs scikit-image."""

import json

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tests.tool_helpers import colour_mixing_reference, make_colour_mixing_checkpoint, run_tool

SHAPE = (36, 44, 3)


def _skimage(output, target):
  return (peak_signal_noise_ratio(target, output, data_range=255),
          structural_similarity(target, output, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255))


def _pair(rng):
  sharp = (rng.random(SHAPE) * 255).astype(np.uint8)
  noise = rng.normal(0, 20, SHAPE)
  blur = np.clip(sharp.astype(float) + noise, 0, 255).astype(np.uint8)
  return blur, sharp


def _save(path, array):
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(array).save(path)


@pytest.fixture(scope='module')
def gopro(tmp_path_factory):
  """GOPRO_Large layout: 2 test sequences x 2 frames; blur_gamma differs from blur."""
  root = tmp_path_factory.mktemp('GOPRO_Large')
  rng = np.random.default_rng(0)
  images = {}
  for seq in ('GOPR0001_00_00', 'GOPR0002_00_00'):
    for frame in ('000001.png', '000002.png'):
      blur, sharp = _pair(rng)
      _save(root / 'test' / seq / 'blur_gamma' / frame, blur)
      _save(root / 'test' / seq / 'blur' / frame, 255 - blur)
      _save(root / 'test' / seq / 'sharp' / frame, sharp)
      images[f'{seq}/{frame}'] = (blur, sharp)
  _save(root / 'train' / 'GOPR0009_00_00' / 'sharp' / '000001.png', images[f'{seq}/{frame}'][1])
  return root, images


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
  """A checkpoint whose output NumPy computes independently (colour_mixing_reference)."""
  path = tmp_path_factory.mktemp('ckpt') / 'mixing'
  make_colour_mixing_checkpoint(path, rgb_range=1.0)
  return path


def test_baseline_equals_scikit_image(tmp_path, gopro):
  root, images = gopro
  result = run_tool('evaluate', '--data', root, '--baseline', '--output', tmp_path / 'r.json')
  assert result.returncode == 0, result.stderr
  assert '[4/4]' in result.stderr and 'PSNR' in result.stdout
  results = json.loads((tmp_path / 'r.json').read_text())
  assert results['num_images'] == 4
  assert results['settings']['format'] == 'gopro_large'
  assert results['settings']['blur_key'] == 'blur_gamma'
  assert [r['path'] for r in results['per_image']] == sorted(images)
  for record in results['per_image']:
    psnr, ssim = _skimage(*images[record['path']])
    assert abs(record['psnr'] - psnr) < 1e-3 and abs(record['ssim'] - ssim) < 1e-3
  assert abs(results['psnr'] - np.mean([r['psnr'] for r in results['per_image']])) < 1e-9

  result = run_tool('evaluate', '--data', root, '--baseline', '--blur-key', 'blur',
                    '--max-images', '1', '--output', tmp_path / 'b.json')
  record = json.loads((tmp_path / 'b.json').read_text())['per_image']
  assert len(record) == 1
  blur, sharp = images['GOPR0001_00_00/000001.png']
  assert abs(record[0]['psnr'] - _skimage(255 - blur, sharp)[0]) < 1e-3


def test_checkpoint_metrics_and_saved_images(tmp_path, gopro, checkpoint):
  root, images = gopro
  result = run_tool('evaluate', '--data', root, '--checkpoint', checkpoint, '--output',
                    tmp_path / 'r.json', '--save-images', tmp_path / 'out')
  assert result.returncode == 0, result.stderr
  results = json.loads((tmp_path / 'r.json').read_text())
  assert results['settings']['model']['n_feats'] == 8
  for record in results['per_image']:
    blur, sharp = images[record['path']]
    saved = np.asarray(Image.open(tmp_path / 'out' / record['path']))
    expected = colour_mixing_reference(blur / 255.0) * 255
    assert np.abs(saved - expected).max() <= 0.5 + 1e-3  # any rounding to the nearest level
    psnr, ssim = _skimage(saved, sharp)
    assert abs(record['psnr'] - psnr) < 1e-3 and abs(record['ssim'] - ssim) < 1e-3


def test_reds_and_paired_layouts(tmp_path):
  rng = np.random.default_rng(1)
  blur, sharp = _pair(rng)
  _save(tmp_path / 'REDS' / 'val' / 'val_blur' / '000' / '00000000.png', blur)
  _save(tmp_path / 'REDS' / 'val' / 'val_sharp' / '000' / '00000000.png', sharp)
  _save(tmp_path / 'pairs' / 'input' / 'a.png', blur)
  _save(tmp_path / 'pairs' / 'target' / 'a.png', sharp)
  for name, fmt in (('REDS', 'reds'), ('pairs', 'paired')):
    out = tmp_path / f'{name}.json'
    result = run_tool('evaluate', '--data', tmp_path / name, '--baseline', '--output', out)
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    assert results['settings']['format'] == fmt and results['num_images'] == 1
    assert abs(results['psnr'] - _skimage(blur, sharp)[0]) < 1e-3


def test_errors_name_the_problem(tmp_path, gopro, checkpoint):
  result = run_tool('evaluate', '--data', tmp_path / 'nowhere', '--baseline', '--output',
                    tmp_path / 'r.json')
  assert result.returncode == 2 and 'nowhere' in result.stderr
  root = tmp_path / 'broken'
  rng = np.random.default_rng(2)
  blur, sharp = _pair(rng)
  _save(root / 'input' / 'a.png', blur)
  _save(root / 'target' / 'a.png', sharp)
  (root / 'input' / 'b.png').write_bytes(b'junk')
  (root / 'target' / 'b.png').write_bytes(b'junk')
  result = run_tool('evaluate', '--data', root, '--baseline', '--output', tmp_path / 'r.json')
  assert result.returncode != 0 and 'b.png' in result.stderr
  assert not (tmp_path / 'r.json').exists()
  result = run_tool('evaluate', '--data', gopro[0], '--checkpoint', tmp_path / 'no_ckpt',
                    '--output', tmp_path / 'r.json')
  assert result.returncode == 2 and 'no_ckpt' in result.stderr
