"""train_and_evaluate on the tiny config with the real input pipeline on synthetic data."""

import json
import os
import signal

import jax
import numpy as np
import pytest

from _train_utils import tiny_config
from deepdeblur_jax.data import input_pipeline
from deepdeblur_jax.training import checkpointing, train
from deepdeblur_jax.training.sharding import make_mesh, replicate, shard_batch, to_host
from deepdeblur_jax.training.train_state import create_train_state
from deepdeblur_jax.training.train_step import make_train_step


def _params(workdir, step=None):
  params, config, saved_step = checkpointing.restore_generator(str(workdir), step)
  return [np.asarray(x) for x in jax.tree.leaves(params)], config, saved_step


def test_loss_falls_on_synthetic_data():
  config = tiny_config(learning_rate=3e-3, lr_boundaries=(), lr_multipliers=(), batch_size=4)
  mesh = make_mesh()
  state = replicate(create_train_state(config, jax.random.key(0)), mesh)
  step = make_train_step(config, mesh)
  batches = input_pipeline.create_train_iterator(config)
  losses = []
  for _ in range(40):
    state, metrics = step(state, shard_batch(next(batches), mesh))
    losses.append(float(to_host(metrics)['loss']))
  assert np.mean(losses[-8:]) < 0.5 * np.mean(losses[:4]), losses


def test_resume_equals_uninterrupted_run(tmp_path):
  full = train.train_and_evaluate(tiny_config(num_train_steps=4), tmp_path / 'full')
  first = train.train_and_evaluate(tiny_config(num_train_steps=2), tmp_path / 'split')
  assert first['step'] == 2
  resumed = train.train_and_evaluate(tiny_config(num_train_steps=4), tmp_path / 'split')
  assert resumed['step'] == full['step'] == 4
  a, _, step_a = _params(tmp_path / 'full')
  b, config_b, step_b = _params(tmp_path / 'split')
  assert step_a == step_b == 4 and config_b['num_train_steps'] == 4
  for x, y in zip(a, b):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(resumed['psnr'], full['psnr'], rtol=1e-4)
  metrics = json.loads((tmp_path / 'full' / 'metrics.json').read_text())
  for key in ('psnr', 'ssim', 'baseline_psnr', 'baseline_ssim', 'step', 'minutes'):
    assert key in metrics, key
  # keep_checkpoints=2 and checkpoint_every_steps=2: steps 2 and 4 remain.
  assert sorted(os.listdir(tmp_path / 'full' / 'checkpoints')) == ['2', '4']


def _inject(monkeypatch, at_batch, action):
  original = input_pipeline.create_train_iterator

  def create(config, start_step=0, **kwargs):
    for i, batch in enumerate(original(config, start_step=start_step, **kwargs)):
      yield action(batch) if start_step + i == at_batch else batch

  monkeypatch.setattr(input_pipeline, 'create_train_iterator', create)


@pytest.mark.parametrize('log_every', [1, 100])  # 100: the flag is read one step late
def test_nan_stops_run_naming_step_and_keeps_last_checkpoint(tmp_path, monkeypatch, log_every):
  def poison(batch):
    batch = dict(batch, blur=np.array(batch['blur']))
    batch['blur'][0, 0, 0, 0] = np.nan
    return batch

  _inject(monkeypatch, 2, poison)  # the third batch is step 3
  config = tiny_config(num_train_steps=6, eval_every_steps=0, log_every_steps=log_every)
  with pytest.raises(train.NonFiniteLossError, match='step 3'):
    train.train_and_evaluate(config, tmp_path)
  assert os.listdir(tmp_path / 'checkpoints') == ['2']
  params, _, step = _params(tmp_path)
  assert step == 2 and all(np.isfinite(p).all() for p in params)
  assert not (tmp_path / 'metrics.json').exists()


def test_sigterm_saves_checkpoint_then_resumes(tmp_path, monkeypatch):
  def terminate(batch):
    os.kill(os.getpid(), signal.SIGTERM)
    return batch

  _inject(monkeypatch, 2, terminate)  # signal during step 3 (not a checkpoint step)
  config = tiny_config(num_train_steps=6, checkpoint_every_steps=4, keep_checkpoints=0,
                       eval_every_steps=0)
  with pytest.raises(train.TrainingInterrupted) as info:
    train.train_and_evaluate(config, tmp_path)
  assert info.value.step == 3 and info.value.signum == signal.SIGTERM
  assert os.listdir(tmp_path / 'checkpoints') == ['3']
  monkeypatch.undo()
  result = train.train_and_evaluate(config, tmp_path)
  assert result['step'] == 6
  assert sorted(os.listdir(tmp_path / 'checkpoints'), key=int) == ['3', '4', '6']


def test_resume_with_other_model_is_refused(tmp_path):
  train.train_and_evaluate(tiny_config(num_train_steps=2, eval_every_steps=0), tmp_path)
  config = tiny_config(num_train_steps=4)
  config.model.n_feats = 16
  with pytest.raises(Exception, match='config.model'):
    train.train_and_evaluate(config, tmp_path)


def test_restore_generator_without_checkpoint_raises(tmp_path):
  with pytest.raises(FileNotFoundError, match='checkpoint'):
    checkpointing.restore_generator(str(tmp_path))
