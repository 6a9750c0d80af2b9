"""Shared helpers for the training tests: tiny configs and running Python subprocesses."""

import os
import subprocess
import sys

from configs import tiny

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(**overrides):
  """configs/tiny.py with top-level field overrides."""
  config = tiny.get_config()
  for key, value in overrides.items():
    config[key] = value
  return config


def run_python(args, env_extra=None, timeout=240):
  """Runs `python args...` from the repository root; returns the CompletedProcess."""
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
  env.update(env_extra or {})
  return subprocess.run([sys.executable] + list(args), cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=timeout, check=False)
