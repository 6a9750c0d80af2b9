"""Atomic file writes: a temporary file in the target's folder, then a rename.

A reader never sees a half-written file, and a crash leaves the previous file intact.
"""

import contextlib
import json
import os
import pathlib
import tempfile
from typing import IO, Any, Iterator, Union

from deepdeblur_jax.io import storage

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = 'wb') -> Iterator[IO[Any]]:
  """Opens a temporary file next to `path` (creating parent folders) for writing; renames it
  to `path` when the block ends without error and deletes it otherwise. In a bucket (gs://) the
  object is uploaded whole when the block ends without error, which is atomic for readers."""
  if storage.is_url(path):
    with storage.open_for_upload(path, mode) as f:
      yield f
    return
  target = pathlib.Path(path).expanduser()
  target.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix=f'.{target.name}.', suffix='.tmp', dir=target.parent)
  try:
    with os.fdopen(fd, mode) as f:
      yield f
    os.chmod(tmp, 0o644)  # mkstemp makes owner-only files
    os.replace(tmp, target)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_json(path: PathLike, data: Any) -> None:
  """Writes `data` as indented JSON atomically."""
  with atomic_open(path, 'w') as f:
    json.dump(data, f, indent=2)
    f.write('\n')
