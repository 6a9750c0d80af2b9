"""Training with --workdir=gs://... against a local GCS server (gcp-storage-emulator).

Checkpoints, TensorBoard events, metrics.json and the run lock go to the bucket; a run stopped
by SIGTERM resumes there and ends with the same parameters, bit for bit, as the same run on a
local disk; a second run on the busy bucket workdir is refused with the local message; a server
that goes away in mid-run ends the run within the bounded retry time with one line naming it.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import jax
import numpy as np
import pytest

from _gcs_utils import bucket_names
from _train_utils import ROOT, run_python, tiny_config
from deepdeblur_jax.data import input_pipeline
from deepdeblur_jax.io import storage
from deepdeblur_jax.training import checkpointing, train
from deepdeblur_jax.training.workdir_lock import LOCK_FILE, WorkdirLock, WorkdirLockedError


def _terminate_at(monkeypatch, at_batch):
  """SIGTERM to this process while the train loop takes batch `at_batch`."""
  original = input_pipeline.create_train_iterator

  def create(config, start_step=0, **kwargs):
    for i, batch in enumerate(original(config, start_step=start_step, **kwargs)):
      if start_step + i == at_batch:
        os.kill(os.getpid(), signal.SIGTERM)
      yield batch

  monkeypatch.setattr(input_pipeline, 'create_train_iterator', create)


def _interrupted_then_resumed(workdir, monkeypatch):
  config = tiny_config(num_train_steps=6, checkpoint_every_steps=4, keep_checkpoints=0,
                       eval_every_steps=3)
  with monkeypatch.context() as m:
    _terminate_at(m, 2)
    with pytest.raises(train.TrainingInterrupted) as info:
      train.train_and_evaluate(config, workdir)
  assert info.value.step == 3
  return train.train_and_evaluate(config, workdir)


def _leaves(workdir):
  params, _, step = checkpointing.restore_generator(str(workdir))
  return [np.asarray(x) for x in jax.tree.leaves(params)], step


def test_bucket_run_resumes_after_sigterm_bit_identical_to_local_disk(tmp_path, gcs_prefix,
                                                                       monkeypatch):
  bucket_run = f'{gcs_prefix}/run'
  local = _interrupted_then_resumed(tmp_path / 'run', monkeypatch)
  remote = _interrupted_then_resumed(bucket_run, monkeypatch)
  assert remote['step'] == local['step'] == 6
  assert remote['psnr'] == local['psnr'] and remote['final_train_loss'] == local[
      'final_train_loss']
  a, step_a = _leaves(tmp_path / 'run')
  b, step_b = _leaves(bucket_run)
  assert step_a == step_b == 6 and len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)

  # The lock released:
  assert bucket_names(bucket_run) == ['checkpoints', 'metrics.json', 'tensorboard']
  assert bucket_names(f'{bucket_run}/checkpoints') == ['3', '4', '6']
  metrics = json.loads(storage.read_bytes(f'{bucket_run}/metrics.json'))
  assert metrics['step'] == 6 and metrics['psnr'] == local['psnr']
  events = bucket_names(f'{bucket_run}/tensorboard')
  assert len(events) == 2 and all(e.startswith('events.out.tfevents') for e in events)
  local_sizes = sorted(os.path.getsize(p) for p in (tmp_path / 'run' / 'tensorboard').iterdir())
  remote_sizes = sorted(len(storage.read_bytes(f'{bucket_run}/tensorboard/{e}')) for e in events)
  assert remote_sizes == local_sizes
  assert not os.path.exists('gs:') and not os.path.exists(os.path.join(ROOT, 'gs:'))


def test_bucket_lock_is_created_by_exactly_one_of_many(gcs_prefix):
  workdir = f'{gcs_prefix}/run'
  locks = [WorkdirLock(workdir) for _ in range(6)]
  barrier = threading.Barrier(len(locks))
  outcome = {}

  def take(i):
    barrier.wait()
    try:
      locks[i].acquire()
      outcome[i] = 'held'
    except WorkdirLockedError as e:
      outcome[i] = str(e)

  threads = [threading.Thread(target=take, args=(i,)) for i in range(len(locks))]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  held = [i for i, o in outcome.items() if o == 'held']
  assert len(held) == 1, outcome
  token = json.loads(storage.read_bytes(f'{workdir}/{LOCK_FILE}'))['token']
  assert token == locks[held[0]]._token  # pylint: disable=protected-access
  for i, o in outcome.items():
    if i != held[0]:
      assert o.startswith(f'workdir {workdir} is in use by another training run'), o
  locks[held[0]].release()
  assert not storage.exists(f'{workdir}/{LOCK_FILE}')


def _dead_pid() -> int:
  proc = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                        capture_output=True, text=True, check=True)
  return int(proc.stdout)


def test_bucket_lock_of_a_dead_run_here_is_taken_over_one_from_another_host_refuses(
    gcs_prefix, caplog):
  workdir = f'{gcs_prefix}/run'
  lock_url = f'{workdir}/{LOCK_FILE}'
  stale = {'host': socket.gethostname(), 'pid': _dead_pid(), 'start_time': '2020-01-01T00:00:00'}
  storage.write_bytes(lock_url, json.dumps(stale).encode())
  with caplog.at_level('WARNING'):
    with WorkdirLock(workdir):
      assert json.loads(storage.read_bytes(lock_url))['pid'] == os.getpid()
  assert f'took over the stale lock {lock_url}' in caplog.text
  assert not storage.exists(lock_url)
  other = dict(stale, host='some-other-host')
  storage.write_bytes(lock_url, json.dumps(other).encode())
  with pytest.raises(WorkdirLockedError, match='host some-other-host.*another host: if that run '
                     'is certainly dead, delete the lock file'):
    WorkdirLock(workdir).acquire()
  assert json.loads(storage.read_bytes(lock_url)) == other  # left as it was


_HOLD = ('import sys, time\n'
         'from deepdeblur_jax.training.workdir_lock import WorkdirLock\n'
         'with WorkdirLock(sys.argv[1]):\n'
         '  print("held", flush=True)\n'
         '  time.sleep(120)\n')


def test_second_cli_run_on_a_busy_bucket_workdir_is_refused_like_locally(gcs_server, gcs_prefix):
  workdir = f'{gcs_prefix}/run'
  env = dict(os.environ, PYTHONPATH=ROOT, **gcs_server.env())
  holder = subprocess.Popen([sys.executable, '-c', _HOLD, workdir], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'held'
    result = run_python(['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
                         f'--workdir={workdir}'], dict(gcs_server.env(), JAX_PLATFORMS='cpu'))
  finally:
    holder.terminate()
    holder.wait(timeout=30)
  assert result.returncode == 1, result.stderr[-3000:]
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  assert lines[-1].startswith(f'error: workdir {workdir} is in use by another training run '
                              f'(host {socket.gethostname()}, pid {holder.pid}, started 20'), (
                                  result.stderr[-3000:])
  assert lines[-1].endswith(f'; lock file {workdir}/{LOCK_FILE})')
  assert 'Traceback' not in result.stderr
  assert not storage.exists(f'{workdir}/checkpoints')
  assert not storage.exists(f'{workdir}/{LOCK_FILE}')  # the holder released it on SIGTERM


def test_server_stopped_mid_run_ends_in_one_line_keeps_the_checkpoint_and_the_command_resumes(
    gcs_server, gcs_prefix):
  workdir = f'{gcs_prefix}/run'
  command = [sys.executable, '-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
             f'--workdir={workdir}', '--config.num_train_steps=400',
             '--config.checkpoint_every_steps=50', '--config.eval_every_steps=0',
             '--config.log_every_steps=50']
  retry_seconds = 10  # DEEPDEBLUR_STORAGE_RETRY_SECONDS: a failing request's retry time
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS='cpu', **gcs_server.env(),
             DEEPDEBLUR_STORAGE_RETRY_SECONDS=str(retry_seconds))
  run = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
  try:
    lines = []
    for line in run.stderr:
      lines.append(line)
      if 'saved checkpoint of step 100 ' in line:
        break
    assert run.poll() is None, ''.join(lines[-30:])
    gcs_server.stop()  # the bucket goes away while the run is training and saving
    stopped = time.monotonic()
    try:
      rest = run.communicate(timeout=retry_seconds + 50)[1]
    except subprocess.TimeoutExpired:
      rest = ''
    ended = time.monotonic() - stopped
  finally:
    run.kill()
    run.wait()
    gcs_server.start()
  assert run.returncode == 1 and ended < retry_seconds + 50, (run.returncode, ended, rest[-3000:])
  after = [line for line in rest.splitlines() if line.strip() and 'train.py' not in line]
  assert len(after) == 2, rest[-3000:]  # nothing but the error and where its traceback is
  assert re.fullmatch(rf'error: storage {re.escape(workdir)}/checkpoints/150\S* unreachable: '
                      r'cannot connect to 127\.0\.0\.1:\d+ \(.*\)', after[0]), after[0]
  assert after[1] == '(full traceback with --verbose)'
  _, _, step = checkpointing.restore_generator(workdir)
  assert step == 100  # the cut-off save of step 150 is not a checkpoint
  result = run_python(command[1:], dict(gcs_server.env(), JAX_PLATFORMS='cpu'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'took over the stale lock {workdir}/{LOCK_FILE}' in result.stderr
  assert f'resumed from checkpoint step {step} in {workdir}' in result.stderr
  assert 'done: step 400' in result.stderr
  assert not storage.exists(f'{workdir}/{LOCK_FILE}')
