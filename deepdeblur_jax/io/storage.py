"""Paths that may be local or in a bucket (`gs://bucket/...`), through etils.epath and gcsfs.

Orbax, Flax and TFDS already take `gs://` paths through etils.epath; this module gives the rest of
the project the same: `path()` is a pathlib.Path for a local path (exactly as before) and an
epath.Path for a URL, and the helpers below write, read and list either. `configure()` runs at
import, before any bucket is touched:

- epath goes through fsspec/gcsfs (EPATH_USE_TF=false), never TensorFlow's GCS file system, so
  every part of the project reaches the same server with the same credentials (the platform's
  defaults: a TPU VM's service account, `gcloud auth application-default login`, ...).
- STORAGE_EMULATOR_HOST (e.g. http://127.0.0.1:9023, the standard setting of the Google client
  libraries, which gcsfs reads) is all a user sets to use a local GCS server instead: it is
  mapped onto TensorStore's own settings (TENSORSTORE_GCS_HTTP_URL, and a dummy
  GOOGLE_AUTH_TOKEN_FOR_TESTING, as an emulator takes any token) and gcsfs's zonal-bucket probe
  (a gRPC call to the real service) is switched off. Settings already present are kept.

An unreachable bucket is retried for a bounded time, then named in one error
(deepdeblur_jax.io.outage).
"""

import contextlib
import io
import os
import pathlib
from typing import IO, Any, Iterator, Union

PathLike = Union[str, os.PathLike]

EMULATOR_ENV = 'STORAGE_EMULATOR_HOST'


def emulator_url(environ: Any = None) -> str:
  """The http(s) URL of STORAGE_EMULATOR_HOST ('' when unset; a bare host:port gets http://)."""
  value = (os.environ if environ is None else environ).get(EMULATOR_ENV, '')
  if value in ('', 'default'):
    return ''
  return value if value.startswith(('http://', 'https://')) else f'http://{value}'


def configure(environ: Any = None) -> None:
  """Sets the libraries' own storage settings from STORAGE_EMULATOR_HOST (see the module doc)."""
  env = os.environ if environ is None else environ
  env.setdefault('EPATH_USE_TF', 'false')
  # TensorStore's HTTP requests: a connection that cannot be made fails after 10 s (and is
  # retried a bounded number of times: deepdeblur_jax.io.outage) rather than after minutes.
  env.setdefault('TENSORSTORE_CURL_CONNECT_TIMEOUT_SECONDS', '10')
  url = emulator_url(env)
  if url:
    env.setdefault('TENSORSTORE_GCS_HTTP_URL', url)
    env.setdefault('GOOGLE_AUTH_TOKEN_FOR_TESTING', 'emulator')
    env.setdefault('GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT', 'false')


configure()


_BOUNDED = []


def is_url(p: PathLike) -> bool:
  """True for `scheme://...` (a bucket), False for a local path.

  The first URL seen bounds gcsfs's retries (deepdeblur_jax.io.outage) before any request."""
  if '://' not in os.fspath(p):
    return False
  if not _BOUNDED:
    from deepdeblur_jax.io import outage  # pylint: disable=g-import-not-at-top
    outage.bound_gcsfs()
    _BOUNDED.append(True)
  return True


def path(p: PathLike, expand_user: bool = True) -> Any:
  """pathlib.Path for a local path (`~` expanded unless told not to), etils.epath.Path for a URL."""
  if is_url(p):
    from etils import epath  # pylint: disable=g-import-not-at-top
    return epath.Path(os.fspath(p).rstrip('/'))
  local = pathlib.Path(os.fspath(p))
  return local.expanduser() if expand_user else local


def absolute(p: PathLike) -> str:
  """os.path.abspath of a local path, or the URL without a trailing slash."""
  if is_url(p):
    return os.fspath(p).rstrip('/')
  return os.path.abspath(os.fspath(p))


def join(base: PathLike, *parts: str) -> str:
  """`base/part/...` as a string, for local paths and URLs alike."""
  if is_url(base):
    return '/'.join([os.fspath(base).rstrip('/')] + [p.strip('/') for p in parts])
  return os.path.join(os.fspath(base), *parts)


