"""One run per workdir: the lock file, stale takeover, release; refusal through the real CLI."""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from _train_utils import ROOT, run_python
from deepdeblur_jax.training import workdir_lock
from deepdeblur_jax.training.workdir_lock import LOCK_FILE, WorkdirLock, WorkdirLockedError


def _dead_pid() -> int:
  proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                        capture_output=True, text=True, check=True)
  return int(proc.stdout)


def test_second_lock_is_refused_naming_the_holder(tmp_path):
  with WorkdirLock(str(tmp_path)) as first:
    info = json.loads((tmp_path / LOCK_FILE).read_text())
    assert info['pid'] == os.getpid() and info['host'] == socket.gethostname()
    with pytest.raises(WorkdirLockedError) as e:
      WorkdirLock(str(tmp_path)).acquire()
    message = str(e.value)
    assert f'pid {os.getpid()}' in message and f'host {socket.gethostname()}' in message
    assert f'started {info["start_time"]}' in message and str(tmp_path) in message
    assert first.held
  assert not (tmp_path / LOCK_FILE).exists()


def test_stale_lock_of_dead_process_is_taken_over(tmp_path, caplog):
  stale = {'host': socket.gethostname(), 'pid': _dead_pid(), 'start_time': '2020-01-01T00:00:00'}
  (tmp_path / LOCK_FILE).write_text(json.dumps(stale))
  with caplog.at_level('WARNING'):
    with WorkdirLock(str(tmp_path)):
      assert json.loads((tmp_path / LOCK_FILE).read_text())['pid'] == os.getpid()
  assert 'took over the stale lock' in caplog.text and f'pid {stale["pid"]}' in caplog.text
  assert sorted(os.listdir(tmp_path)) == []  # nothing left behind


def test_reused_pid_is_stale_but_other_host_is_refused(tmp_path):
  # Our own pid with another process start time: the pid was reused, the holder is gone.
  reused = {'host': socket.gethostname(), 'pid': os.getpid(), 'start_time': 'then',
            'process_start_ticks': -1}
  (tmp_path / LOCK_FILE).write_text(json.dumps(reused))
  with WorkdirLock(str(tmp_path)):
    pass
  other = {'host': 'some-other-host', 'pid': _dead_pid(), 'start_time': '2020-01-01T00:00:00'}
  (tmp_path / LOCK_FILE).write_text(json.dumps(other))
  with pytest.raises(WorkdirLockedError, match='host some-other-host.*another host'):
    WorkdirLock(str(tmp_path)).acquire()


def test_released_on_exception(tmp_path):
  with pytest.raises(ZeroDivisionError):
    with WorkdirLock(str(tmp_path)):
      assert (tmp_path / LOCK_FILE).exists()
      _ = 1 / 0
  assert not (tmp_path / LOCK_FILE).exists()


_HOLD = ('import os, signal, sys, time\n'
         'from deepdeblur_jax.training.workdir_lock import WorkdirLock\n'
         'with WorkdirLock(sys.argv[1]):\n'
         '  print("held", flush=True)\n'
         '  time.sleep(120)\n')


def _holder(workdir):
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.Popen([sys.executable, '-c', _HOLD, str(workdir)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == 'held'
  return proc


def test_released_on_sigterm(tmp_path):
  proc = _holder(tmp_path)
  assert (tmp_path / LOCK_FILE).exists()
  proc.send_signal(signal.SIGTERM)
  assert proc.wait(timeout=30) == 128 + signal.SIGTERM
  assert not (tmp_path / LOCK_FILE).exists()


def test_cli_run_on_a_busy_workdir_is_refused_in_one_line(tmp_path):
  proc = _holder(tmp_path)
  try:
    result = run_python(['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
                         f'--workdir={tmp_path}'], {'JAX_PLATFORMS': 'cpu'})
  finally:
    proc.terminate()
    proc.wait(timeout=30)
  assert result.returncode == 1
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert lines[-1].startswith('error: workdir') and f'pid {proc.pid}' in lines[-1], result.stderr
  assert 'Traceback' not in result.stderr
  assert f'host {socket.gethostname()}' in lines[-1] and 'started 20' in lines[-1]
  assert not (tmp_path / 'checkpoints').exists()
  assert not (tmp_path / LOCK_FILE).exists()  # the holder released it on SIGTERM


def test_hold_for_run_makes_the_workdir(tmp_path):
  workdir = tmp_path / 'new' / 'run'
  with workdir_lock.hold_for_run(str(workdir)):
    assert (workdir / LOCK_FILE).exists()
  assert workdir.is_dir() and not (workdir / LOCK_FILE).exists()
