"""tools/app.py, the web page, end to end: the API and a real headless Chromium get the same PNG
as tools/deblur.py; bad uploads get a message and the server keeps serving; requests queue."""

import asyncio
import base64
import concurrent.futures
import io
import json
import pathlib
import re
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
CLIP_FRAMES = 6  # at 25 fps


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
  _write_clip(photos / 'clip.mp4', CLIP_FRAMES, rng)  # 0.24 s
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
  job = client.submit(handle_file(str(photos / 'clip.mp4')), api_name='/deblur_video')
  result = pathlib.Path(job.result())
  assert result.name == 'clip_deblurred.mp4'
  reports = _progress_reports(job)  # frames done out of the total, while it ran
  assert reports, 'no progress reported'
  for report in reports:
    assert (report.unit, report.length, report.desc) == (
        'frames', CLIP_FRAMES, f'{report.index} frames'), report
  done = [report.index for report in reports]
  assert done == sorted(done) and 0 <= done[0] and done[-1] <= CLIP_FRAMES, done
  _assert_same_clip(result, cli / 'clip.mp4')
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


def _assert_same_clip(got: pathlib.Path, want: pathlib.Path) -> None:
  """Both clips have CLIP_FRAMES frames with equal pixels."""
  got_frames = [f.rgb for f in video.read_frames(got)]
  want_frames = [f.rgb for f in video.read_frames(want)]
  assert len(got_frames) == len(want_frames) == CLIP_FRAMES
  for g, w in zip(got_frames, want_frames):
    np.testing.assert_array_equal(g, w)


def _progress_reports(job) -> list:
  """The gr.Progress reports (ProgressUnit: index, length, unit, desc) that the status updates
  of the finished gradio_client `job` carried, in order."""
  async def collect() -> list:
    return [unit async for update in job for unit in getattr(update, 'progress_data', None) or []]
  return asyncio.run(collect())


def test_in_headless_chromium(setup):
  """The page in a real browser: model info, upload, deblur, the slider, download = CLI PNG; the
  same for a photo pasted from the clipboard; the video tab shows the frames' progress and its
  clip = CLI clip; a bad file and a pasted photo over the limit show their message."""
  browser_path = chromium_path()
  if browser_path is None:
    pytest.skip('no Chromium installed (Debian: apt-get install chromium)')
  sync_api = pytest.importorskip('playwright.sync_api', reason='pip install -r requirements-app.txt')
  url, photos, cli, root = setup
  (root / 'junk.png').write_text('definitely not a photo')
  big = root / 'big_paste.png'
  Image.new('RGB', (400, 300)).save(big)  # 120000 pixels > MAX_PIXELS
  with sync_api.sync_playwright() as p:
    browser = p.chromium.launch(executable_path=browser_path, headless=True,
                                args=['--no-sandbox', '--disable-gpu'])
    try:
      context = browser.new_context(accept_downloads=True)  # pasting reads the clipboard
      context.grant_permissions(['clipboard-read', 'clipboard-write'], origin=url.rstrip('/'))
      page = context.new_page()
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

      _paste_and_check(page, photos / 'other.png', cli / 'other.png', root)

      page.get_by_role('tab', name='Video').click()  # the clip: progress, preview, download
      page.locator('#clip-upload input[type=file]').set_input_files(str(photos / 'clip.mp4'))
      sync_api.expect(page.locator('#clip-upload')).to_contain_text('clip', timeout=60_000)
      page.evaluate(RECORD_PROGRESS_JS)
      page.locator('#deblur-clip-button').click()
      link = page.locator('#clip-result a[download="clip_deblurred.mp4"]')
      link.wait_for(timeout=120_000)
      shown = page.evaluate('window.progressSeen')  # e.g. "4/6 frames | 0.2s 4 frames - 66.7%"
      assert any(re.search(rf'\b(\d+)/{CLIP_FRAMES} frames\b.*\b\1 frames\b', text) and not done
                 for text, done in shown), shown  # while it ran, before the result came
      sync_api.expect(page.locator('#clip-preview video')).to_have_count(1, timeout=60_000)
      with page.expect_download() as download:
        link.click()
      saved = root / 'browser_download.mp4'
      download.value.save_as(saved)
      _assert_same_clip(saved, cli / 'clip.mp4')

      page.goto(url)
      sync_api.expect(page.locator('#model-info')).to_contain_text('3 scales', timeout=60_000)
      page.locator('#upload input[type=file]').set_input_files(str(root / 'junk.png'))
      sync_api.expect(page.locator('#upload')).to_contain_text('junk', timeout=60_000)  # uploaded
      page.locator('#deblur-button').click()
      sync_api.expect(page.get_by_text('junk.png is not an image this page reads')).to_be_visible(
          timeout=60_000)
      page.evaluate(COPY_PNG_JS, base64.b64encode(big.read_bytes()).decode())
      page.locator('#paste').get_by_text('Paste from clipboard').click()  # the box itself
      sync_api.expect(page.get_by_text('pasted.png is 400x300 = 0.1 megapixels')).to_be_visible(
          timeout=60_000)  # a pasted photo's messages call it pasted.png
    finally:
      browser.close()


