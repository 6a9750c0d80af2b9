"""Helpers shared by the tool tests: run a tool as a subprocess, make a tiny checkpoint."""

import os
import pathlib
import subprocess
import sys
from typing import Any, Tuple

import jax

from configs import tiny
from deepdeblur_jax.checkpoint_format import save_inference_checkpoint
from deepdeblur_jax.models import create_generator, init_generator

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
  """Runs `python tools/<name>.py args...` from the repo root with a clean PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['JAX_PLATFORMS'] = 'cpu'
  return subprocess.run([sys.executable, str(REPO / 'tools' / f'{name}.py'), *map(str, args)],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def make_tiny_checkpoint(path: pathlib.Path, rgb_range: float = 1.0, seed: int = 0
                         ) -> Tuple[Any, Any]:
  """Saves a random-init tiny generator as an inference checkpoint; returns (model, params)."""
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  model = create_generator(config)
  params = init_generator(model, jax.random.key(seed))
  save_inference_checkpoint(str(path), params, config, provenance={'source': 'test'})
  return model, params
