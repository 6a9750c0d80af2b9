"""Helpers shared by the tool tests: run a tool as a subprocess, make a tiny checkpoint."""

import os
import pathlib
import subprocess
import sys
from typing import Any, Tuple

import jax
import numpy as np

from configs import tiny
from deepdeblur_jax.checkpoint_format import expected_param_shapes, save_inference_checkpoint
from deepdeblur_jax.models import create_generator

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
  """Runs `python tools/<name>.py args...` from the repo root with a clean PYTHONPATH."""
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['JAX_PLATFORMS'] = 'cpu'
  return subprocess.run([sys.executable, str(REPO / 'tools' / f'{name}.py'), *map(str, args)],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def random_params(model: Any, seed: int = 0, gain: float = 0.5) -> Any:
  """Random params of the right shapes, kernels with std gain/sqrt(fan_in) so outputs stay O(1).

  Made in NumPy: a jitted Flax init compiles for seconds on a busy CPU, and the tools do not care
  how the weights were drawn.
  """
  rng = np.random.default_rng(seed)
  params: dict = {}
  for name, shape in sorted(expected_param_shapes(model).items()):
    *path, leaf = name.split('/')
    node = params
    for part in path:
      node = node.setdefault(part, {})
    if leaf == 'kernel':
      fan_in = int(np.prod(shape[:-1]))
      node[leaf] = (rng.standard_normal(shape) * gain / np.sqrt(fan_in)).astype(np.float32)
    else:
      node[leaf] = (rng.standard_normal(shape) * 0.01).astype(np.float32)
  return jax.tree_util.tree_map(jax.numpy.asarray, params)


def make_tiny_checkpoint(path: pathlib.Path, rgb_range: float = 1.0, seed: int = 0
                         ) -> Tuple[Any, Any]:
  """Saves a random tiny generator as an inference checkpoint; returns (model, params)."""
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  model = create_generator(config)
  params = random_params(model, seed)
  save_inference_checkpoint(str(path), params, config, provenance={'source': 'test'})
  return model, params