# Records, from before the click on, each text the clip result's box shows (Gradio renders the
# gr.Progress there) and whether the result had arrived by then: the clip is deblurred too fast
# to poll for the progress afterwards.
RECORD_PROGRESS_JS = """() => {
  window.progressSeen = [];
  new MutationObserver(() => {
    const box = document.querySelector('#clip-result');
    const text = box.innerText.replace(/\\s+/g, ' ').trim();
    const seen = [text, box.querySelector('a[download]') !== null];
    const last = window.progressSeen[window.progressSeen.length - 1];
    if (!last || last[0] !== seen[0] || last[1] !== seen[1]) window.progressSeen.push(seen);
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true});
}"""

# Puts the PNG (base64) on the clipboard as a browser does when a user copies an image, and
# returns the PNG the clipboard then holds (the browser re-encodes it) as base64.
COPY_PNG_JS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const png = new Blob([bytes], {type: 'image/png'});
  await navigator.clipboard.write([new ClipboardItem({'image/png': png})]);
  const held = await (await navigator.clipboard.read())[0].getType('image/png');
  const back = new Uint8Array(await held.arrayBuffer());
  let s = '';
  for (const b of back) s += String.fromCharCode(b);
  return btoa(s);
}"""


def _paste_and_check(page, photo: pathlib.Path, want: pathlib.Path,
                     root: pathlib.Path) -> None:
  """Copies `photo` to the clipboard, pastes it with the paste box's clipboard button, and checks
  that the download is `want` (the CLI's PNG for `photo`) and the slider shows the pair."""
  held = base64.b64decode(page.evaluate(COPY_PNG_JS, base64.b64encode(photo.read_bytes())
                                        .decode()))
  np.testing.assert_array_equal(_pixels(io.BytesIO(held)), _pixels(photo))  # same pixels
  before = page.evaluate(SLIDER_SOURCES_JS)
  page.locator('#paste').get_by_label('Paste from clipboard').click()
  link = page.locator('#result a[download="pasted_deblurred.png"]')
  link.wait_for(timeout=120_000)
  page.wait_for_function(f'({SLIDER_SOURCES_JS})().join() !== {json.dumps(before)}.join()',
                         timeout=60_000)
  with page.expect_download() as download:
    link.click()
  saved = root / 'browser_paste_download.png'
  download.value.save_as(saved)
  assert download.value.suggested_filename == 'pasted_deblurred.png'
  assert saved.read_bytes() == want.read_bytes()
  uploads = (root / 'gradio').rglob('*.png')  # the server got the clipboard's PNG as it was
  assert held in [upload.read_bytes() for upload in uploads]
  shown = [_pixels(io.BytesIO(page.request.get(src).body()))
           for src in page.evaluate(SLIDER_SOURCES_JS)]
  assert len(shown) == 2
  np.testing.assert_array_equal(shown[0], _pixels(photo))
  np.testing.assert_array_equal(shown[1], _pixels(want))


SLIDER_SOURCES_JS = "() => Array.from(document.querySelectorAll('#slider img'), i => i.src)"
