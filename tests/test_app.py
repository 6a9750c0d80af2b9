"""tools/app.py, the web page, end to end: the API and a real headless Chromium get the same PNG
as tools/deblur.py; bad uploads get a message and the server keeps serving; requests queue."""

import concurrent.futures
import pathlib
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from deepdeblur_jax.io import video
from deepdeblur_jax.io.photos import write_png
from tests.app_helpers import chromium_path, running_app
from tests.tool_helpers import make_tiny_checkpoint, run_tool

gradio_client = pytest.importorskip('gradio_client', reason='pip install -r requirements-app.txt')
from gradio_client import Client, handle_file  # pylint: disable=wrong-import-position

MAX_PIXELS = 100_000  # the server's --max-pixels: small, so an over-limit photo stays small
MAX_VIDEO_SECONDS = 0.5


def _png_chunk(kind: bytes, data: bytes) -> bytes:
  return (struct.pack('>I', len(data)) + kind + data
          + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def bomb_png(side: int = 60_000) -> bytes:
  """A 100-byte PNG whose header claims side x side RGB pixels (a decompression bomb)."""
  ihdr = struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', ihdr)
          + _png_chunk(b'IDAT', zlib.compress(b'\0' * 64)) + _png_chunk(b'IEND', b''))


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
  """(URL of a running page, the inputs, the CLI's outputs, folder) on a tiny random model."""
  root = tmp_path_factory.mktemp('app')
  ckpt = root / 'ckpt'
  make_tiny_checkpoint(ckpt, rgb_range=255.0)
  rng = np.random.default_rng(0)
  photos = root / 'photos'
  photos.mkdir()
  Image.fromarray((rng.random((45, 61, 3)) * 255).astype(np.uint8)).save(photos / 'rgb.png')
  Image.fromarray((rng.random((45, 61, 3)) * 255).astype(np.uint8)).save(photos / 'other.png')
  write_png(str(photos / 'grey16.png'), (rng.random((45, 61)) * 65535).astype(np.uint16))
  _write_clip(photos / 'clip.mp4', 6, rng)  # 0.24 s
  _write_clip(root / 'long.mp4', 15, rng)  # 0.6 s, over MAX_VIDEO_SECONDS
  cli = run_tool('deblur', '--checkpoint', ckpt, '--input', photos, '--output', root / 'cli')
  assert cli.returncode == 0, cli.stderr
  with running_app(ckpt, root, '--max-pixels', str(MAX_PIXELS), '--max-video-seconds',
                   str(MAX_VIDEO_SECONDS)) as url:
    yield url, photos, root / 'cli', root


def _write_clip(path: pathlib.Path, frames: int, rng: np.random.Generator) -> None:
  writer = video.VideoWriter(path, 48, 64, 25, 'h264')
  for i in range(frames):
    writer.write((rng.random((48, 64, 3)) * 255).astype(np.uint8), i / 25)
  writer.close()


def _pixels(path) -> np.ndarray:
  with Image.open(path) as im:
    return np.asarray(im)


def test_api_gives_the_cli_png(setup):
  url, photos, cli, _ = setup
  client = Client(url, verbose=False)
  for name in ('rgb.png', 'grey16.png'):  # an 8-bit RGB and a 16-bit grey photo
    result = pathlib.Path(client.predict(handle_file(str(photos / name)), api_name='/deblur'))
    assert result.name == name.replace('.png', '_deblurred.png')
    want = cli / name
    np.testing.assert_array_equal(_pixels(result), _pixels(want))
    assert result.read_bytes() == want.read_bytes()  # written exactly as tools/deblur.py writes


