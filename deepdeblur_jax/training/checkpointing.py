"""Orbax checkpoints in WORKDIR/checkpoints: both states, the data position and the config.

Layout of one checkpoint, `WORKDIR/checkpoints/<step>/`:
  generator/      StandardSave of the generator TrainState (step, params, opt_state)
  discriminator/  StandardSave of the discriminator TrainState (only when adversarial_weight > 0)
  meta/           JSON {'step', 'seed', 'data_start_step', 'process_count', 'train_loss',
                   'init_from'} (init_from: the inference checkpoint the run started from,
                   '' if none)
  config/         JSON of the whole config (config.to_dict())
Orbax writes each checkpoint into a temporary folder and renames it when complete (atomic), and
every process takes part in save and restore (multi-host safe).
"""

import contextlib
import logging
from typing import Any, Dict, Mapping, Optional, Tuple

import jax
import orbax.checkpoint as ocp
from jax.sharding import Mesh, Sharding, SingleDeviceSharding

from deepdeblur_jax.io import outage, storage
from deepdeblur_jax.training.sharding import replicated_sharding
from deepdeblur_jax.training.train_state import (DeblurTrainState, abstract_train_state,
                                                 uses_discriminator)

outage.bound_orbax()  # TensorStore retries an unreachable bucket for a bounded time

CHECKPOINT_SUBDIR = 'checkpoints'


def checkpoint_dir(workdir: str) -> str:
  """WORKDIR/checkpoints as an absolute path (or a gs:// URL)."""
  return storage.join(storage.absolute(workdir), CHECKPOINT_SUBDIR)


def create_checkpoint_manager(workdir: str, keep_checkpoints: int = 0) -> ocp.CheckpointManager:
  """A manager keeping the latest `keep_checkpoints` checkpoints (0 keeps all); saves are sync."""
  policy = None
  if keep_checkpoints > 0:
    policy = ocp.checkpoint_managers.LatestN(n=int(keep_checkpoints))
  options = ocp.CheckpointManagerOptions(preservation_policy=policy, create=True,
                                         enable_async_checkpointing=False)
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options)


def _config_dict(config: Any) -> Dict[str, Any]:
  return config.to_dict() if hasattr(config, 'to_dict') else dict(config)


def save_checkpoint(manager: ocp.CheckpointManager, state: DeblurTrainState, step: int,
                    config: Any, train_loss: Optional[float] = None,
                    init_from: str = '') -> bool:
  """Saves `state` as checkpoint `step` (collective); False if that step is already saved.

  `train_loss` (the loss of the last checked step) is kept in meta, so a rerun of a finished run
  reports it again; `init_from` is the inference checkpoint the run's generator started from.
  """
  if manager.latest_step() == step or step in manager.all_steps():
    return False
  items = {
      'generator': ocp.args.StandardSave(_fields(state.generator)),
      'meta': ocp.args.JsonSave({'step': int(step), 'seed': int(config['seed']),
                                 'data_start_step': int(step),
                                 'process_count': jax.process_count(),
                                 'train_loss': None if train_loss is None else float(train_loss),
                                 'init_from': str(init_from)}),
      'config': ocp.args.JsonSave(_config_dict(config)),
  }
  if state.discriminator is not None:
    items['discriminator'] = ocp.args.StandardSave(_fields(state.discriminator))
  manager.save(int(step), args=ocp.args.Composite(**items))
  manager.wait_until_finished()
  return True


def _with_sharding(abstract: Any, sharding: Sharding) -> Any:
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                      abstract)


def restore_metadata(manager: ocp.CheckpointManager, step: Optional[int] = None
                     ) -> Dict[str, Any]:
  """Meta of checkpoint `step` (default: the latest) with the saved config under 'config'."""
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'no checkpoint in {manager.directory}')
  restored = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore(),
                                                           config=ocp.args.JsonRestore()))
  return dict(restored['meta'], config=dict(restored['config']))


def restore_checkpoint(manager: ocp.CheckpointManager, config: Mapping[str, Any], mesh: Mesh,
                       step: Optional[int] = None) -> Tuple[DeblurTrainState, Dict[str, Any]]:
  """The state (replicated on `mesh`) and meta of checkpoint `step` (default: the latest).

  meta holds 'step', 'seed', 'data_start_step' and 'process_count'.
  """
  step = manager.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'no checkpoint in {manager.directory}')
  abstract = _with_sharding(abstract_train_state(config), replicated_sharding(mesh))
  items = {'generator': ocp.args.StandardRestore(_fields(abstract.generator)),
           'meta': ocp.args.JsonRestore()}
  if uses_discriminator(config):
    items['discriminator'] = ocp.args.StandardRestore(_fields(abstract.discriminator))
  restored = manager.restore(step, args=ocp.args.Composite(**items))
  state = DeblurTrainState(
      generator=abstract.generator.replace(**restored['generator']),
      discriminator=(abstract.discriminator.replace(**restored['discriminator'])
                     if uses_discriminator(config) else None))
  return state, dict(restored['meta'])


def _fields(train_state: Any) -> Dict[str, Any]:
  """The saved part of a TrainState (apply_fn and tx are rebuilt from the config)."""
  return {'step': train_state.step, 'params': train_state.params,
          'opt_state': train_state.opt_state}


class _ReadOnlyNotice(logging.Filter):
  """Drops Orbax's warning that a read-only manager's directory is read only (we asked for it)."""

  def filter(self, record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith('Given directory is read only')


@contextlib.contextmanager
def _without_read_only_notice():
  """Hides that one warning while a read-only CheckpointManager is built; others still print."""
  notice = _ReadOnlyNotice()
  logger = logging.getLogger('absl')
  logger.addFilter(notice)
  try:
    yield
  finally:
    logger.removeFilter(notice)


def restore_generator(workdir: str, step: Optional[int] = None
                      ) -> Tuple[Any, Dict[str, Any], int]:
  """(generator params, config dict, step) of a training run's checkpoint (default: latest).

  Params are float32 on this process's first device. Needs only JAX and Orbax (no TensorFlow).
  Raises FileNotFoundError when the workdir holds no checkpoint.
  """
  directory = checkpoint_dir(workdir)
  if not storage.isdir(directory):
    raise FileNotFoundError(f'no checkpoint folder {directory}')
  options = ocp.CheckpointManagerOptions(create=False, read_only=True, save_interval_steps=0)
  with _without_read_only_notice(), ocp.CheckpointManager(directory, options=options) as manager:
    step = manager.latest_step() if step is None else int(step)
    if step is None or step not in manager.all_steps():
      raise FileNotFoundError(f'no checkpoint for step {step} in {directory} '
                              f'(available: {list(manager.all_steps())})')
    config = dict(manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore()))['config'])
    abstract = _with_sharding(_fields(abstract_train_state(config).generator),
                              SingleDeviceSharding(jax.local_devices()[0]))
    restored = manager.restore(step, args=ocp.args.Composite(
        generator=ocp.args.StandardRestore(abstract)))
  return restored['generator']['params'], config, int(step)
