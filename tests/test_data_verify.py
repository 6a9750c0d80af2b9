"""data.verify: bad data stops training before step 1 with every bad file named; a bad image that
slips past (data.verify=False) ends the run promptly with its name, whatever thread read it."""

import os
import pathlib
import uuid
import time

import numpy as np
import psutil
import pytest
from PIL import Image

from configs import tiny
from deepdeblur_jax.data import grain_pipeline, verify
from deepdeblur_jax.data.verify import DataError
from deepdeblur_jax.training import train
from tests._train_utils import run_python

SIZE = (40, 48)  # every image, unless a test changes it


def _png(path: pathlib.Path, size=SIZE, seed=0) -> None:
  path.parent.mkdir(parents=True, exist_ok=True)
  rng = np.random.default_rng(seed)
  Image.fromarray((rng.random(size + (3,)) * 255).astype(np.uint8)).save(path)


def _truncate(path: pathlib.Path) -> None:
  data = path.read_bytes()
  path.write_bytes(data[:len(data) // 2])  # the header survives: listing still works


def _dataset(root: pathlib.Path, train: int = 4, test: int = 2) -> pathlib.Path:
  """A 'paired' dataset: root/{train,test}/{input,target}/i.png."""
  for split, n in (('train', train), ('test', test)):
    (root / split / 'input').mkdir(parents=True, exist_ok=True)
    (root / split / 'target').mkdir(parents=True, exist_ok=True)
    for i in range(n):
      _png(root / split / 'input' / f'{i}.png', seed=i)
      _png(root / split / 'target' / f'{i}.png', seed=100 + i)
  return root


def _config(root: pathlib.Path, **data):
  config = tiny.get_config()
  config.data.dataset = 'paired'
  config.data.root = str(root)
  config.data.num_parallel_calls = 2
  for key, value in data.items():
    config.data[key] = value
  return config


def _bad_dataset(root: pathlib.Path, case: str) -> tuple[pathlib.Path, str]:
  """A dataset with one problem; returns (root, text the error must contain)."""
  _dataset(root)
  if case == 'truncated train':
    _truncate(root / 'train' / 'input' / '2.png')
    return root, f'{root}/train/input/2.png: image file is truncated'
  if case == 'truncated test':
    _truncate(root / 'test' / 'target' / '1.png')
    return root, f'{root}/test/target/1.png: image file is truncated'
  if case == 'empty test split':
    for p in (root / 'test').rglob('*.png'):
      p.unlink()
    return root, "test split 'test' (config.data.eval_split): no image pairs found"
  if case == 'pair sizes differ':
    _png(root / 'train' / 'target' / '3.png', size=(40, 44))
    return root, (f'{root}/train/input/3.png is 40x48 but its sharp partner '
                  f'{root}/train/target/3.png is 40x44')
  if case == 'patch larger than an image':
    _png(root / 'train' / 'input' / '1.png', size=(24, 48))
    _png(root / 'train' / 'target' / '1.png', size=(24, 48))
    return root, f'{root}/train/input/1.png (and {root}/train/target/1.png) is 24x48, smaller ' \
                 'than patch_size=32'
  raise ValueError(case)


@pytest.mark.parametrize('case', ['truncated train', 'truncated test', 'empty test split',
                                  'pair sizes differ', 'patch larger than an image'])
def test_bad_data_stops_before_step_one_naming_the_file(tmp_path, case):
  root, expected = _bad_dataset(tmp_path / 'data', case)
  workdir = tmp_path / 'run'
  with pytest.raises(verify.DataError) as error:
    train.train_and_evaluate(_config(root), str(workdir))
  assert expected in str(error.value), str(error.value)
  assert str(error.value).startswith('data check failed before training, 1 problem(s)')
  assert not (workdir / 'checkpoints').exists() and not (workdir / 'tensorboard').exists()


def test_one_message_lists_every_bad_file(tmp_path):
  root = _dataset(tmp_path / 'data', train=5, test=3)
  _truncate(root / 'train' / 'input' / '0.png')
  _truncate(root / 'test' / 'input' / '2.png')
  _png(root / 'train' / 'target' / '3.png', size=(40, 52))
  _png(root / 'train' / 'input' / '4.png', size=(40, 20))
  _png(root / 'train' / 'target' / '4.png', size=(40, 20))
  (root / 'train' / 'target' / '1.png').write_bytes(b'not an image')
  with pytest.raises(verify.DataError) as error:
    verify.verify_data(_config(root), workers=3)
  lines = str(error.value).splitlines()
  assert lines[0] == 'data check failed before training, 5 problem(s):'
  for name in ('train/input/0.png', 'test/input/2.png', 'train/target/3.png', 'train/input/4.png',
               'train/target/1.png'):
    assert sum(name in line for line in lines[1:]) == 1, (name, lines)


def test_good_data_passes_and_counts(tmp_path):
  root = _dataset(tmp_path / 'data', train=3, test=2)
  report = verify.verify_data(_config(root, max_eval_images=1), workers=2)
  assert report.pairs == {'train': 3, 'test': 1} and report.images == 8
  _truncate(root / 'test' / 'input' / '1.png')  # beyond max_eval_images: never evaluated
  assert verify.verify_data(_config(root, max_eval_images=1)).images == 8
  assert verify.check_training_data(_config(root, verify=False), print) is None


def _workers():
  """This process's spawned worker processes (not multiprocessing's resource tracker)."""
  return [p for p in psutil.Process().children(recursive=True)
          if '--multiprocessing-fork' in p.cmdline()]


def test_grain_worker_error_names_the_file_and_the_workers_end(tmp_path):
  """A bad file read in a Grain worker process: one DataError line naming it, the workers
  stopped (none left behind), no hang."""
  root = _dataset(tmp_path / 'data', train=2)
  _truncate(root / 'train' / 'input' / '1.png')
  config = _config(root, verify=False, loader='grain', num_workers=2)
  config.batch_size = 1  # worker 0 makes the even steps, worker 1 the odd ones
  before = _workers()
  start = time.time()
  batches = grain_pipeline.create_train_iterator(config, process_index=0, process_count=1)
  with pytest.raises(DataError) as error:
    for _ in range(8):  # 2 files: both are read within the first epochs
      next(batches)
  assert str(error.value).startswith('input pipeline stopped: ')
  assert f'{root}/train/input/1.png: image file is truncated' in str(error.value)
  assert len(str(error.value).splitlines()) == 1
  assert _workers() == before  # stopped when the error came out, not at exit
  assert time.time() - start < 120


def _processes_with_env(key: str, value: str) -> list:
  found = []
  for p in psutil.process_iter():
    try:
      if p.environ().get(key) == value:
        found.append(p)
    except (psutil.Error, OSError):
      pass
  return found


@pytest.mark.parametrize('loader', ['tf_data', 'grain'])
def test_truncated_image_unverified_ends_the_cli_run_promptly(tmp_path, loader):
  """With the check off, the pipeline meets the bad file at step 1: the process must exit (once
  it hung after TensorFlow's error), with the file named, TF's iterator released before
  interpreter exit, and no Grain worker process left behind."""
  root = _dataset(tmp_path / 'data')
  _truncate(root / 'train' / 'input' / '2.png')
  marker = uuid.uuid4().hex  # inherited by every process the run starts
  start = time.time()
  result = run_python(['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
                       f'--workdir={tmp_path / "run"}', '--config.data.dataset=paired',
                       f'--config.data.root={root}', '--config.data.verify=False',
                       f'--config.data.loader={loader}', '--config.data.num_workers=2'],
                      env_extra={'CUDA_VISIBLE_DEVICES': '', 'DEEPDEBLUR_TEST_RUN': marker},
                      timeout=300)
  assert result.returncode != 0
  lines = result.stderr.splitlines()
  assert lines[-2].startswith('error: input pipeline stopped'), result.stderr[-3000:]
  assert f'{root}/train/input/2.png: image file is truncated' in lines[-2]
  assert lines[-1].startswith('(full traceback in ') and 'Traceback' not in result.stderr
  assert 'finalizing GeneratorDataset iterator' not in result.stderr
  assert time.time() - start < 300  # the hang it guards against lasted 9+ minutes
  deadline = time.time() + 10
  while _processes_with_env('DEEPDEBLUR_TEST_RUN', marker) and time.time() < deadline:
    time.sleep(0.5)
  assert not _processes_with_env('DEEPDEBLUR_TEST_RUN', marker)  # no orphaned worker
  assert not os.path.exists(tmp_path / 'run' / 'metrics.json')
