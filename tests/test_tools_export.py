"""tools/export.py: a training checkpoint becomes an inference checkpoint with equal params."""

import json

import jax
import numpy as np
import pytest

from configs import tiny
from deepdeblur_jax.inference.checkpoint import load_inference_checkpoint
from deepdeblur_jax.training import checkpointing, train_state
from tests.tool_helpers import run_tool


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """A training run folder with checkpoints at steps 3 and 7 (different params)."""
  path = tmp_path_factory.mktemp('run')
  config = tiny.get_config()
  manager = checkpointing.create_checkpoint_manager(str(path))
  states = {}
  for step, seed in ((3, 0), (7, 1)):
    state = train_state.create_train_state(config, jax.random.key(seed))
    checkpointing.save_checkpoint(manager, state, step, config)
    states[step] = state.generator.params
  manager.close()
  return path, states


def test_export_latest_and_step(tmp_path, workdir):
  path, states = workdir
  result = run_tool('export', '--workdir', path, '--output', tmp_path / 'latest')
  assert result.returncode == 0, result.stderr
  _, params, config = load_inference_checkpoint(str(tmp_path / 'latest'))
  assert config['n_feats'] == 8 and config['rgb_range'] == tiny.get_config().model.rgb_range
  jax.tree_util.tree_map(np.testing.assert_array_equal, params, states[7])
  provenance = json.loads((tmp_path / 'latest' / 'config.json').read_text())['provenance']
  assert provenance['step'] == 7 and provenance['source'] == 'deepdeblur-jax training'

  result = run_tool('export', '--workdir', path, '--output', tmp_path / 'bf16', '--step', '3',
                    '--dtype', 'bfloat16')
  assert result.returncode == 0, result.stderr
  model, params, _ = load_inference_checkpoint(str(tmp_path / 'bf16'))
  assert model.dtype == jax.numpy.bfloat16
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-2, atol=1e-2),
                         params, states[3])


def test_export_errors_name_the_workdir(tmp_path, workdir):
  result = run_tool('export', '--workdir', tmp_path / 'empty_run', '--output', tmp_path / 'o')
  assert result.returncode == 1 and 'empty_run' in result.stderr
  result = run_tool('export', '--workdir', workdir[0], '--output', tmp_path / 'o', '--step', '5')
  assert result.returncode == 1 and 'step 5' in result.stderr
  assert not (tmp_path / 'o').exists()
