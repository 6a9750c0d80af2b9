"""Trains and evaluates DeepDeblur: `python -m deepdeblur_jax.main --config=... --workdir=...`."""

import logging as std_logging
import os
import re
import signal
import sys
from typing import List, Optional

from deepdeblur_jax import cli_errors
from deepdeblur_jax.io import outage, storage  # maps STORAGE_EMULATOR_HOST before jax/Orbax load

if __name__ == '__main__':
  cli_errors.quiet_native_logs(sys.argv)  # before jax/TensorFlow load their C++ logging

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app, flags, logging
from ml_collections import config_flags

from deepdeblur_jax import compilation_cache, config_files, distributed  # pylint: disable=g-import-not-at-top
from deepdeblur_jax.config_validation import ConfigError, validate_config
from deepdeblur_jax.training import train
from deepdeblur_jax.training.workdir_lock import WorkdirLockedError

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
flags.DEFINE_bool('verbose', False, 'Print the full traceback of an error (it is always written '
                  'to WORKDIR/error.log); absl\'s -v 1 does the same.')
flags.DEFINE_bool('compilation_cache', True, 'Keep compiled XLA programs in the persistent JAX '
                  'compilation cache ($DEEPDEBLUR_CACHE/jax_compilation_cache, default '
                  '~/.cache/deepdeblur_jax/...), so a rerun skips most compile time.')
flags.mark_flags_as_required(['config', 'workdir'])

ERROR_LOG = 'error.log'


def _config_override_name(argv: List[str], key: str) -> str:
  """The --config.<path> on the command line that ends in `key` (else `key` itself)."""
  for arg in argv[1:]:
    if arg.startswith('--config.'):
      path = arg[len('--config.'):].split('=', 1)[0]
      if path.split('.')[-1] == key or key in path.split('.'):
        return path
  return key


def _config_file_arg(argv: List[str]) -> str:
  """The path given with --config (the last one)."""
  path = ''
  for i, arg in enumerate(argv[1:], 1):
    if arg.startswith('--config='):
      path = arg[len('--config='):]
    elif arg == '--config' and i + 1 < len(argv):
      path = argv[i + 1]
  return path


def _config_load_error(argv: List[str], error: BaseException) -> str:
  """One line naming the config file and what went wrong loading it."""
  path = _config_file_arg(argv)
  if path and not os.path.isfile(path.split(':')[0]):
    return f'config file {path} does not exist'
  cause = error
  while cause.__cause__ is not None:
    cause = cause.__cause__
  return f'cannot load config file {path}: {cli_errors.short_message(cause)}'


def parse_flags(argv: List[str]) -> List[str]:
  """absl flag parsing with one-line errors for config files and `--config.<field>` overrides."""
  config_files.add_package_root(_config_file_arg(argv))  # configs/*.py import each other
  try:
    rest = FLAGS(argv)
    _ = FLAGS.config.keys()  # a config file that failed to load raises on first access
    return rest
  except flags.Error as e:
    sys.exit(f'error: {e}\nPass --helpshort or --helpfull to see help on flags.')
  except (AttributeError, KeyError) as e:
    text = str(e.args[0]) if e.args else str(e)
    key = re.search(r'[A-Za-z_]\w*', text)  # the text is "'foo'" or "\\'foo\\'\nDid you mean ..."
    path = _config_override_name(argv, key.group(0) if key else text)
    hint = re.search(r'Did you mean "([^"]+)"', text)
    suggestion = ''
    if hint:
      suggestion = f' (did you mean config.{".".join(path.split(".")[:-1] + [hint.group(1)])}?)'
    sys.exit(f'invalid configuration: unknown config field config.{path}'
             f'{suggestion or " (check the spelling against the config file)"}')
  except Exception as e:  # pylint: disable=broad-except
    if cli_errors.wants_verbose(argv):
      raise
    message = _config_load_error(argv, e)
    hint = '' if message.endswith('does not exist') else '\n(full traceback with --verbose)'
    sys.exit(f'invalid configuration: {message}{hint}')


def _hide_orbax_info(record: std_logging.LogRecord) -> bool:
  """Keeps Orbax's per-save INFO lines out of the log (its warnings still show), and the
  tracebacks its save threads log for a bucket that cannot be reached (the run ends with one
  line naming it; the traceback with --verbose)."""
  if '/orbax/' not in record.pathname:
    return True
  if record.exc_info and outage.unreachable_message(record.exc_info[1]):
    return False
  return record.levelno >= std_logging.WARNING


def _error_log_path(workdir: str) -> Optional[str]:
  """WORKDIR/error.log when the workdir exists (in a bucket: when reachable), else None."""
  try:
    workdir = storage.absolute(workdir)
    return storage.join(workdir, ERROR_LOG) if storage.isdir(workdir) else None
  except Exception:  # pylint: disable=broad-except  (an unreachable bucket: no log file)
    return None


def main(argv: list) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_hide_orbax_info)
  verbose = FLAGS.verbose or FLAGS.verbosity >= 1
  if not verbose:
    outage.quiet_late_callbacks()
  try:
    validate_config(FLAGS.config)
    if FLAGS.compilation_cache:
      compilation_cache.enable()
    distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id,
                           auto=FLAGS.distributed)
    logging.info('JAX %s, %d process(es), devices: %s', jax.__version__, jax.process_count(),
                 jax.devices())
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except ConfigError as e:
    sys.exit(f'invalid configuration: {e}')
  except WorkdirLockedError as e:
    sys.exit(f'error: {e}')
  except train.TrainingInterrupted as e:
    logging.warning('%s', e)
    sys.exit(128 + (e.signum or signal.SIGTERM))
  except Exception as e:  # pylint: disable=broad-except
    log_path = _error_log_path(FLAGS.workdir)
    cli_errors.report(e, verbose, log_path)
    cli_errors.exit_now(1)


if __name__ == '__main__':
  jax.config.config_with_absl()
  app.run(main, flags_parser=parse_flags)
