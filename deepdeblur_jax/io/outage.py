"""A bucket that cannot be reached: bounded retries, then one error naming it.

Left to themselves the storage libraries keep retrying an unreachable bucket for minutes:
gcsfs retries each request six times over about 34 seconds, TensorStore (Orbax's arrays) up to
32 times with delays of up to 32 seconds, and a run that fails goes on to flush TensorBoard,
release its lock and write error.log, each retried again. Here:

- each failing request to a bucket is retried for at most DEEPDEBLUR_STORAGE_RETRY_SECONDS
  (default 30) in total, by gcsfs (`bound_gcsfs`) and by TensorStore (`bound_orbax`, through
  the TensorStore context Orbax opens its arrays with: `gcs_request_retries`);
- a stalled request fails rather than waiting (aiohttp's default is 5 minutes): gcsfs gets 10 s
  to connect and the retry time without receiving a byte; TensorStore's curl 10 s to connect
  (set in deepdeblur_jax.io.storage.configure);
- once a gcsfs request has run out of retries because the server cannot be reached, it raises
  StorageUnreachableError (`storage gs://bucket/object unreachable: <reason>`), and until a
  request succeeds again every other request is tried once, without retries, so the failed run's
  clean-up (lock, TensorBoard, error.log) costs no further waiting;
- `unreachable_message(exc)` turns such an error, or TensorStore's, into that one line.

Short outages within the retry time are ridden out as before.
"""

import asyncio
import os
import random
import re
import sys
import threading
import time
import urllib.parse
from typing import Any, Optional

RETRY_SECONDS_ENV = 'DEEPDEBLUR_STORAGE_RETRY_SECONDS'
DEFAULT_RETRY_SECONDS = 30.0
_INITIAL_DELAY, _MAX_DELAY = 1.0, 8.0


class StorageUnreachableError(ConnectionError):
  """A bucket could not be reached within the retry time; the message names the URL."""

  def __init__(self, url: str, reason: str):
    super().__init__(f'storage {url} unreachable: {reason}')
    self.url = url
    self.reason = reason


def _late_callback_error(exc: Optional[BaseException]) -> bool:
  """A callback of a storage operation arriving after its event loop was closed."""
  return (isinstance(exc, RuntimeError) and str(exc) == 'Event loop is closed'
          and _OUTAGE.down)


def quiet_late_callbacks() -> None:
  """During an outage, hides the 'Event loop is closed' tracebacks of requests that fail after
  the operation that started them has given up (TensorStore completes its futures from its own
  threads); everything else is reported as before."""
  unraisable, excepthook = sys.unraisablehook, sys.excepthook

  def on_unraisable(info: Any) -> None:
    if not _late_callback_error(info.exc_value):
      unraisable(info)

  def on_exception(kind: Any, value: Any, tb: Any) -> None:
    if not _late_callback_error(value):
      excepthook(kind, value, tb)

  sys.unraisablehook, sys.excepthook = on_unraisable, on_exception


def retry_seconds(environ: Any = None) -> float:
  """How long a failing request to a bucket is retried (DEEPDEBLUR_STORAGE_RETRY_SECONDS)."""
  value = (os.environ if environ is None else environ).get(RETRY_SECONDS_ENV, '')
  try:
    return max(0.0, float(value)) if value else DEFAULT_RETRY_SECONDS
  except ValueError:
    return DEFAULT_RETRY_SECONDS


def _delays(budget: float) -> list:
  """The back-off delays (1, 2, 4, 8, 8, ... s) whose sum stays within `budget` seconds."""
  delays, total, delay = [], 0.0, _INITIAL_DELAY
  while total + delay <= budget:
    delays.append(delay)
    total += delay
    delay = min(2 * delay, _MAX_DELAY)
  return delays


def tensorstore_retries(budget: Optional[float] = None) -> dict:
  """TensorStore's `gcs_request_retries` context resource for a retry time of `budget` s."""
  budget = retry_seconds() if budget is None else budget
  return {'max_retries': max(1, len(_delays(budget)) + 1),
          'initial_delay': f'{_INITIAL_DELAY:g}s', 'max_delay': f'{_MAX_DELAY:g}s'}


class _Outage:
  """Whether the last gcsfs request ran out of retries for want of a server (thread-safe)."""

  def __init__(self):
    self._lock = threading.Lock()
    self.down = False
    self.first: Optional[StorageUnreachableError] = None  # the error that began the outage

  def set(self, down: bool, error: Optional[StorageUnreachableError] = None) -> None:
    with self._lock:
      if down and not self.down:
        self.first = error
      self.down = down


_OUTAGE = _Outage()


def _url_of(path: str, args: tuple) -> str:
  """gs://bucket/object of a gcsfs request: a JSON API path ('b/{}/o/{}' and its arguments) or
  a full URL (uploads: .../b/BUCKET/o?name=OBJECT)."""
  if '://' in path:
    parts = urllib.parse.urlsplit(path)
    found = re.search(r'/b/([^/?]+)(?:/o/?([^?]*))?', parts.path)
    name = urllib.parse.parse_qs(parts.query).get('name', [''])[0]
    if found:
      key = urllib.parse.unquote(found.group(2) or '') or name
      return f'gs://{found.group(1)}/{key}'.rstrip('/')
    return path.split('?')[0]
  text = path.format(*[str(a) for a in args[:path.count('{}')]])
  found = re.match(r'b/([^/]+)(?:/o/?(.*))?', text)
  return f'gs://{found.group(1)}/{found.group(2) or ""}'.rstrip('/') if found else f'gs://{text}'