def isdir(p: PathLike) -> bool:
  """Whether `p` is a folder (in a bucket: some object has the prefix `p/`)."""
  return path(p).is_dir()


def exists(p: PathLike) -> bool:
  """Whether `p` exists."""
  return path(p).exists()


def makedirs(p: PathLike) -> None:
  """Creates folder `p` and its parents (a bucket has no folders: nothing is written)."""
  if not is_url(p):
    os.makedirs(os.path.expanduser(os.fspath(p)), exist_ok=True)


def filesystem() -> Any:
  """The fsspec file system for gs:// (gcsfs), shared with epath."""
  import fsspec  # pylint: disable=g-import-not-at-top
  return fsspec.filesystem('gs')


def _object(p: PathLike) -> str:
  """'bucket/key' of a gs:// URL."""
  text = os.fspath(p)
  if not text.startswith('gs://'):
    raise ValueError(f'not a gs:// URL: {text}')
  return text[len('gs://'):]


def read_bytes(p: PathLike) -> bytes:
  """The content of file `p` (in a bucket: always fetched afresh, never from a listing cache)."""
  if is_url(p):
    fs = filesystem()
    fs.invalidate_cache(_object(p))
    return fs.cat_file(_object(p))
  return path(p).read_bytes()


def write_bytes(p: PathLike, data: bytes) -> None:
  """Writes file `p` (a bucket object is replaced whole, atomically for readers)."""
  path(p).write_bytes(data)


def create_exclusive(p: PathLike, data: bytes) -> bool:
  """Writes `data` to `p` only if `p` does not exist; False if it does (never overwrites).

  In a bucket this is one upload with the precondition ifGenerationMatch=0, which the server
  checks atomically: of two concurrent creators exactly one succeeds.
  """
  if is_url(p):
    try:
      filesystem().pipe_file(_object(p), data, mode='create')
      return True
    except FileExistsError:
      return False
  fd = os.open(os.fspath(p), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
  with os.fdopen(fd, 'wb') as f:
    f.write(data)
  return True


def remove(p: PathLike) -> None:
  """Deletes file `p`; a missing file is not an error."""
  try:
    if is_url(p):
      filesystem().rm_file(_object(p))
    else:
      os.unlink(os.fspath(p))
  except FileNotFoundError:
    pass


def append_text(p: PathLike, text: str) -> None:
  """Appends `text` to file `p` (a bucket object cannot grow: it is read and written anew)."""
  if is_url(p):
    try:
      old = read_bytes(p)
    except FileNotFoundError:
      old = b''
    write_bytes(p, old + text.encode())
  else:
    with open(p, 'a') as f:
      f.write(text)


@contextlib.contextmanager
def open_for_upload(p: PathLike, mode: str = 'wb') -> Iterator[IO[Any]]:
  """A memory buffer whose content becomes the bucket object `p` when the block ends without
  error (nothing is written otherwise)."""
  buffer: IO[Any] = io.StringIO() if 'b' not in mode else io.BytesIO()
  yield buffer
  data = buffer.getvalue()
  write_bytes(p, data.encode() if isinstance(data, str) else data)


def resolved(p: PathLike) -> str:
  """The resolved local path (symlinks followed), or the URL unchanged: for provenance records."""
  if is_url(p):
    return absolute(p)
  return str(pathlib.Path(os.fspath(p)).resolve())


def readable(p: PathLike) -> Any:
  """What Pillow and open-like readers take: the local path itself, or for a URL an in-memory
  copy of the object (io.BytesIO)."""
  if is_url(p):
    return io.BytesIO(read_bytes(p))
  return p


def files_under(folder: PathLike) -> list:
  """Every file below `folder` (recursively) as paths of `path()`'s kind; in a bucket one
  listing request rather than one per file."""
  if is_url(folder):
    base = absolute(folder)
    scheme = base.split('://', 1)[0]
    return [path(f'{scheme}://{name}') for name in filesystem().find(_object(base))
            if not name.endswith('/')]
  return [p for p in path(folder).rglob('*') if p.is_file()]
