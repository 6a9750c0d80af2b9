"""Helpers shared by the tool tests: run a tool as a subprocess, make a tiny checkpoint, find a
free port."""

import os
import pathlib
import socket
import subprocess
import sys
from typing import Any, Tuple

import jax
import numpy as np

from configs import tiny
from deepdeblur_jax.inference.checkpoint import expected_param_shapes, save_inference_checkpoint
from deepdeblur_jax.models import create_generator

REPO = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
  """A TCP port on 127.0.0.1 that nothing listens on now."""
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


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


# Output channel c of the colour-mixing checkpoint is sum_f COLOUR_MATRIX[c, f] * input channel f
# (about the mid grey): an asymmetric matrix, so swapped channels or transposes show.
COLOUR_MATRIX = np.array([[0.2, 1.1, 0.0], [0.0, 0.3, 0.9], [1.3, 0.0, -0.4]], np.float32)


def colour_mixing_params(model: Any, matrix: np.ndarray = COLOUR_MATRIX) -> Any:
  """Params with which the generator computes out = matrix @ (in - m) + m per pixel (m the
  mean rgb_range/2), so tests know its output without running the code under test: zero
  everywhere (ResBlocks become identities, coarse scales and upsampling zero) except the finest
  head's centre tap copying the blurry RGB to features 0..2 and the tail's centre tap mixing them.
  """
  params = jax.tree_util.tree_map(np.zeros_like, random_params(model))
  centre = model.kernel_size // 2
  head = params['scale_0']['head']['kernel']
  tail = params['scale_0']['tail']['kernel']
  for c in range(3):
    head[centre, centre, c, c] = 1.0
  tail[centre, centre, :3, :] = np.asarray(matrix, np.float32).T
  return jax.tree_util.tree_map(jax.numpy.asarray, params)


def colour_mixing_reference(rgb01: np.ndarray, matrix: np.ndarray = COLOUR_MATRIX) -> np.ndarray:
  """What the colour-mixing generator gives for float RGB in [0, 1], clipped to [0, 1]."""
  out = (np.asarray(rgb01, np.float64) - 0.5) @ np.asarray(matrix, np.float64).T + 0.5
  return np.clip(out, 0.0, 1.0)


def make_colour_mixing_checkpoint(path: pathlib.Path, rgb_range: float = 1.0) -> None:
  """Saves the tiny generator with `colour_mixing_params` as an inference checkpoint."""
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  params = colour_mixing_params(create_generator(config))
  save_inference_checkpoint(str(path), params, config, provenance={'source': 'test'})


def make_tiny_checkpoint(path: pathlib.Path, rgb_range: float = 1.0, seed: int = 0
                         ) -> Tuple[Any, Any]:
  """Saves a random tiny generator as an inference checkpoint; returns (model, params)."""
  config = tiny.get_config().model
  config.rgb_range = rgb_range
  model = create_generator(config)
  params = random_params(model, seed)
  save_inference_checkpoint(str(path), params, config, provenance={'source': 'test'})
  return model, params
