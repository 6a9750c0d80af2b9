"""How much XLA's TPU cost model over-counts the HBM traffic of one 5x5 convolution.

  python bench/tpu_conv_cost_model.py [--channels 64,128] [--topology v5e:1x1] [--json OUT]

Compiles one 5x5, stride-1, SAME-padded convolution, bf16, NHWC input 2x256x256xC -> C
channels, no bias (the generator's ResBlock convolution at 2 patches per chip), for a compile-only
device of a Cloud TPU topology with libtpu's compiler (`jax.experimental.topologies`, as
tools/tpu_plan.py does; no TPU needed), and prints per channel count:
  - XLA's `cost_analysis()` "bytes accessed" and "flops" of the compiled program;
  - the minimal HBM traffic: every input, output and weight byte moved once
    (2 x 256 x 256 x C x 2 bytes in and out, 5 x 5 x C x C x 2 bytes of weights);
  - their ratio, the factor by which the cost model's byte count exceeds that minimum;
  - the analytic FLOPs, 2 x (2 x 256 x 256) x 25 x C x C.
tools/tpu_plan.py's "memory bound" divides the same "bytes accessed" by the chip's HBM bandwidth,
so this ratio says how far that figure can sit above the traffic a real TPU needs. Nothing runs
on a TPU: these are the compiler's figures. Needs libtpu (`pip install -r requirements-tpu.txt`).
Prints one line per channel count and one JSON line.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import os  # noqa: E402

# Compile-only TPU devices need no TPU backend: keep JAX's own platform on the CPU so that an
# installed libtpu does not try to open a TPU at import.
os.environ.setdefault('JAX_PLATFORMS', 'cpu')

import argparse  # noqa: E402
import dataclasses  # noqa: E402
from importlib import metadata  # noqa: E402
import json  # noqa: E402
from typing import Any, Dict, List  # noqa: E402

BATCH, SIZE, KERNEL = 2, 256, 5
BF16_BYTES = 2


@dataclasses.dataclass
class ConvShape:
  """One NHWC convolution with a square KERNEL x KERNEL window, c_in -> c_out, SAME padding."""
  batch: int
  height: int
  width: int
  c_in: int
  c_out: int
  kernel: int
  element_bytes: int = BF16_BYTES

  def minimal_bytes(self) -> int:
    """Input + output + weight bytes, each read or written once."""
    pixels = self.batch * self.height * self.width
    return (pixels * (self.c_in + self.c_out)
            + self.kernel * self.kernel * self.c_in * self.c_out) * self.element_bytes

  def flops(self) -> int:
    """2 x multiply-adds: one per output pixel, window tap, input and output channel."""
    return 2 * self.batch * self.height * self.width * self.kernel ** 2 * self.c_in * self.c_out


def compiled_cost(shape: ConvShape, topology: str) -> Dict[str, float]:
  """XLA's cost analysis ('flops', 'bytes accessed') of the convolution compiled for one
  compile-only device of `topology`. Raises compile_plan.LibtpuMissing without libtpu."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from jax.sharding import SingleDeviceSharding  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.planning import compile_plan  # pylint: disable=g-import-not-at-top

  # Figures from a fresh compile only: an executable read back from a cache may lack them.
  jax.config.update('jax_enable_compilation_cache', False)
  device = compile_plan.tpu_target(topology).devices[0]
  sharding = SingleDeviceSharding(device)
  image = jax.ShapeDtypeStruct((shape.batch, shape.height, shape.width, shape.c_in),
                               jnp.bfloat16, sharding=sharding)
  kernel = jax.ShapeDtypeStruct((shape.kernel, shape.kernel, shape.c_in, shape.c_out),
                                jnp.bfloat16, sharding=sharding)

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (1, 1), 'SAME',
                                        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))

  compiled = jax.jit(conv).lower(image, kernel).compile()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return {'flops': float(cost['flops']), 'bytes accessed': float(cost['bytes accessed'])}


def measure(channels: int, topology: str) -> Dict[str, Any]:
  """One row: shape, XLA's figures, the minimal traffic and the ratio."""
  shape = ConvShape(BATCH, SIZE, SIZE, channels, channels, KERNEL)
  cost = compiled_cost(shape, topology)
  minimal = shape.minimal_bytes()
  return {'channels': channels, 'shape': f'{BATCH}x{SIZE}x{SIZE}x{channels}', 'kernel': KERNEL,
          'dtype': 'bfloat16', 'topology': topology,
          'xla_bytes_accessed': cost['bytes accessed'], 'minimal_bytes': minimal,
          'ratio': cost['bytes accessed'] / minimal,
          'xla_flops': cost['flops'], 'analytic_flops': shape.flops()}


def main(argv: List[str] = None) -> int:
  """Compiles one convolution per channel count and prints the rows."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--channels', default='64,128', help='comma list of channel counts C')
  parser.add_argument('--topology', default='v5e:1x1', help='Cloud TPU topology, e.g. v5e:1x1')
  parser.add_argument('--json', default='', help='also append the JSON line to this file')
  args = parser.parse_args(argv)

  import jax  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.planning import compile_plan  # pylint: disable=g-import-not-at-top
  try:
    rows = [measure(int(c), args.topology) for c in args.channels.split(',')]
  except compile_plan.LibtpuMissing as error:
    print(error, file=sys.stderr)
    return 2
  versions = {'jax': jax.__version__, 'libtpu': metadata.version('libtpu')}
  for r in rows:
    print(f'{r["topology"]}, 5x5 conv bf16 {r["shape"]} -> {r["channels"]}: XLA bytes accessed '
          f'{r["xla_bytes_accessed"] / 1e6:.1f} MB, minimal HBM traffic '
          f'{r["minimal_bytes"] / 1e6:.1f} MB, ratio {r["ratio"]:.2f}x; XLA FLOPs '
          f'{r["xla_flops"] / 1e9:.2f} G (analytic {r["analytic_flops"] / 1e9:.2f} G)')
  line = json.dumps({'benchmark': 'tpu_conv_cost_model', **versions, 'rows': rows})
  print(line)
  if args.json:
    with open(args.json, 'a') as f:
      f.write(line + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
