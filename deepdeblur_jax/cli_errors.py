"""Errors for people: one or two lines naming the file or field; the traceback on request.

The entry points (deepdeblur_jax.main and tools/*.py) turn an exception into `error: ...` on
stderr, write the full traceback to a log file where they have one, print it with --verbose, and
end the process at once (os._exit after flushing), so background threads (tf.data, Orbax's event
loop) can neither keep it alive nor print pages of shutdown noise after the message.
"""

import datetime
import os
import re
import sys
import traceback
from typing import Any, Callable, Optional, Sequence

_VERBOSE_FLAGS = ('-v', '--verbose', '--verbose=true', '--verbose=True', '--verbose=1')
_MAX_CHARS = 400

# Exceptions whose message is the whole story: no type name in front of it.
_PLAIN = ('ConfigError', 'CheckpointError', 'WorkdirLockedError', 'NonFiniteLossError',
          'DataError', 'ConversionError')


def wants_verbose(argv: Sequence[str]) -> bool:
  """True when the command line asks for tracebacks: -v, --verbose, or absl's -v=N/--verbosity=N
  with N >= 1."""
  for arg in argv[1:]:
    if arg in _VERBOSE_FLAGS:
      return True
    level = re.fullmatch(r'(-v|--verbosity)=(\d+)', arg)
    if level and int(level.group(2)) >= 1:
      return True
  return False


def quiet_native_logs(argv: Sequence[str]) -> None:
  """Unless -v/--verbose: hides TensorFlow's and XLA's C++ warnings (a data error in tf.data is
  logged as a page of Python traceback per worker): TF_CPP_MIN_LOG_LEVEL at least 2 (jax sets
  1 on import; a parent process that imported jax passes that on). Run before jax/TF import."""
  if not wants_verbose(argv):
    level = os.environ.get('TF_CPP_MIN_LOG_LEVEL', '0')
    if not level.isdigit() or int(level) < 2:
      os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'


def short_message(exc: BaseException) -> str:
  """The first informative line of `exc` (TensorFlow/TensorStore details dropped), prefixed by
  its type unless it is one of the project's own error types; at most ~400 characters. A bucket
  that could not be reached gives `storage gs://... unreachable: <reason>`."""
  from deepdeblur_jax.io import outage  # pylint: disable=g-import-not-at-top
  unreachable = outage.unreachable_message(exc)
  if unreachable:
    return unreachable
  text = exc.message if hasattr(exc, 'message') and isinstance(exc.message, str) else str(exc)
  if type(exc).__module__.startswith('deepdeblur_jax') and text.strip():
    return text.strip()  # the project's own messages are written for people, lists included
  text = re.sub(r'\{\{function_node [^}]*\}\}\s*', '', text)
  text = text.split('See full TensorStore details')[0]
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  line = lines[0] if lines else ''
  if isinstance(exc, KeyError) and len(line) > 1 and line[0] == line[-1] == "'":
    line = f'missing key {line}'
  if len(line) > _MAX_CHARS:
    line = line[:_MAX_CHARS] + ' ...'
  name = type(exc).__name__
  if type(exc).__module__.startswith('tensorflow') and re.match(r'\w+(Error|Exception): ', line):
    return line  # a Python error raised inside tf.data: its own type says more than TF's
  if name in _PLAIN and line:
    return line
  if isinstance(exc, OSError) and exc.filename is not None and str(exc.filename) not in line:
    line = f'{line}: {exc.filename}'
  return f'{name}: {line}' if line else name


def write_traceback(path: str, exc: BaseException, argv: Sequence[str]) -> Optional[str]:
  """Appends a dated traceback of `exc` to `path`; returns the path, or None if not writable."""
  from deepdeblur_jax.io import storage  # pylint: disable=g-import-not-at-top
  text = (f'--- {datetime.datetime.now().astimezone().isoformat(timespec="seconds")} '
          f'{" ".join(argv)}\n' +
          ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
  try:
    storage.append_text(path, text)
    return path
  except Exception:  # pylint: disable=broad-except  (OSError; a bucket's client errors)
    return None


def report(exc: BaseException, verbose: bool, log_path: Optional[str] = None,
           prefix: str = 'error', argv: Sequence[str] = ()) -> None:
  """Prints `prefix: <short message>` and where the full traceback is (or the traceback)."""
  if verbose:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
  print(f'{prefix}: {short_message(exc)}', file=sys.stderr)
  if verbose:
    return
  written = write_traceback(log_path, exc, argv or sys.argv) if log_path else None
  where = f'in {written} or ' if written else ''
  print(f'(full traceback {where}with --verbose)', file=sys.stderr)


def exit_now(code: int) -> None:
  """Flushes logs and stdio, then ends the process at once with `code`."""
  try:
    import logging  # pylint: disable=g-import-not-at-top
    logging.shutdown()
  except Exception:  # pylint: disable=broad-except
    pass
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except Exception:  # pylint: disable=broad-except
      pass
  os._exit(code)  # pylint: disable=protected-access


def add_verbose_argument(parser: Any) -> None:
  """Adds -v/--verbose (print the traceback of an error) to an argparse parser."""
  parser.add_argument('-v', '--verbose', action='store_true',
                      help='print the full traceback of an error')


def run_tool(main: Callable[[], int]) -> None:
  """Runs a tool's `main()`; ends the process with its code, or with 1 and a short message on an
  unexpected exception (the traceback with -v/--verbose). Argument errors keep argparse's 2."""
  verbose = wants_verbose(sys.argv)
  try:
    code = main()
  except SystemExit:
    raise
  except KeyboardInterrupt:
    print('interrupted', file=sys.stderr)
    exit_now(130)
  except Exception as e:  # pylint: disable=broad-except
    report(e, verbose)
    exit_now(1)
  else:
    if code:
      exit_now(int(code))
    sys.exit(0)
