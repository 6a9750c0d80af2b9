"""Resuming with a changed recipe warns and records the change; a rerun keeps final_train_loss."""

import json
import os

from _train_utils import tensorboard_texts, tiny_config
from deepdeblur_jax.training import train
from deepdeblur_jax.training.recipe_changes import recipe_changes


def test_recipe_changes_lists_fields_but_not_bookkeeping():
  saved = tiny_config().to_dict()
  current = tiny_config(batch_size=4, num_train_steps=99, log_every_steps=7)
  current.data.augment_noise = not current.data.augment_noise
  changes = recipe_changes(json.loads(json.dumps(saved, default=list)), current.to_dict())
  assert [name for name, _, _ in changes] == ['batch_size', 'data.augment_noise']
  assert changes[0][1:] == (2, 4)


def test_resume_with_changed_batch_warns_and_rerun_keeps_final_loss(tmp_path, caplog):
  first = train.train_and_evaluate(tiny_config(num_train_steps=2, eval_every_steps=0),
                                   tmp_path)
  assert first['final_train_loss'] is not None
  with caplog.at_level('WARNING'):
    second = train.train_and_evaluate(tiny_config(batch_size=4, num_train_steps=3,
                                                  eval_every_steps=0), tmp_path)
  assert second['step'] == 3
  warning = [r.getMessage() for r in caplog.records if 'change the recipe' in r.getMessage()]
  assert len(warning) == 1 and 'config.batch_size: 2 -> 4' in warning[0], caplog.text
  assert 'num_train_steps' not in warning[0]
  texts = tensorboard_texts(tmp_path / 'tensorboard')
  assert texts['config/changed_on_resume'] == ['- config.batch_size: 2 -> 4']
  assert len(texts['config']) == 2 and '"batch_size": 4' in texts['config'][1]

  # A crash after the final checkpoint but before metrics.json: the rerun reports the same loss.
  os.remove(tmp_path / 'metrics.json')
  rerun = train.train_and_evaluate(tiny_config(batch_size=4, num_train_steps=3,
                                               eval_every_steps=0), tmp_path)
  metrics = json.loads((tmp_path / 'metrics.json').read_text())
  assert metrics['step'] == 3 and metrics['final_train_loss'] == second['final_train_loss']
  assert rerun['final_train_loss'] is not None
