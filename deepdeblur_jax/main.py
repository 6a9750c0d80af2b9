"""Trains and evaluates DeepDeblur: `python -m deepdeblur_jax.main --config=... --workdir=...`."""

import logging as std_logging
import signal
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from deepdeblur_jax import distributed
from deepdeblur_jax.config_validation import ConfigError, validate_config
from deepdeblur_jax.training import train

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Folder for checkpoints, TensorBoard and metrics.json.')
config_flags.DEFINE_config_file('config', None, 'Training configuration file.',
                                lock_config=True)
flags.DEFINE_bool('distributed', False, 'Start jax.distributed with cluster auto-detection '
                  '(TPU pod slices, SLURM, Open MPI).')
flags.DEFINE_string('coordinator_address', '', 'host:port of process 0, to start '
                    'jax.distributed explicitly (multi-node GPU, local multi-process runs).')
flags.DEFINE_integer('num_processes', None, 'Number of processes (with --coordinator_address).')
flags.DEFINE_integer('process_id', None, 'This process, 0..num_processes-1 (with '
                     '--coordinator_address).')
flags.mark_flags_as_required(['config', 'workdir'])


def _hide_orbax_info(record: std_logging.LogRecord) -> bool:
  """Keeps Orbax's per-save INFO lines out of the log (its warnings still show)."""
  return record.levelno >= std_logging.WARNING or '/orbax/' not in record.pathname


def main(argv: list) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_hide_orbax_info)
  try:
    validate_config(FLAGS.config)
    distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id,
                           auto=FLAGS.distributed)
    logging.info('JAX %s, %d process(es), devices: %s', jax.__version__, jax.process_count(),
                 jax.devices())
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except ConfigError as e:
    sys.exit(f'invalid configuration: {e}')
  except train.TrainingInterrupted as e:
    logging.warning('%s', e)
    sys.exit(128 + (e.signum or signal.SIGTERM))


if __name__ == '__main__':
  jax.config.config_with_absl()
  app.run(main)
