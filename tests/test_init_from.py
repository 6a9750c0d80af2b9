"""config.init_from: fine-tuning from an inference checkpoint (exported or converted from PyTorch)."""

import json
import shutil

import jax
import numpy as np
import pytest
import torch

from _train_utils import run_python, tensorboard_texts, tiny_config
from bench.torch_model import MSResNet
from deepdeblur_jax.config_validation import ConfigError
from deepdeblur_jax.inference.checkpoint import load_inference_checkpoint
from deepdeblur_jax.models import create_generator
from deepdeblur_jax.training import checkpointing, train
from deepdeblur_jax.training.export import export_training_checkpoint
from deepdeblur_jax.training.init_from import load_init_params
from deepdeblur_jax.training.train_state import create_train_state
from tests.tool_helpers import make_tiny_checkpoint, run_tool


def _leaves(params):
  return {jax.tree_util.keystr(path): np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_leaves_with_path(params)}


def _meta(workdir, step):
  manager = checkpointing.create_checkpoint_manager(str(workdir))
  try:
    return checkpointing.restore_metadata(manager, step)
  finally:
    manager.close()


def test_lr0_step_from_export_exports_identical_params_and_resume_ignores_it(tmp_path, caplog):
  _, params = make_tiny_checkpoint(tmp_path / 'init', seed=3)
  config = tiny_config(learning_rate=0.0, num_train_steps=1, eval_every_steps=0,
                       checkpoint_every_steps=1, init_from=str(tmp_path / 'init'))
  train.train_and_evaluate(config, tmp_path / 'run')
  export_training_checkpoint(str(tmp_path / 'run'), str(tmp_path / 'out'))
  _, exported, _ = load_inference_checkpoint(str(tmp_path / 'out'))
  want, got = _leaves(params), _leaves(exported)
  assert want.keys() == got.keys()
  for name in want:
    assert want[name].dtype == got[name].dtype == np.float32
    assert want[name].tobytes() == got[name].tobytes(), name  # bit for bit
  # ...and they are not the config's own random initialisation.
  fresh = _leaves(create_train_state(config, jax.random.key(config.seed)).generator.params)
  assert any(not np.array_equal(fresh[k], want[k]) for k in want)
  assert _meta(tmp_path / 'run', 1)['init_from'] == str(tmp_path / 'init')
  texts = tensorboard_texts(tmp_path / 'run' / 'tensorboard')
  assert str(tmp_path / 'init') in texts['init_from'][-1]
  assert '"init_from": "' + str(tmp_path / 'init') in texts['config'][-1]

  # A resumed run continues from its own checkpoint, says so, and keeps the provenance.
  shutil.rmtree(tmp_path / 'init')  # would fail to load if it were read again
  with caplog.at_level('INFO'):
    config.num_train_steps = 2
    result = train.train_and_evaluate(config, tmp_path / 'run')
  assert result['step'] == 2
  assert 'is not used again' in caplog.text
  assert _meta(tmp_path / 'run', 2)['init_from'] == str(tmp_path / 'init')


@pytest.mark.parametrize('field,value', [
    ('n_scales', 2), ('n_resblocks', 2), ('n_feats', 16), ('kernel_size', 5),
    ('upsample', 'conv_transpose'), ('rgb_range', 255.0)])
def test_architecture_mismatch_names_init_from_field_and_both_values(tmp_path, field, value):
  make_tiny_checkpoint(tmp_path / 'init')  # n_scales 3, 1 block, 8 features, 3x3, pixel_shuffle, 1.0
  config = tiny_config(init_from=str(tmp_path / 'init'))
  saved = config.model[field]
  config.model[field] = value
  with pytest.raises(ConfigError) as error:
    load_init_params(config)
  message = str(error.value)
  assert 'config.init_from' in message and str(tmp_path / 'init') in message
  assert f'model.{field}={saved!r}' in message and f'config.model.{field}={value!r}' in message


def test_missing_or_corrupt_checkpoint_names_init_from(tmp_path):
  config = tiny_config(init_from=str(tmp_path / 'nowhere'))
  with pytest.raises(ConfigError, match=r"config.init_from=.*nowhere.*does not exist"):
    load_init_params(config)
  make_tiny_checkpoint(tmp_path / 'broken')
  config.init_from = str(tmp_path / 'broken')
  (tmp_path / 'broken' / 'config.json').write_text('{"format": ')
  with pytest.raises(ConfigError, match=r'config.init_from=.*broken.*not valid JSON'):
    load_init_params(config)
  make_tiny_checkpoint(tmp_path / 'no_params')
  shutil.rmtree(tmp_path / 'no_params' / 'params')
  config.init_from = str(tmp_path / 'no_params')
  with pytest.raises(ConfigError, match=r'config.init_from=.*no_params.*has no parameters'):
    load_init_params(config)


def test_pytorch_conversion_fine_tunes_through_main(tmp_path, synthetic_cache):
  torch.manual_seed(0)
  torch_model = MSResNet(rgb_range=255.0, n_scales=3, n_resblocks=1, n_feats=8, kernel_size=3)
  torch.save({'G': torch_model.state_dict()}, tmp_path / 'model.pt')
  result = run_tool('convert_pytorch', '--input', tmp_path / 'model.pt', '--output',
                    tmp_path / 'converted', '--rgb-range', '1')
  assert result.returncode == 0, result.stderr
  _, converted, _ = load_inference_checkpoint(str(tmp_path / 'converted'))
  main = ['-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
          f'--config.init_from={tmp_path / "converted"}']
  env = {'DEEPDEBLUR_CACHE': synthetic_cache, 'JAX_PLATFORMS': 'cpu'}

  # The wrong width stops before training, naming the field and both values.
  bad = run_python(main + [f'--workdir={tmp_path / "bad"}', '--config.model.n_feats=16'], env,
                   timeout=600)
  assert bad.returncode != 0
  assert 'config.init_from' in bad.stderr and 'model.n_feats=8' in bad.stderr
  assert 'config.model.n_feats=16' in bad.stderr
  assert not list((tmp_path / 'bad' / 'checkpoints').glob('[0-9]*'))

  run = run_python(main + [f'--workdir={tmp_path / "run"}'], env, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  assert f'generator initialised from {tmp_path / "converted"}' in run.stderr
  metrics = json.loads((tmp_path / 'run' / 'metrics.json').read_text())
  assert metrics['step'] == 4 and np.isfinite(metrics['psnr'])
  tuned, _, step = checkpointing.restore_generator(str(tmp_path / 'run'))
  assert step == 4
  before, after = _leaves(converted), _leaves(tuned)
  # Four Adam steps at lr <= 1e-3 move each weight by at most ~4e-3: the run started from the
  # converted weights (a fresh initialisation would be ~0.1 away) and did train.
  moved = max(float(np.max(np.abs(after[k] - before[k]))) for k in before)
  assert 0 < moved < 5e-3
  assert _meta(tmp_path / 'run', 4)['init_from'] == str(tmp_path / 'converted')
