"""Identity initialisation: generator params whose every scale outputs its blurry input exactly.

Each scale's head copies the 3 blurry channels into features 0-2, every ResBlock's second conv
is zero (so each block passes its input through, as zero-initialised residual branches), and
the tail reads features 0-2 back out; every other weight keeps its random initialisation, so
the head's other features, the upsampling convs and the first ResBlock convs start random. A
model starting here begins at the blurry input's PSNR instead of far below it, and every step
learns a correction to it (bench/learning_check_real.sh measures what this buys on real blur).
"""

from typing import Any

import jax
import numpy as np


def _delta(kernel: np.ndarray, channels: int = 3) -> np.ndarray:
  """Kernel (k, k, in, out) with out-channels 0..channels-1 copying in-channels 0..channels-1."""
  kernel = np.array(kernel, np.float32)
  centre = kernel.shape[0] // 2
  kernel[..., :channels] = 0.0
  for c in range(channels):
    kernel[centre, centre, c, c] = 1.0
  return kernel


def identity_generator_params(params: Any) -> Any:
  """Float32 copy of generator `params` (from init_generator) made into the identity map."""
  params = jax.tree_util.tree_map(lambda x: np.array(x, np.float32), params)
  for name, scale in params.items():
    if not name.startswith('scale_'):
      continue
    scale['head']['kernel'] = _delta(scale['head']['kernel'])
    scale['head']['bias'][:3] = 0.0
    for block_name, block in scale.items():
      if block_name.startswith('resblock_'):
        block['conv2']['kernel'][...] = 0.0
        block['conv2']['bias'][...] = 0.0
    tail = np.zeros_like(scale['tail']['kernel'])
    centre = tail.shape[0] // 2
    for c in range(3):
      tail[centre, centre, c, c] = 1.0
    scale['tail']['kernel'] = tail
    scale['tail']['bias'][...] = 0.0
  return jax.tree_util.tree_map(jax.numpy.asarray, params)
