"""One training run per workdir: an exclusive lock file WORKDIR/train.lock held by process 0.

The lock is a JSON file {host, pid, start_time, ...} made by hard-linking a fully written
temporary file to the lock name: link() is atomic and fails when the name exists, on local
disks and on NFS alike, so two runs can never both hold it and a reader never sees a half-written
lock. A lock left by a dead process on this host is taken over with a warning; a lock held by a
live process, or by another host (whose processes cannot be checked from here), refuses the run
with a message naming the holder.

In a bucket (WORKDIR gs://...), the lock object is created with one upload under the precondition
ifGenerationMatch=0, which the server checks atomically, so of two runs only one gets it. A lock
left there by a dead process is taken over only when it names this host and its pid is gone;
one from another host (no pid can be checked across hosts) refuses the run until someone who
knows that run is dead deletes the object.
"""

import contextlib
import datetime
import json
import os
import signal
import socket
import threading
import uuid
from typing import Any, Dict, Iterator, Optional

from absl import logging

from deepdeblur_jax.io import storage

LOCK_FILE = 'train.lock'


class WorkdirLockedError(RuntimeError):
  """Another training run holds the workdir; the message names its host, pid and start time."""


def _process_start_ticks(pid: int) -> Optional[int]:
  """Start time of `pid` in clock ticks since boot (Linux /proc), None where unknown."""
  try:
    with open(f'/proc/{pid}/stat') as f:
      stat = f.read()
    return int(stat.rsplit(')', 1)[1].split()[19])
  except (OSError, ValueError, IndexError):
    return None


def _alive(info: Dict[str, Any]) -> bool:
  """True unless the lock's process is certainly gone (same host only)."""
  try:
    pid = int(info['pid'])
  except (KeyError, TypeError, ValueError):
    return True
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True  # exists, owned by someone else
  saved, now = info.get('process_start_ticks'), _process_start_ticks(pid)
  return saved is None or now is None or int(saved) == now  # a reused pid is another process


def _read(path: str) -> Optional[Dict[str, Any]]:
  try:
    if storage.is_url(path):
      info = json.loads(storage.read_bytes(path))
    else:
      with open(path) as f:
        info = json.load(f)
    return info if isinstance(info, dict) else {}
  except FileNotFoundError:
    return None
  except (OSError, ValueError):
    return {}


def describe(info: Dict[str, Any]) -> str:
  """'host H, pid P, started T' for a lock's contents."""
  return (f'host {info.get("host", "?")}, pid {info.get("pid", "?")}, '
          f'started {info.get("start_time", "?")}')


class WorkdirLock:
  """Context manager holding WORKDIR/train.lock; released on exit, on exceptions and SIGTERM.

  While held, SIGTERM raises SystemExit(143) wherever the run is (the train loop's own handler,
  which saves a checkpoint first, takes precedence inside the loop), so `finally` blocks and the
  release run. `enabled=False` makes it a no-op (processes other than 0).
  """

  def __init__(self, workdir: str, enabled: bool = True):
    self.path = storage.join(storage.absolute(workdir), LOCK_FILE)
    self.folder = storage.absolute(workdir)
    self.enabled = enabled
    self._token = uuid.uuid4().hex
    self._previous_sigterm: Any = None
    self.held = False

  def _contents(self) -> Dict[str, Any]:
    now = datetime.datetime.now().astimezone()
    return {'host': socket.gethostname(), 'pid': os.getpid(),
            'start_time': now.isoformat(timespec='seconds'),
            'process_start_ticks': _process_start_ticks(os.getpid()), 'token': self._token}

  def _create(self) -> bool:
    """Atomically creates the lock file; False if it exists."""
    if storage.is_url(self.path):
      return storage.create_exclusive(self.path,
                                      (json.dumps(self._contents()) + '\n').encode())
    tmp = f'{self.path}.{self._token}.tmp'
    with open(tmp, 'w') as f:
      json.dump(self._contents(), f)
      f.write('\n')
      f.flush()
      os.fsync(f.fileno())
    try:
      os.link(tmp, self.path)
      return True
    except FileExistsError:
      return False
    except OSError:  # a file system without hard links: exclusive create instead
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        return False
      with open(tmp) as src, os.fdopen(fd, 'w') as dst:
        dst.write(src.read())
      return True
    finally:
      os.unlink(tmp)

  def _take_over_stale(self, stale: Dict[str, Any]) -> bool:
    """Moves a dead process's lock aside (one taker wins); False if someone else got there."""
    if storage.is_url(self.path):
      if _read(self.path) != stale:
        return False
      storage.remove(self.path)
      logging.warning('took over the stale lock %s of a process that no longer runs (%s)',
                      self.path, describe(stale))
      return True
    aside = f'{self.path}.stale-{self._token}'
    try:
      os.rename(self.path, aside)
    except FileNotFoundError:
      return False
    moved = _read(aside)
    if moved != stale:  # a live run replaced the stale lock meanwhile: give it back
      try:
        os.link(aside, self.path)
      except OSError:
        pass
      os.unlink(aside)
      return False
    os.unlink(aside)
    logging.warning('took over the stale lock %s of a process that no longer runs (%s)',
                    self.path, describe(stale))
    return True

  def acquire(self) -> None:
    """Takes the lock or raises WorkdirLockedError naming the holder."""
    if not self.enabled:
      return
    for _ in range(5):
      if self._create():
        self.held = True
        return
      info = _read(self.path)
      if info is None:
        continue  # released meanwhile
      if info.get('host') == socket.gethostname() and not _alive(info):
        self._take_over_stale(info)
        continue
      where = ('' if info.get('host') == socket.gethostname() else
               '; it is on another host: if that run is certainly dead, delete the lock file')
      raise WorkdirLockedError(
          f'workdir {self.folder} is in use by another training run '
          f'({describe(info)}; lock file {self.path}){where}')
    raise WorkdirLockedError(f'could not take the lock {self.path} (it keeps changing)')

  def release(self) -> None:
    """Removes the lock file if it is still ours."""
    if not self.held:
      return
    self.held = False
    info = _read(self.path)
    if info and info.get('token') == self._token:
      storage.remove(self.path)

  def _on_sigterm(self, signum: int, frame: Any) -> None:
    del frame
    raise SystemExit(128 + signum)

  def __enter__(self) -> 'WorkdirLock':
    self.acquire()
    if self.held and threading.current_thread() is threading.main_thread():
      self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
    return self

  def __exit__(self, *exc: Any) -> None:
    if self._previous_sigterm is not None:
      signal.signal(signal.SIGTERM, self._previous_sigterm)
      self._previous_sigterm = None
    self.release()


@contextlib.contextmanager
def hold_for_run(workdir: str) -> Iterator[None]:
  """Creates `workdir` and holds its lock on process 0 for the block; every process raises
  WorkdirLockedError when process 0 could not take it."""
  import jax  # pylint: disable=g-import-not-at-top
  lock = WorkdirLock(workdir, enabled=jax.process_index() == 0)
  error: Optional[WorkdirLockedError] = None
  if lock.enabled:
    storage.makedirs(workdir)
    try:
      lock.__enter__()
    except WorkdirLockedError as e:
      error = e
  if jax.process_count() > 1:
    import numpy as np  # pylint: disable=g-import-not-at-top
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    refused = multihost_utils.process_allgather(np.array([int(error is not None)], np.int32))
    if error is None and np.asarray(refused).any():
      error = WorkdirLockedError(f'process 0 could not lock the workdir {workdir}')
  if error is not None:
    raise error
  try:
    yield
  finally:
    lock.__exit__(None, None, None)
