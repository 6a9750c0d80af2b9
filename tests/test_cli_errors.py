"""User errors end the real CLIs with one or two lines naming the field or file, no traceback."""

import jax
import numpy as np
from PIL import Image

from _train_utils import run_python
from configs import tiny
from deepdeblur_jax.data import synthetic_scenes
from deepdeblur_jax.training import checkpointing, train_state
from tests.tool_helpers import make_tiny_checkpoint, run_tool

_MAIN = ['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py']


def test_unknown_config_field_is_named(tmp_path):
  result = run_python(_MAIN + [f'--workdir={tmp_path}', '--config.data.augment_flipp=False'])
  assert result.returncode != 0
  assert result.stderr.strip().splitlines() == [
      'invalid configuration: unknown config field config.data.augment_flipp '
      '(did you mean config.data.augment_flip?)']
  result = run_python(_MAIN + [f'--workdir={tmp_path}', '--config.foo=1'])
  assert result.returncode != 0 and result.stderr.strip() == (
      'invalid configuration: unknown config field config.foo '
      '(check the spelling against the config file)')


def test_missing_config_file_is_named(tmp_path):
  result = run_python(['-m', 'deepdeblur_jax.main', '--config=configs/nope.py',
                       f'--workdir={tmp_path}'])
  assert result.returncode != 0
  assert result.stderr.strip() == ('invalid configuration: config file configs/nope.py '
                                   'does not exist')


def test_data_error_names_the_files_and_traceback_goes_to_the_workdir_log(tmp_path):
  root = tmp_path / 'data'
  synthetic_scenes.make_synthetic_dataset(str(root), 1, 1, 2, (64, 64), 0, workers=1)
  truncated = sorted((root / 'train').rglob('sharp/*.png'))
  for png in truncated:
    png.write_bytes(png.read_bytes()[:300])
  workdir = tmp_path / 'run'
  result = run_python(_MAIN + [f'--workdir={workdir}', '--config.data.dataset=gopro_large',
                               f'--config.data.root={root}', '--config.eval_every_steps=0'],
                      {'JAX_PLATFORMS': 'cpu'})
  assert result.returncode == 1
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  first = next(i for i, line in enumerate(lines) if line.startswith('error: '))
  message = lines[first:-1]
  assert len(message) <= 1 + len(truncated), lines[first:]
  for png in truncated:
    assert any(str(png) in line for line in message), (png, message)
  assert lines[-1] == f'(full traceback in {workdir / "error.log"} or with --verbose)'
  assert 'Traceback' in (workdir / 'error.log').read_text()
  assert not (workdir / 'train.lock').exists()


def test_corrupt_params_give_the_message_only(tmp_path):
  ckpt = tmp_path / 'ckpt'
  make_tiny_checkpoint(ckpt)
  (ckpt / 'params' / 'array_metadatas' / 'process_0').write_text('garbage')
  (tmp_path / 'in').mkdir()
  Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / 'in' / 'x.png')
  result = run_tool('deblur', '--checkpoint', ckpt, '--input', tmp_path / 'in', '--output',
                    tmp_path / 'out')
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 2 and 'cannot be restored' in lines[1] and str(ckpt) in lines[1], lines
  assert 'Event loop' not in result.stderr and 'Traceback' not in result.stderr


def test_tool_error_is_short_and_verbose_shows_the_traceback(tmp_path):
  workdir = tmp_path / 'run'
  manager = checkpointing.create_checkpoint_manager(str(workdir))
  config = tiny.get_config()
  checkpointing.save_checkpoint(manager, train_state.create_train_state(
      config, jax.random.key(0)), 1, config)
  manager.close()
  (tmp_path / 'a_file').write_text('')
  args = ('--workdir', workdir, '--output', tmp_path / 'a_file' / 'ckpt')
  result = run_tool('export', *args)
  assert result.returncode == 1
  lines = result.stderr.strip().splitlines()
  assert lines[-2].startswith('error: ') and 'a_file' in lines[-2], lines
  assert lines[-1] == '(full traceback with --verbose)' and 'Traceback' not in result.stderr
  result = run_tool('export', *args, '--verbose')
  assert result.returncode == 1 and 'Traceback (most recent call last)' in result.stderr


def test_short_message_keeps_the_informative_line():
  from deepdeblur_jax.cli_errors import short_message  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.config_validation import ConfigError  # pylint: disable=g-import-not-at-top
  assert short_message(ValueError('bad value\n  details\n  more')) == 'ValueError: bad value'
  assert short_message(FileNotFoundError(2, 'No such file or directory', '/x/y.png')) == (
      "FileNotFoundError: [Errno 2] No such file or directory: '/x/y.png'")
  assert short_message(ConfigError('config.a is bad\nline two')) == 'config.a is bad\nline two'
  assert short_message(RuntimeError('x' * 1000)).endswith('x ...')
  assert short_message(Exception('read failed. See full TensorStore details: {...}')) == (
      'Exception: read failed.')
