"""tools/deblur.py end to end: formats, folders, tiles, --compare, bad inputs, no checkpoint."""

import os
import pathlib
import sys

import numpy as np
import pytest
from PIL import Image

from deepdeblur_jax.io.photos import write_png
from deepdeblur_jax.io.png16 import read_png16
from tests.tool_helpers import (colour_mixing_reference, make_colour_mixing_checkpoint,
                                make_tiny_checkpoint, run_tool)

RNG = np.random.default_rng(0)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
  path = tmp_path_factory.mktemp('ckpt') / 'tiny'
  model, params = make_tiny_checkpoint(path, rgb_range=255.0)
  return path, model, params


@pytest.fixture(scope='module')
def mixing_checkpoint(tmp_path_factory):
  """A [0, 255] checkpoint whose output NumPy computes independently (colour_mixing_reference)."""
  path = tmp_path_factory.mktemp('ckpt') / 'mixing'
  make_colour_mixing_checkpoint(path, rgb_range=255.0)
  return path


def test_folder_of_mixed_formats(tmp_path, mixing_checkpoint):
  ckpt = mixing_checkpoint
  src = tmp_path / 'in'
  (src / 'sub').mkdir(parents=True)
  rgb = (RNG.random((30, 41, 3)) * 255).astype(np.uint8)
  Image.fromarray(rgb).save(src / 'rgb.png')
  Image.fromarray(rgb).save(src / 'rgb.jpg', quality=95)
  grey = (RNG.random((33, 20)) * 255).astype(np.uint8)
  Image.fromarray(grey).save(src / 'sub' / 'grey.png')
  rgba = (RNG.random((17, 18, 4)) * 255).astype(np.uint8)
  Image.fromarray(rgba).save(src / 'sub' / 'alpha.png')
  deep = (RNG.random((21, 22, 3)) * 65535).astype(np.uint16)
  write_png(str(src / 'sub' / 'deep.png'), deep)
  (src / 'sub' / 'broken.png').write_bytes(b'\x89PNG not really')
  (src / 'notes.txt').write_text('ignored')

  result = run_tool('deblur', '--checkpoint', ckpt, '--input', src, '--output', tmp_path / 'out',
                    '--compare')
  assert result.returncode == 1, result.stderr
  assert 'broken.png' in result.stderr and '[6/6]' in result.stderr
  out = tmp_path / 'out'
  written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*.png'))
  assert written == sorted(['rgb.png', 'rgb_jpg.png', 'sub/grey.png', 'sub/alpha.png',
                            'sub/deep.png', 'rgb.compare.png', 'rgb_jpg.compare.png',
                            'sub/grey.compare.png', 'sub/alpha.compare.png',
                            'sub/deep.compare.png'])

  got = np.asarray(Image.open(out / 'rgb.png'))
  want = colour_mixing_reference(rgb / 255.0) * 255
  assert got.dtype == np.uint8 and got.shape == rgb.shape
  assert np.abs(got - want).max() <= 0.5 + 1e-3  # any rounding to the nearest level
  assert np.asarray(Image.open(out / 'rgb.compare.png')).shape == (30, 41 * 2 + 8, 3)

  got = np.asarray(Image.open(out / 'sub' / 'grey.png'))
  grey_rgb = np.repeat(grey[..., None] / 255.0, 3, -1)
  want = colour_mixing_reference(grey_rgb).mean(-1) * 255
  assert got.shape == grey.shape and np.abs(got - want).max() <= 0.5 + 1e-3

  got = np.asarray(Image.open(out / 'sub' / 'alpha.png'))
  assert got.shape == rgba.shape
  np.testing.assert_array_equal(got[..., 3], rgba[..., 3])
  want = colour_mixing_reference(rgba[..., :3] / 255.0) * 255
  assert np.abs(got[..., :3] - want).max() <= 0.5 + 1e-3

  got = read_png16(str(out / 'sub' / 'deep.png'))
  want = colour_mixing_reference(deep / 65535.0) * 65535
  assert got.dtype == np.uint16 and got.shape == deep.shape
  assert np.abs(got - want).max() <= 1  # float32 noise at 16-bit precision


