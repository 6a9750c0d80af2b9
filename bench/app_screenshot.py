"""A screenshot of the web page (tools/app.py) after deblurring a photo, taken in headless Chromium.

  python bench/app_screenshot.py --checkpoint CKPT --photo blurry.png --output docs/app_screenshot.png

Starts tools/app.py on a free port of 127.0.0.1, opens it in the OS's Chromium (Debian's
chromium package, driven by Playwright; nothing is downloaded), uploads --photo, waits for the
result and the before/after slider, and saves the page as a PNG reduced to 256 colours (small
enough for the docs).
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import tempfile

from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.app_helpers import chromium_path, running_app


def main() -> None:
  """Parses arguments, takes the screenshot."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--checkpoint', required=True)
  parser.add_argument('--photo', required=True)
  parser.add_argument('--output', required=True)
  parser.add_argument('--width', type=int, default=1200)
  parser.add_argument('--height', type=int, default=760)
  args = parser.parse_args()
  browser_path = chromium_path()
  if browser_path is None:
    sys.exit('no Chromium installed (Debian: apt-get install chromium)')
  with tempfile.TemporaryDirectory() as tmp, \
      running_app(pathlib.Path(args.checkpoint), pathlib.Path(tmp)) as url, \
      sync_playwright() as p:
    browser = p.chromium.launch(executable_path=browser_path, headless=True,
                                args=['--no-sandbox', '--disable-gpu'])
    page = browser.new_page(viewport={'width': args.width, 'height': args.height})
    page.goto(url)
    page.locator('#upload input[type=file]').set_input_files(args.photo)
    page.locator('#deblur-button').click()
    page.locator('#result a[download]').wait_for(timeout=600_000)
    expect(page.locator('#slider img')).to_have_count(2, timeout=60_000)
    page.wait_for_timeout(1000)
    raw = pathlib.Path(tmp) / 'raw.png'
    page.screenshot(path=str(raw))
    browser.close()
    Image.open(raw).convert('RGB').quantize(256).save(args.output, optimize=True)
  print(f'wrote {args.output} ({pathlib.Path(args.output).stat().st_size // 1024} KB)')


if __name__ == '__main__':
  main()
