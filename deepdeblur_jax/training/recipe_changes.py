"""Config fields that differ between a checkpoint and the config a run resumes with."""

import json
from typing import Any, Dict, List, Mapping, Tuple

# Fields that do not change what is learned: logging, checkpoint and evaluation cadence, the run
# length (resuming to train longer is the normal use), and input-pipeline performance knobs.
BOOKKEEPING_FIELDS = frozenset({
    'num_train_steps', 'log_every_steps', 'checkpoint_every_steps', 'keep_checkpoints',
    'eval_every_steps', 'num_image_summaries', 'init_from',
    'data.num_parallel_calls', 'data.cache', 'data.max_eval_images', 'data.loader',
    'data.num_workers',
})

Change = Tuple[str, Any, Any]


def flatten(config: Mapping[str, Any], prefix: str = '') -> Dict[str, Any]:
  """{'data.root': ..., 'batch_size': ...} of a nested dict; sequences become lists."""
  flat: Dict[str, Any] = {}
  for key, value in config.items():
    name = f'{prefix}{key}'
    if isinstance(value, Mapping):
      flat.update(flatten(value, name + '.'))
    else:
      flat[name] = list(value) if isinstance(value, (list, tuple)) else value
  return flat


def recipe_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> List[Change]:
  """(field, saved value, current value) for every recipe field that differs, sorted by name.

  A field present on one side only shows '<absent>' on the other.
  """
  old, new = flatten(saved), flatten(json.loads(json.dumps(dict(current), default=list)))
  changes = []
  for name in sorted(set(old) | set(new)):
    if name in BOOKKEEPING_FIELDS:
      continue
    a, b = old.get(name, '<absent>'), new.get(name, '<absent>')
    if a != b:
      changes.append((name, a, b))
  return changes


def format_changes(changes: List[Change]) -> str:
  """'config.batch_size: 4 -> 8; config.learning_rate: ...'."""
  return '; '.join(f'config.{name}: {a!r} -> {b!r}' for name, a, b in changes)
