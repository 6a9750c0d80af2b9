"""The train loop: `train_and_evaluate(config, workdir)` trains, checkpoints, evaluates, resumes."""

import time
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

import jax
import ml_collections
from absl import logging
from jax.experimental import multihost_utils

from deepdeblur_jax.config_validation import ConfigError, validate_config
from deepdeblur_jax.data import loaders, verify
from deepdeblur_jax.io import storage
from deepdeblur_jax.io.atomic import write_json
from deepdeblur_jax.training import checkpointing, eval_loop, run_record, workdir_lock
from deepdeblur_jax.training.init_from import init_from_path, load_init_params, with_generator_params
from deepdeblur_jax.training.metrics_writer import MetricsWriter
from deepdeblur_jax.training.progress import Progress, format_duration
from deepdeblur_jax.training.sharding import (check_batch_size, local_copy, make_mesh, replicate,
                                              shard_batch, to_host)
from deepdeblur_jax.training.stop_signal import StopSignal
from deepdeblur_jax.training.train_state import build_models, create_train_state, uses_discriminator
from deepdeblur_jax.training.train_step import make_train_step


class NonFiniteLossError(FloatingPointError):
  """The loss or a gradient became NaN/inf; the message names the step."""


class TrainingInterrupted(Exception):
  """SIGINT/SIGTERM stopped training after a checkpoint was saved."""

  def __init__(self, step: int, signum: int):
    super().__init__(f'training interrupted by signal {signum} at step {step}; '
                     'checkpoint saved, re-run the same command to resume')
    self.step = step
    self.signum = signum


def _log(message: str, *args: Any) -> None:
  if jax.process_index() == 0:
    logging.info(message, *args)


def _check_resume(config: ml_collections.ConfigDict, meta: Mapping[str, Any], workdir: str) -> None:
  saved = meta.get('config', {})
  if saved.get('model') != config.model.to_dict():
    raise ConfigError(f'config.model differs from the checkpoint in {workdir} '
                      f'({saved.get("model")}); use a new --workdir')
  if (float(saved.get('adversarial_weight', 0)) > 0) != uses_discriminator(config):
    raise ConfigError(f'config.adversarial_weight={config.adversarial_weight} switches the '
                      f'discriminator {"on" if uses_discriminator(config) else "off"} but the '
                      f'checkpoint in {workdir} was trained '
                      f'{"without" if uses_discriminator(config) else "with"} it; use a new --workdir')
  if int(meta['seed']) != int(config.seed):
    raise ConfigError(f'config.seed={config.seed} differs from the checkpoint in {workdir} '
                      f'(seed {meta["seed"]}); use a new --workdir')


def _finite_metrics(metrics: Any, step: int, last_checkpoint: Optional[int]) -> Dict[str, float]:
  """Host metrics of `step`; raises NonFiniteLossError naming the step if they are not finite."""
  host = {k: float(v) for k, v in to_host(metrics).items()}
  if not host.pop('finite'):
    raise NonFiniteLossError(
        f'non-finite loss or gradients at step {step} (loss={host["loss"]}); stopped without '
        f'saving it; the last good checkpoint is step {last_checkpoint}')
  return host


def _evaluate(config: ml_collections.ConfigDict, model: Any, state: Any, data: Any,
              writer: MetricsWriter, step: int) -> Dict[str, Any]:
  examples = data.create_eval_iterator(config)
  metrics, images = eval_loop.evaluate(local_copy(state.generator.params), model, examples,
                                       num_images_to_keep=config.num_image_summaries)
  writer.write_scalars(step, {f'eval/{k}': v for k, v in metrics.items()})
  if images:
    writer.write_images(step, {f'eval/blur_output_sharp_{i}': im for i, im in enumerate(images)})
  writer.flush()
  _log('eval at step %d: PSNR %.3f dB SSIM %.4f (blurry input %.3f dB / %.4f) on %d images',
       step, metrics['psnr'], metrics['ssim'], metrics['baseline_psnr'],
       metrics['baseline_ssim'], metrics['num_images'])
  return metrics


