"""JAX's persistent compilation cache in the project's cache folder: a rerun skips compile time.

Compiled XLA programs are kept in `$DEEPDEBLUR_CACHE/jax_compilation_cache` (default
`~/.cache/deepdeblur_jax/jax_compilation_cache`, next to the synthetic datasets). A
`JAX_COMPILATION_CACHE_DIR` set by the user wins. `DEEPDEBLUR_COMPILATION_CACHE=0` (or the
entry points' --no-compilation-cache / --nocompilation_cache) turns it off.
"""

import importlib.util
import os
import pathlib
from typing import Any, Optional

import jax

SUBDIR = 'jax_compilation_cache'
ENV_SWITCH = 'DEEPDEBLUR_COMPILATION_CACHE'
# Cache programs that took at least this long to compile: the generator and train steps take
# seconds; the many tiny helper programs below it cost more to hash and read than to rebuild.
MIN_COMPILE_TIME_SECS = 0.2
MAX_SIZE_BYTES = 4 << 30  # with `filelock` installed, a size limit also makes JAX lock the folder


def cache_root() -> pathlib.Path:
  """`$DEEPDEBLUR_CACHE` if set, else `~/.cache/deepdeblur_jax`."""
  base = os.environ.get('DEEPDEBLUR_CACHE')
  return pathlib.Path(base).expanduser() if base else (
      pathlib.Path.home() / '.cache' / 'deepdeblur_jax')


def disabled_by_env() -> bool:
  """True when DEEPDEBLUR_COMPILATION_CACHE is 0/false/off/no."""
  return os.environ.get(ENV_SWITCH, '1').strip().lower() in ('0', 'false', 'off', 'no')


def enable(directory: Optional[str] = None) -> Optional[str]:
  """Turns the persistent cache on (before the first compile); returns its folder, or None
  when switched off by the environment or the folder cannot be made (then JAX just compiles)."""
  if disabled_by_env():
    return None
  current = jax.config.jax_compilation_cache_dir
  path = directory or current or str(cache_root() / SUBDIR)
  try:
    os.makedirs(path, exist_ok=True)
  except OSError:
    return None
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', MIN_COMPILE_TIME_SECS)
  jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)
  if (jax.config.jax_compilation_cache_max_size == -1
      and importlib.util.find_spec('filelock') is not None):  # JAX needs it for a size limit
    jax.config.update('jax_compilation_cache_max_size', MAX_SIZE_BYTES)
  return path


def add_argument(parser: Any) -> None:
  """Adds --no-compilation-cache to an argparse parser (see `enable_for`)."""
  parser.add_argument('--no-compilation-cache', action='store_true',
                      help='do not use the persistent JAX compilation cache '
                           f'($DEEPDEBLUR_CACHE/{SUBDIR}, default '
                           f'~/.cache/deepdeblur_jax/{SUBDIR})')


def enable_for(args: Any) -> Optional[str]:
  """`enable()` unless the parsed arguments have --no-compilation-cache."""
  return None if getattr(args, 'no_compilation_cache', False) else enable()
