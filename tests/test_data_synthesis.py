"""Tests for deepdeblur_jax.data.blur_synthesis, io.photos and tools/synthesize_blur.py."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from deepdeblur_jax.data import blur_synthesis
from deepdeblur_jax.io import photos as image_io

REPO = pathlib.Path(__file__).resolve().parents[1]


def _frames(n, h=12, w=16, seed=0):
  rng = np.random.default_rng(seed)
  return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def _write_seq(folder, frames):
  for i, f in enumerate(frames):
    image_io.write_png(pathlib.Path(folder) / f'{i:05d}.png', f)


def test_synthesize_pair_matches_formula():
  frames = _frames(7)
  pair = blur_synthesis.synthesize_pair(frames, gamma=2.2)
  s = np.stack(frames).astype(np.float64) / 255.0
  ref_blur = np.round(s.mean(0) * 255.0 + 1e-9)
  ref_gamma = np.round(((s ** 2.2).mean(0)) ** (1 / 2.2) * 255.0 + 1e-9)
  assert pair['blur'].dtype == np.uint8 and pair['blur_gamma'].dtype == np.uint8
  assert np.abs(pair['blur'].astype(int) - ref_blur).max() == 0
  assert np.abs(pair['blur_gamma'].astype(int) - ref_gamma).max() <= 1
  assert np.mean(pair['blur_gamma'].astype(int) != ref_gamma) < 1e-3
  np.testing.assert_array_equal(pair['sharp'], frames[3])


def test_blur_gamma_brighter_than_linear_blur_on_mixed_frames():
  # Mixing black and white: linear mean 127.5, gamma mean (0.5)**(1/2.2)*255 = 186.
  frames = [np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)]
  pair = blur_synthesis.synthesize_pair(frames, gamma=2.2)
  assert pair['blur'][0, 0, 0] == 128
  assert pair['blur_gamma'][0, 0, 0] == round(0.5 ** (1 / 2.2) * 255)
  np.testing.assert_array_equal(pair['sharp'], frames[1])  # index window // 2


def test_constant_frames_are_unchanged():
  frames = [np.full((3, 3, 3), 77, np.uint8)] * 9
  pair = blur_synthesis.synthesize_pair(frames)
  for key in blur_synthesis.KEYS:
    assert (pair[key] == 77).all(), key


@pytest.mark.parametrize('spec,expected', [('7', (7, 7)), ('7-13', (7, 13)), (9, (9, 9)),
                                           ((7, 13), (7, 13))])
def test_parse_window(spec, expected):
  assert blur_synthesis.parse_window(spec) == expected


@pytest.mark.parametrize('spec', ['13-7', '0', 'x', '1-2-3'])
def test_parse_window_rejects(spec):
  with pytest.raises(ValueError, match='window'):
    blur_synthesis.parse_window(spec)


def test_plan_windows_fixed_and_range():
  rng = np.random.default_rng(0)
  assert blur_synthesis.plan_windows(22, 7, None, rng) == [(0, 7), (7, 7), (14, 7)]
  assert blur_synthesis.plan_windows(10, 7, 1, rng) == [(0, 7), (1, 7), (2, 7), (3, 7)]
  a = blur_synthesis.plan_windows(200, (7, 13), None, np.random.default_rng(5))
  b = blur_synthesis.plan_windows(200, (7, 13), None, np.random.default_rng(5))
  assert a == b
  sizes = {s for _, s in a}
  assert sizes <= set(range(7, 14)) and len(sizes) > 2
  for (s0, w0), (s1, _) in zip(a, a[1:]):
    assert s1 == s0 + w0


def test_synthesize_tree_writes_gopro_layout(tmp_path):
  frames = _frames(15)
  _write_seq(tmp_path / 'frames' / 'seqA', frames)
  _write_seq(tmp_path / 'frames' / 'seqB', _frames(7, seed=1))
  counts = blur_synthesis.synthesize_tree(tmp_path / 'frames', tmp_path / 'out', window=7)
  assert counts == {'seqA': 2, 'seqB': 1}
  for key in blur_synthesis.KEYS:
    names = sorted(p.name for p in (tmp_path / 'out' / 'seqA' / key).iterdir())
    assert names == ['000000.png', '000001.png']
  pair1 = blur_synthesis.synthesize_pair(frames[7:14])
  for key in blur_synthesis.KEYS:
    got = image_io.read_rgb_uint8(tmp_path / 'out' / 'seqA' / key / '000001.png')
    np.testing.assert_array_equal(got, pair1[key])
  record = json.loads((tmp_path / 'out' / 'seqA' / 'synthesis.json').read_text())
  assert record['pairs'][1]['frames'][0] == '00007.png'
  assert not list((tmp_path / 'out').glob('.*'))  # no temporary folders left


def test_single_sequence_folder_and_seeded_range(tmp_path):
  _write_seq(tmp_path / 'seq', _frames(60))
  c1 = blur_synthesis.synthesize_tree(tmp_path / 'seq', tmp_path / 'o1', (7, 13), seed=3)
  c2 = blur_synthesis.synthesize_tree(tmp_path / 'seq', tmp_path / 'o2', (7, 13), seed=3)
  assert c1 == c2 and list(c1) == ['seq']
  r1 = json.loads((tmp_path / 'o1' / 'seq' / 'synthesis.json').read_text())
  r2 = json.loads((tmp_path / 'o2' / 'seq' / 'synthesis.json').read_text())
  assert r1 == r2


def test_error_frames_of_different_sizes(tmp_path):
  frames = _frames(8)
  frames[5] = np.zeros((10, 16, 3), np.uint8)
  _write_seq(tmp_path / 'seq', frames)
  with pytest.raises(ValueError, match='00005.png'):
    blur_synthesis.synthesize_tree(tmp_path / 'seq', tmp_path / 'out', 7)
  assert not (tmp_path / 'out' / 'seq').exists()


def test_error_too_few_frames(tmp_path):
  _write_seq(tmp_path / 'seq', _frames(5))
  with pytest.raises(ValueError, match=r'seq: 5 frames, fewer than the window 7'):
    blur_synthesis.synthesize_tree(tmp_path / 'seq', tmp_path / 'out', 7)


def test_error_corrupt_frame_leaves_nothing(tmp_path):
  _write_seq(tmp_path / 'seq', _frames(14))
  png = (tmp_path / 'seq' / '00010.png').read_bytes()
  (tmp_path / 'seq' / '00010.png').write_bytes(png[:len(png) // 2])  # header intact, data cut
  with pytest.raises(ValueError, match='00010.png'):
    blur_synthesis.synthesize_tree(tmp_path / 'seq', tmp_path / 'out', 7)
  assert not (tmp_path / 'out' / 'seq').exists()
  assert not [p for p in (tmp_path / 'out').iterdir()]  # temp folder removed


def test_read_rgb_uint8_converts_modes(tmp_path):
  gray = np.arange(20, dtype=np.uint8).reshape(4, 5)
  Image.fromarray(gray).save(tmp_path / 'g.png')
  got = image_io.read_rgb_uint8(tmp_path / 'g.png')
  assert got.shape == (4, 5, 3) and (got == gray[..., None]).all()
  rgba = np.random.default_rng(0).integers(0, 256, (4, 5, 4), dtype=np.uint8)
  Image.fromarray(rgba, 'RGBA').save(tmp_path / 'a.png')
  got = image_io.read_rgb_uint8(tmp_path / 'a.png')
  assert got.shape == (4, 5, 3)
  assert image_io.image_size(tmp_path / 'a.png') == (4, 5)


def test_read_rgb_uint8_errors_name_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match='missing.png'):
    image_io.read_rgb_uint8(tmp_path / 'missing.png')
  (tmp_path / 'bad.png').write_bytes(b'not an image at all')
  with pytest.raises(ValueError, match='bad.png'):
    image_io.read_rgb_uint8(tmp_path / 'bad.png')


def test_write_png_atomic_roundtrip(tmp_path):
  img = np.random.default_rng(1).integers(0, 256, (6, 7, 3), dtype=np.uint8)
  image_io.write_png(tmp_path / 'a' / 'b' / 'x.png', img)
  np.testing.assert_array_equal(image_io.read_rgb_uint8(tmp_path / 'a' / 'b' / 'x.png'), img)
  assert [p.name for p in (tmp_path / 'a' / 'b').iterdir()] == ['x.png']
  with pytest.raises(ValueError, match='y.png'):
    image_io.write_png(tmp_path / 'y.png', img.astype(np.float32))


def test_cli_runs_and_reports_errors(tmp_path):
  _write_seq(tmp_path / 'frames' / 's1', _frames(20))
  cmd = [sys.executable, str(REPO / 'tools' / 'synthesize_blur.py'), '--frames',
         str(tmp_path / 'frames'), '--out', str(tmp_path / 'out'), '--window', '7-9',
         '--seed', '1', '--gamma', '2.2']
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert 'pairs' in proc.stdout
  n = len(list((tmp_path / 'out' / 's1' / 'blur_gamma').glob('*.png')))
  assert n == 2
  frames = _frames(20)  # the written pairs against the formula, on the frames the record names
  record = json.loads((tmp_path / 'out' / 's1' / 'synthesis.json').read_text())['pairs']
  for i, pair in enumerate(record):
    window = [frames[int(name[:5])] for name in pair['frames']]
    assert 7 <= len(window) <= 9
    s = np.stack(window).astype(np.float64) / 255.0
    written = {key: image_io.read_rgb_uint8(tmp_path / 'out' / 's1' / key / f'{i:06d}.png')
               for key in blur_synthesis.KEYS}
    assert np.abs(written['blur'] - s.mean(0) * 255.0).max() <= 0.5 + 1e-6
    gamma = (s ** 2.2).mean(0) ** (1 / 2.2) * 255.0
    assert np.abs(written['blur_gamma'] - gamma).max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(written['sharp'], window[len(window) // 2])
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)  # exists already
  assert proc.returncode == 1 and 's1' in proc.stderr
  cmd[cmd.index('--window') + 1] = '30'
  proc = subprocess.run(cmd[:5] + [str(tmp_path / 'out2')] + cmd[6:], capture_output=True,
                        text=True, cwd=tmp_path)
  assert proc.returncode == 1 and 'fewer than the window 30' in proc.stderr
