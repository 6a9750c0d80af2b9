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
import jax.numpy as jnp


def _delta(kernel: jnp.ndarray) -> jnp.ndarray:
  """Kernel (k, k, in, out): out-channels 0-2 copy in-channels 0-2 at the centre tap, others kept."""
  centre = kernel.shape[0] // 2
  kernel = kernel.at[..., :3].set(0.0)
  return kernel.at[centre, centre, jnp.arange(3), jnp.arange(3)].set(1.0)


def identity_generator_params(params: Any) -> Any:
  """Generator `params` (from init_generator) made into the identity map (traceable by jit)."""
  params = jax.tree_util.tree_map(lambda x: x, params)  # a fresh nested dict
  for name, scale in params.items():
    if not name.startswith('scale_'):
      continue
    scale['head'] = {'kernel': _delta(scale['head']['kernel']),
                     'bias': scale['head']['bias'].at[:3].set(0.0)}
    for block_name, block in scale.items():
      if block_name.startswith('resblock_'):
        block['conv2'] = jax.tree_util.tree_map(jnp.zeros_like, block['conv2'])
    scale['tail'] = {'kernel': _delta(jnp.zeros_like(scale['tail']['kernel'])),
                     'bias': jnp.zeros_like(scale['tail']['bias'])}
  return params