def _unreachable_reason(exc: BaseException) -> Optional[str]:
  """A short reason when `exc` says the server could not be reached (connection refused or
  reset, DNS, timeouts, 5xx after retries), else None."""
  import aiohttp  # pylint: disable=g-import-not-at-top
  from gcsfs.retry import HttpError  # pylint: disable=g-import-not-at-top
  if isinstance(exc, aiohttp.ClientConnectorError):
    return f'cannot connect to {exc.host}:{exc.port} ({exc.strerror or exc.os_error})'
  if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError, TimeoutError)):
    return f'no answer ({exc or type(exc).__name__})'
  if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
    return f'{type(exc).__name__}: {exc}'.rstrip(': ')
  if isinstance(exc, HttpError) and str(exc.code).startswith('5'):
    return f'HTTP {exc.code}: {exc.message}'
  return None


def _stall_timeout(fs: Any, budget: float) -> None:
  """Gives a gcsfs file system without a request timeout of its own one for stalled requests: at
  most 10 s to connect and `budget` s without a byte (aiohttp's default: 5 minutes per request)."""
  import aiohttp  # pylint: disable=g-import-not-at-top
  if fs.requests_timeout is None or getattr(fs, '_stall_timeout', False):
    seconds = max(1.0, budget)
    fs.requests_timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(10.0, seconds),
                                                sock_read=seconds)
    fs._stall_timeout = True  # pylint: disable=protected-access


def _bounded(request: Any) -> Any:
  """gcsfs's undecorated `_request` with time-bounded retries (see the module doc)."""
  from gcsfs.retry import HttpError, is_retriable  # pylint: disable=g-import-not-at-top

  async def _request(self, method, path, *args, **kwargs):
    budget = retry_seconds()
    _stall_timeout(self, budget)
    start, delays = time.monotonic(), [] if _OUTAGE.down else _delays(budget)
    for attempt in range(len(delays) + 1):
      try:
        result = await request(self, method, path, *args, **kwargs)
      except Exception as e:  # pylint: disable=broad-except
        if isinstance(e, HttpError) and e.code in (404, '404'):
          raise
        if is_retriable(e) and attempt < len(delays):
          # Jitter only shortens a delay, so the planned delays (summing to at most the budget)
          # all fit unless the requests themselves took the time.
          delay = delays[attempt] * (0.75 + 0.25 * random.random())
          if time.monotonic() - start + delay <= budget:
            await asyncio.sleep(delay)
            continue
        reason = _unreachable_reason(e)
        if reason is None:
          raise
        url = _url_of(path, args)
        if url.count('/') == 2 and kwargs.get('prefix'):  # a listing: name what it lists
          url = f'{url}/{kwargs["prefix"]}'.rstrip('/')
        error = StorageUnreachableError(url, reason)
        _OUTAGE.set(True, error)
        raise error from e
      _OUTAGE.set(False)
      return result

  _request.bounded = True
  return _request


def bound_gcsfs() -> None:
  """Replaces gcsfs's fixed six retries per request by the bounded ones above (once)."""
  from gcsfs import core  # pylint: disable=g-import-not-at-top
  current = core.GCSFileSystem._request  # pylint: disable=protected-access
  if getattr(current, 'bounded', False):
    return
  core.GCSFileSystem._request = _bounded(current.__wrapped__)  # pylint: disable=protected-access


def bound_orbax() -> None:
  """Adds `gcs_request_retries` to every TensorStore context Orbax creates (once)."""
  from orbax.checkpoint._src.serialization import tensorstore_utils  # pylint: disable=g-import-not-at-top
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  original = tensorstore_utils.get_ts_context
  if getattr(original, 'bounded', False):
    return

  def get_ts_context(**kwargs: Any) -> Any:
    return ts.Context(ts.Context.Spec({'gcs_request_retries': tensorstore_retries()}),
                      parent=original(**kwargs))

  get_ts_context.bounded = True
  tensorstore_utils.get_ts_context = get_ts_context


_TENSORSTORE_UNREACHABLE = re.compile(
    r'(All \d+ retry attempts failed: )?CURL error ([^\[]*)|UNAVAILABLE: (.*)')
_URL = re.compile(r'gs://[A-Za-z0-9._\-/]+')


def unreachable_message(exc: BaseException, fallback_url: str = '') -> Optional[str]:
  """`storage URL unreachable: reason` when `exc` (or an exception it was raised from or while
  handling) says a bucket could not be reached, else None; of several, the first that happened.
  URL: the one in the error, else `fallback_url`."""
  message, seen = None, set()
  while exc is not None and id(exc) not in seen:
    seen.add(id(exc))
    if isinstance(exc, StorageUnreachableError):
      first = _OUTAGE.first  # clean-up after the failure may have hit the outage again
      message = str(first if _OUTAGE.down and first is not None else exc)
    else:
      text = str(exc)
      found = _TENSORSTORE_UNREACHABLE.search(text)
      url = _URL.search(text)
      if found and (url or fallback_url):
        reason = (found.group(2) or found.group(3) or '').split(' [')[0].strip().rstrip('.:')
        message = f'storage {url.group(0) if url else fallback_url} unreachable: {reason}'
    exc = exc.__cause__ or exc.__context__
  return message
