"""Helpers for the web page tests: start tools/app.py on a free port, find a headless Chromium."""

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.request
from typing import Iterator, Optional

from tests.tool_helpers import REPO, free_port

# Debian's chromium package: /usr/bin/chromium is a shell launcher, the browser itself is here.
CHROMIUM_PATHS = ('/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser')


def chromium_path() -> Optional[str]:
  """The installed Chromium executable, or None."""
  for path in CHROMIUM_PATHS:
    if os.access(path, os.X_OK):
      return path
  return shutil.which('chromium')


@contextlib.contextmanager
def running_app(checkpoint: pathlib.Path, workdir: pathlib.Path, *args: str,
                timeout: float = 240.0) -> Iterator[str]:
  """Runs `python tools/app.py --checkpoint CHECKPOINT args...` on a free port of 127.0.0.1 and
  yields its URL once it answers; stops it (and shows its log on failure) afterwards."""
  port = free_port()
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env.update(JAX_PLATFORMS='cpu', GRADIO_ANALYTICS_ENABLED='False',
             GRADIO_TEMP_DIR=str(workdir / 'gradio'))
  log = workdir / 'app.log'
  with open(log, 'w') as out:
    proc = subprocess.Popen([sys.executable, str(REPO / 'tools' / 'app.py'), '--checkpoint',
                             str(checkpoint), '--port', str(port), *args],
                            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
  url = f'http://127.0.0.1:{port}/'
  try:
    deadline = time.monotonic() + timeout
    while True:
      if proc.poll() is not None:
        raise RuntimeError(f'tools/app.py exited with {proc.returncode}:\n{log.read_text()}')
      try:
        with urllib.request.urlopen(url, timeout=5) as response:
          if response.status == 200:
            break
      except OSError:
        pass
      if time.monotonic() > deadline:
        raise RuntimeError(f'tools/app.py did not answer within {timeout} s:\n{log.read_text()}')
      time.sleep(0.5)
    yield url
  finally:
    proc.terminate()
    try:
      proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
      proc.kill()
      proc.wait()
