"""Photo reading/writing: 8/16-bit, grey, RGBA, palette, JPEG, corrupt files, atomic writes."""

import os

import numpy as np
import pytest
from PIL import Image

from deepdeblur_jax.io.photos import ImageError, read_photo, side_by_side, to_array
from deepdeblur_jax.io.photos import write_png
from deepdeblur_jax.io.png16 import encode_png16, read_png16

RNG = np.random.default_rng(0)


@pytest.mark.parametrize('shape', [(5, 7), (5, 7, 1), (6, 3, 3), (4, 9, 4)])
def test_png16_round_trip(tmp_path, shape):
  a = (RNG.random(shape) * 65535).astype(np.uint16)
  path = tmp_path / 'x.png'
  path.write_bytes(encode_png16(a))
  expected = a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a  # grey comes back as HxW
  np.testing.assert_array_equal(read_png16(str(path)), expected)


def test_read_png16_ignores_8bit(tmp_path):
  Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / 'x.png')
  assert read_png16(str(tmp_path / 'x.png')) is None


def test_rgb16_keeps_precision(tmp_path):
  a = (RNG.random((6, 8, 3)) * 65535).astype(np.uint16)
  write_png(str(tmp_path / 'x.png'), a)
  photo = read_photo(str(tmp_path / 'x.png'))
  assert photo.bit_depth == 16 and photo.channels == 3 and photo.alpha is None
  np.testing.assert_array_equal(to_array(photo.rgb, photo), a)


def test_grey_rgba_palette_layouts(tmp_path):
  grey = (RNG.random((5, 6)) * 255).astype(np.uint8)
  Image.fromarray(grey).save(tmp_path / 'g.png')
  photo = read_photo(str(tmp_path / 'g.png'))
  assert photo.rgb.shape == (5, 6, 3) and photo.channels == 1
  np.testing.assert_array_equal(to_array(photo.rgb, photo), grey)

  rgba = (RNG.random((5, 6, 4)) * 255).astype(np.uint8)
  Image.fromarray(rgba).save(tmp_path / 'a.png')
  photo = read_photo(str(tmp_path / 'a.png'))
  out = to_array(np.zeros_like(photo.rgb), photo)
  assert out.shape == (5, 6, 4)
  np.testing.assert_array_equal(out[..., 3], rgba[..., 3])  # alpha passed through

  grey16 = (RNG.random((5, 6)) * 65535).astype(np.uint16)
  Image.fromarray(grey16).save(tmp_path / 'g16.png')
  photo = read_photo(str(tmp_path / 'g16.png'))
  assert photo.bit_depth == 16
  np.testing.assert_array_equal(to_array(photo.rgb, photo), grey16)

  Image.fromarray(rgba[..., :3]).convert('P').save(tmp_path / 'p.png')
  assert read_photo(str(tmp_path / 'p.png')).channels == 3


def test_jpeg(tmp_path):
  """A JPEG reads as Pillow's plain decode / 255, close to the smooth image it encodes; an EXIF
  orientation tag rotates it."""
  yy, xx = np.mgrid[0:16, 0:24]
  rgb = np.stack([yy * 15, xx * 10, 255 - xx * 5], -1).astype(np.uint8)  # smooth: JPEG-friendly
  Image.fromarray(rgb).save(tmp_path / 'x.jpg', quality=95, subsampling=0)  # 4:4:4
  photo = read_photo(str(tmp_path / 'x.jpg'))
  assert photo.rgb.shape == (16, 24, 3) and photo.bit_depth == 8 and photo.channels == 3
  assert photo.rgb.dtype == np.float32 and photo.alpha is None
  with Image.open(tmp_path / 'x.jpg') as im:
    decoded = np.asarray(im.convert('RGB'), np.float32)
  np.testing.assert_allclose(photo.rgb * 255, decoded, atol=1e-4)
  error = np.abs(photo.rgb * 255 - rgb)
  assert error.mean() < 2.0 and error.max() < 12, (error.mean(), error.max())

  exif = Image.Exif()
  exif[0x0112] = 6  # Orientation: the stored image is shown rotated 90 degrees clockwise
  Image.fromarray(rgb).save(tmp_path / 'r.jpg', quality=95, subsampling=0, exif=exif.tobytes())
  rotated = read_photo(str(tmp_path / 'r.jpg')).rgb
  assert rotated.shape == (24, 16, 3)
  np.testing.assert_allclose(rotated, np.rot90(photo.rgb, k=-1), atol=1e-6)


def test_corrupt_and_truncated_files_are_named(tmp_path):
  (tmp_path / 'bad.png').write_bytes(b'junk')
  with pytest.raises(ImageError, match='bad.png'):
    read_photo(str(tmp_path / 'bad.png'))
  Image.fromarray((RNG.random((64, 64, 3)) * 255).astype(np.uint8)).save(tmp_path / 'ok.png')
  data = (tmp_path / 'ok.png').read_bytes()
  (tmp_path / 'cut.png').write_bytes(data[:len(data) // 2])
  with pytest.raises(ImageError, match='cut.png'):
    read_photo(str(tmp_path / 'cut.png'))


def test_write_png_is_atomic_and_side_by_side(tmp_path):
  a = np.zeros((4, 5, 3), np.uint8)
  write_png(str(tmp_path / 'd' / 'x.png'), side_by_side(a, a + 9))
  assert os.listdir(tmp_path / 'd') == ['x.png']
  out = np.asarray(Image.open(tmp_path / 'd' / 'x.png'))
  assert out.shape == (4, 18, 3) and out[0, 5, 0] == 255 and out[0, 13, 0] == 9
  with pytest.raises(ValueError, match='float32'):
    write_png(str(tmp_path / 'y.png'), a.astype(np.float32))
  assert not (tmp_path / 'y.png').exists()
