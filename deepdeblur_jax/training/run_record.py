"""What a run records about its config: TensorBoard config text and resume warnings."""

import json
from typing import Any, Dict, Mapping, Optional

import jax
import ml_collections
from absl import logging

from deepdeblur_jax.training.metrics_writer import MetricsWriter
from deepdeblur_jax.training.recipe_changes import format_changes, recipe_changes


def record_config(writer: MetricsWriter, config: ml_collections.ConfigDict, step: int,
                  resumed: Optional[Mapping[str, Any]]) -> None:
  """Writes the config as TensorBoard text 'config' at `step`; on resume, warns about and writes
  ('config/changed_on_resume') every recipe field that differs from the checkpoint's config."""
  writer.write_text(step, 'config', '```\n' + json.dumps(config.to_dict(), indent=1,
                                                          sort_keys=True, default=list) + '\n```')
  if resumed is None:
    return
  changes = recipe_changes(resumed.get('config', {}), config.to_dict())
  if not changes:
    return
  text = format_changes(changes)
  if jax.process_index() == 0:
    logging.warning('resuming step %d with %d field(s) that change the recipe, compared with the '
                    'checkpoint\'s config: %s', step, len(changes), text)
  writer.write_text(step, 'config/changed_on_resume', '\n'.join(
      f'- config.{name}: {old!r} -> {new!r}' for name, old, new in changes))
  writer.flush()


def saved_train_metrics(resumed: Optional[Mapping[str, Any]]) -> Dict[str, float]:
  """{'loss': last train loss} stored with the resumed checkpoint (empty when unknown)."""
  loss = (resumed or {}).get('train_loss')
  return {} if loss is None else {'loss': float(loss)}