def test_single_file_tiled_matches_untiled(tmp_path, checkpoint):
  ckpt, _, _ = checkpoint
  image = (RNG.random((100, 140, 3)) * 255).astype(np.uint8)
  Image.fromarray(image).save(tmp_path / 'big.png')
  whole = run_tool('deblur', '--checkpoint', ckpt, '--input', tmp_path / 'big.png',
                   '--output', tmp_path / 'whole', '--tile', '0')
  tiled = run_tool('deblur', '--checkpoint', ckpt, '--input', tmp_path / 'big.png',
                   '--output', tmp_path / 'tiled', '--tile', '80', '--overlap', '64',
                   '--batch', '2')
  assert whole.returncode == 0 and tiled.returncode == 0, whole.stderr + tiled.stderr
  a = np.asarray(Image.open(tmp_path / 'whole' / 'big.png')).astype(int)
  b = np.asarray(Image.open(tmp_path / 'tiled' / 'big.png')).astype(int)
  assert np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3


def test_refuses_without_valid_checkpoint(tmp_path):
  Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'x.png')
  result = run_tool('deblur', '--checkpoint', tmp_path / 'missing_ckpt', '--input',
                    tmp_path / 'x.png', '--output', tmp_path / 'out')
  assert result.returncode == 2
  assert 'missing_ckpt' in result.stderr and 'refusing' in result.stderr
  assert not (tmp_path / 'out').exists()
  (tmp_path / 'half').mkdir()
  (tmp_path / 'half' / 'config.json').write_text('{"format": "deepdeblur-jax-inference"')
  result = run_tool('deblur', '--checkpoint', tmp_path / 'half', '--input', tmp_path / 'x.png',
                    '--output', tmp_path / 'out')
  assert result.returncode == 2 and 'config.json is not valid JSON' in result.stderr


def test_output_inside_input_is_not_reprocessed(tmp_path, checkpoint):
  Image.fromarray(np.zeros((8, 12, 3), np.uint8)).save(tmp_path / 'x.png')
  for _ in range(2):
    result = run_tool('deblur', '--checkpoint', checkpoint[0], '--input', tmp_path, '--output',
                      tmp_path / 'out')
    assert result.returncode == 0, result.stderr
    assert '[1/1]' in result.stderr
  assert sorted(p.name for p in tmp_path.rglob('*.png')) == ['x.png', 'x.png']


def test_missing_input(tmp_path, checkpoint):
  result = run_tool('deblur', '--checkpoint', checkpoint[0], '--input', tmp_path / 'nothing',
                    '--output', tmp_path / 'out')
  assert result.returncode == 2 and 'nothing' in result.stderr


def _unwritable_dir(tmp_path):
  """A folder this process cannot write in: read-only by mode, or /sys when running as root."""
  if os.geteuid() != 0:
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o555)
    return locked / 'out'
  if sys.platform.startswith('linux') and os.path.isdir('/sys'):
    return pathlib.Path('/sys/deblur_out')  # sysfs refuses new folders even to root
  pytest.skip('no read-only folder available to root on this system')


@pytest.mark.parametrize('case', ['under a file', 'a file', 'read-only folder'])
def test_unwritable_output_is_refused_before_the_model_loads(tmp_path, case):
  Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'x.png')
  (tmp_path / 'file').write_text('not a folder')
  output = {'under a file': tmp_path / 'file' / 'out', 'a file': tmp_path / 'file',
            'read-only folder': None}[case] or _unwritable_dir(tmp_path)
  # The checkpoint does not exist: the output error must come first, before any loading.
  result = run_tool('deblur', '--checkpoint', tmp_path / 'missing_ckpt', '--input',
                    tmp_path / 'x.png', '--output', output)
  assert result.returncode == 2, result.stderr
  assert f'cannot write to output folder {output}' in result.stderr
  assert 'missing_ckpt' not in result.stderr and not (tmp_path / 'missing_ckpt').exists()


def test_empty_input_folder_is_exit_code_2(tmp_path, checkpoint):
  (tmp_path / 'empty' / 'sub').mkdir(parents=True)
  (tmp_path / 'empty' / 'notes.txt').write_text('no images here')
  result = run_tool('deblur', '--checkpoint', checkpoint[0], '--input', tmp_path / 'empty',
                    '--output', tmp_path / 'out')
  assert result.returncode == 2
  assert 'no images (.png' in result.stderr and str(tmp_path / 'empty') in result.stderr
  assert not (tmp_path / 'out').exists()