def _initial_state(config: ml_collections.ConfigDict, workdir: str, manager: Any, mesh: Any
                   ) -> Tuple[Any, int, Optional[Dict[str, Any]], str]:
  """(state, data start step, the resumed checkpoint's meta incl. its config or None when new,
  the init_from path the run started from or '')."""
  if manager.latest_step() is None:
    state = create_train_state(config, jax.random.key(config.seed))
    origin = init_from_path(config)
    if origin:
      state = with_generator_params(state, load_init_params(config))
      _log('generator initialised from %s (config.init_from); discriminator and Adam start '
           'fresh', origin)
    return replicate(state, mesh), 0, None, origin
  saved = checkpointing.restore_metadata(manager)
  _check_resume(config, saved, workdir)
  state, meta = checkpointing.restore_checkpoint(manager, config, mesh)
  _log('resumed from checkpoint step %d in %s', meta['step'], workdir)
  if init_from_path(config):
    _log('config.init_from=%s is not used again: the run continues from its own checkpoint',
         init_from_path(config))
  return state, int(meta['data_start_step']), saved, str(meta.get('init_from', ''))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, Any]:
  """Trains to config.num_train_steps (resuming from WORKDIR/checkpoints) and evaluates.

  Writes TensorBoard events to WORKDIR/tensorboard and the final metrics to
  WORKDIR/metrics.json (process 0). Returns the final metrics: psnr, ssim, baseline_psnr,
  baseline_ssim, num_images, step, minutes, final_train_loss. Process 0 holds WORKDIR/train.lock
  throughout (WorkdirLockedError names the holder of a busy workdir). Raises NonFiniteLossError
  (naming the step, the last good checkpoint untouched) or TrainingInterrupted (after saving) on
  SIGTERM/SIGINT.
  """
  validate_config(config)
  with workdir_lock.hold_for_run(storage.absolute(workdir)):
    return _train_and_evaluate(config, workdir)


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, Any]:
  start_time = time.time()
  workdir = storage.absolute(workdir)
  mesh = make_mesh()
  check_batch_size(config.batch_size, mesh)
  if jax.process_index() == 0:
    storage.makedirs(workdir)
  data = loaders.input_module(config.data, logging.warning)
  verify.check_training_data(config, _log)  # every image decoded once before step 1
  generator, _ = build_models(config)
  manager = checkpointing.create_checkpoint_manager(workdir, config.keep_checkpoints)
  state, step, resumed, origin = _initial_state(config, workdir, manager, mesh)
  train_step = make_train_step(config, mesh)
  writer = MetricsWriter(storage.join(workdir, 'tensorboard'))
  run_record.record_config(writer, config, step, resumed)
  writer.write_text(step, 'init_from', origin or f'random initialisation (seed {config.seed})')
  _log('training %s on %d device(s) in %d process(es), from step %d to %d',
       type(generator).__name__, mesh.size, jax.process_count(), step, config.num_train_steps)

  total = config.num_train_steps
  progress = Progress(total, step)
  eval_metrics: Optional[Dict[str, Any]] = None
  evaluated_at = -1
  train_metrics: Dict[str, float] = run_record.saved_train_metrics(resumed)
  batches: Iterator[Any] = data.create_train_iterator(config, start_step=step)
  try:
    with StopSignal() as stop:
      pending = None  # (step, device metrics) not yet checked: keeps dispatch asynchronous
      while step < total:
        state, metrics = train_step(state, shard_batch(next(batches), mesh))
        step += 1
        if pending is not None:
          _finite_metrics(pending[1], pending[0], manager.latest_step())
        pending = (step, metrics)
        stopping = stop.requested()
        logging_now = step % config.log_every_steps == 0
        saving = step % config.checkpoint_every_steps == 0 or step == total or stopping
        evaluating = config.eval_every_steps > 0 and step % config.eval_every_steps == 0
        if not (logging_now or saving or evaluating):
          continue
        train_metrics = _finite_metrics(metrics, step, manager.latest_step())
        pending = None
        if logging_now:
          rate = progress.update(step)
          writer.write_scalars(step, {**{f'train/{k}': v for k, v in train_metrics.items()},
                                      'train/steps_per_sec': rate})
          _log(progress.line(step, train_metrics['loss'], rate))
        if saving and checkpointing.save_checkpoint(manager, state, step, config,
                                                    train_metrics.get('loss'), origin):
          _log('saved checkpoint of step %d in %s', step, checkpointing.checkpoint_dir(workdir))
        if stopping:
          raise TrainingInterrupted(step, stop.signum or 0)
        if evaluating:
          eval_metrics = _evaluate(config, generator, state, data, writer, step)
          evaluated_at = step
        if saving or evaluating:
          progress.update(step)  # leave checkpoint and eval time out of steps/s
    if evaluated_at != step:
      eval_metrics = _evaluate(config, generator, state, data, writer, step)
    checkpointing.save_checkpoint(manager, state, step, config, train_metrics.get('loss'), origin)
  finally:
    close = getattr(batches, 'close', None)
    if close is not None:
      close()  # stop the input pipeline's background work
    writer.close()
    manager.close()

  result = dict(eval_metrics, step=step, minutes=(time.time() - start_time) / 60.0,
                final_train_loss=train_metrics.get('loss'))
  if jax.process_index() == 0:
    write_json(storage.join(workdir, 'metrics.json'), result)
  _log('done: step %d, PSNR %.3f dB (blurry %.3f dB), SSIM %.4f (blurry %.4f), %s',
       step, result['psnr'], result['baseline_psnr'], result['ssim'], result['baseline_ssim'],
       format_duration(result['minutes'] * 60))
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices('train_and_evaluate done')
  return result