def test_bad_uploads_get_a_message_and_the_server_keeps_serving(setup):
  url, photos, cli, root = setup
  bad = root / 'bad'
  bad.mkdir()
  (bad / 'notes.png').write_text('not an image at all')
  (bad / 'empty.png').write_bytes(b'')
  good = (photos / 'rgb.png').read_bytes()
  (bad / 'cut.png').write_bytes(good[:len(good) // 2])
  (bad / 'bomb.png').write_bytes(bomb_png())
  Image.new('L', (400, 300)).save(bad / 'big.png')  # 120000 pixels > MAX_PIXELS
  expected = {
      'notes.png': 'notes.png is not an image this page reads',
      'empty.png': 'empty.png is empty (0 bytes)',
      'cut.png': 'cut.png cannot be decoded, it is truncated or damaged',
      'bomb.png': 'bomb.png is refused: it claims more pixels than an image may have',
      'big.png': 'big.png is 400x300 = 0.1 megapixels, over this page\'s limit of 0.1 megapixels',
  }
  client = Client(url, verbose=False)
  for name, message in expected.items():
    with pytest.raises(Exception, match='.') as error:
      client.predict(handle_file(str(bad / name)), api_name='/deblur')
    assert message in str(error.value), (name, str(error.value))
    assert str(root) not in str(error.value)  # no server paths (uploads land under root)
  result = client.predict(handle_file(str(photos / 'rgb.png')), api_name='/deblur')
  assert pathlib.Path(result).read_bytes() == (cli / 'rgb.png').read_bytes()


def test_concurrent_requests_are_all_answered(setup):
  url, photos, cli, _ = setup
  names = ['rgb.png', 'other.png', 'grey16.png', 'rgb.png']
  with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
    results = list(pool.map(
        lambda n: Client(url, verbose=False).predict(handle_file(str(photos / n)),
                                                     api_name='/deblur'), names))
  for name, result in zip(names, results):
    assert pathlib.Path(result).read_bytes() == (cli / name).read_bytes(), name


def test_video_api_gives_the_cli_clip_and_refuses_a_long_one(setup):
  url, photos, cli, root = setup
  client = Client(url, verbose=False)
  result = pathlib.Path(client.predict(handle_file(str(photos / 'clip.mp4')),
                                       api_name='/deblur_video'))
  assert result.name == 'clip_deblurred.mp4'
  got = [f.rgb for f in video.read_frames(result)]
  want = [f.rgb for f in video.read_frames(cli / 'clip.mp4')]
  assert len(got) == len(want) == 6
  for g, w in zip(got, want):
    np.testing.assert_array_equal(g, w)
  with pytest.raises(Exception, match='long.mp4 lasts 0.6 s, over this page.s limit of 0.5 s'):
    client.predict(handle_file(str(root / 'long.mp4')), api_name='/deblur_video')
  with pytest.raises(Exception, match='rgb.png is not a video file this page reads'):
    client.predict(handle_file(str(photos / 'rgb.png')), api_name='/deblur_video')
  (root / 'junk.mp4').write_bytes(b'\0\0\0\x18ftypmp42 not really a video')
  with pytest.raises(Exception, match='junk.mp4') as error:
    client.predict(handle_file(str(root / 'junk.mp4')), api_name='/deblur_video')
  assert str(root) not in str(error.value) and '/tmp' not in str(error.value), str(error.value)
  assert pathlib.Path(client.predict(handle_file(str(photos / 'rgb.png')),  # still serving
                                     api_name='/deblur')).is_file()


def test_in_headless_chromium(setup):
  """The page in a real browser: model info, upload, deblur, the slider, download = CLI PNG;
  the video tab's clip = CLI clip; a bad file shows its message."""
  browser_path = chromium_path()
  if browser_path is None:
    pytest.skip('no Chromium installed (Debian: apt-get install chromium)')
  sync_api = pytest.importorskip('playwright.sync_api', reason='pip install -r requirements-app.txt')
  url, photos, cli, root = setup
  (root / 'junk.png').write_text('definitely not a photo')
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=browser_path, headless=True,
                                args=['--no-sandbox', '--disable-gpu'])
    try:
      page = browser.new_page(accept_downloads=True)
      page.goto(url)
      sync_api.expect(page.locator('#model-info')).to_contain_text('3 scales', timeout=60_000)
      page.locator('#upload input[type=file]').set_input_files(str(photos / 'rgb.png'))
      sync_api.expect(page.locator('#upload')).to_contain_text('rgb', timeout=60_000)  # uploaded
      page.locator('#deblur-button').click()
      link = page.locator('#result a[download="rgb_deblurred.png"]')
      link.wait_for(timeout=120_000)
      sync_api.expect(page.locator('#slider img')).to_have_count(2, timeout=60_000)
      with page.expect_download() as download:
        link.click()
      saved = root / 'browser_download.png'
      download.value.save_as(saved)
      assert download.value.suggested_filename == 'rgb_deblurred.png'
      assert saved.read_bytes() == (cli / 'rgb.png').read_bytes()

      page.get_by_role('tab', name='Video').click()  # the clip: progress, preview, download
      page.locator('#clip-upload input[type=file]').set_input_files(str(photos / 'clip.mp4'))
      sync_api.expect(page.locator('#clip-upload')).to_contain_text('clip', timeout=60_000)
      page.locator('#deblur-clip-button').click()
      link = page.locator('#clip-result a[download="clip_deblurred.mp4"]')
      link.wait_for(timeout=120_000)
      sync_api.expect(page.locator('#clip-preview video')).to_have_count(1, timeout=60_000)
      with page.expect_download() as download:
        link.click()
      saved = root / 'browser_download.mp4'
      download.value.save_as(saved)
      got = [f.rgb for f in video.read_frames(saved)]
      want = [f.rgb for f in video.read_frames(cli / 'clip.mp4')]
      assert len(got) == len(want) == 6
      assert all(np.array_equal(g, w) for g, w in zip(got, want))

      page.goto(url)
      sync_api.expect(page.locator('#model-info')).to_contain_text('3 scales', timeout=60_000)
      page.locator('#upload input[type=file]').set_input_files(str(root / 'junk.png'))
      sync_api.expect(page.locator('#upload')).to_contain_text('junk', timeout=60_000)  # uploaded
      page.locator('#deblur-button').click()
      sync_api.expect(page.get_by_text('junk.png is not an image this page reads')).to_be_visible(
          timeout=60_000)
    finally:
      browser.close()
