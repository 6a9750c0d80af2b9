"""Loads a training config file (configs/*.py) for the benchmarks: `--config configs/tiny.py`."""

import importlib.util
import pathlib
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_config(path: str = 'configs/default.py') -> Any:
  """`get_config()` of a config file, relative to the repository root or absolute."""
  file = pathlib.Path(path)
  if not file.is_absolute() and not file.exists():
    file = ROOT / path
  spec = importlib.util.spec_from_file_location(f'bench_config_{file.stem}', file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()
