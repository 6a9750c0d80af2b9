"""Cloud TPU chips (the bounds a plan is measured against) and topology names.

Every number is per chip, as Google's Cloud TPU system-architecture pages state it (units as
written there: "GB" is taken as 10**9 bytes, "GiB" as 2**30). They are vendor peaks, not
measurements: a step cannot run faster than `flops / peak_flops` nor than
`bytes_accessed / hbm_bandwidth`.
"""

import dataclasses
import re
from typing import Dict, Optional, Tuple

GB = 10 ** 9
GIB = 2 ** 30


@dataclasses.dataclass(frozen=True)
class ChipSpec:
  """One TPU generation: dense bf16 peak, HBM size and bandwidth per chip, and their source."""
  name: str
  device_kind: str  # what jax.Device.device_kind says for it
  peak_bf16_flops: float
  hbm_bytes: int
  hbm_bandwidth: float  # bytes per second
  source: str


CHIPS: Dict[str, ChipSpec] = {
    'v4': ChipSpec('v4', 'TPU v4', 275e12, 32 * GIB, 1200 * GB,
                   'https://cloud.google.com/tpu/docs/v4 (275 TFLOP/s bf16; HBM2 32 GiB, '
                   '1200 GBps)'),
    'v5e': ChipSpec('v5e', 'TPU v5 lite', 197e12, 16 * GB, 819 * GB,
                    'https://cloud.google.com/tpu/docs/v5e (197 TFLOP/s bf16; HBM2 16 GB, '
                    '819 GBps)'),
    'v5p': ChipSpec('v5p', 'TPU v5', 459e12, 95 * GB, 2765 * GB,
                    'https://cloud.google.com/tpu/docs/v5p (459 TFLOP/s bf16; HBM2e 95 GB, '
                    '2765 GBps)'),
    'v6e': ChipSpec('v6e', 'TPU v6 lite', 918e12, 32 * GB, 1638 * GB,
                    'https://cloud.google.com/tpu/docs/v6e (918 TFLOP/s bf16; HBM 32 GB, '
                    '1638 GBps)'),
}

# Accelerator-type names (as `gcloud` and Colab use them) for the usual single-host slices.
ALIASES: Dict[str, str] = {
    'v4-8': 'v4:2x2x1', 'v5p-8': 'v5p:2x2x1',
    'v5e-1': 'v5e:1x1', 'v5e-4': 'v5e:2x2', 'v5e-8': 'v5e:2x4',
    'v5litepod-1': 'v5e:1x1', 'v5litepod-4': 'v5e:2x2', 'v5litepod-8': 'v5e:2x4',
    'v6e-1': 'v6e:1x1', 'v6e-4': 'v6e:2x2', 'v6e-8': 'v6e:2x4',
}

_TOPOLOGY = re.compile(r'^(v4|v5e|v5p|v6e):(\d+)x(\d+)(?:x(\d+))?$')


def parse_topology(name: str) -> Tuple[str, str, Tuple[int, int, int]]:
  """(canonical 'gen:AxB[xC]', chip generation, (A, B, C)) for a topology or alias name.

  Raises ValueError naming the accepted forms for anything else.
  """
  canonical = ALIASES.get(name, name)
  match = _TOPOLOGY.match(canonical)
  if not match:
    raise ValueError(f'unknown TPU topology {name!r}: use GEN:AxB (v5e, v6e) or GEN:AxBxC '
                     f'(v4, v5p), e.g. v5e:2x4, or one of {sorted(ALIASES)}')
  gen = match.group(1)
  dims = tuple(int(d) for d in match.group(2, 3)) + (int(match.group(4) or 1),)
  if gen in ('v4', 'v5p') and match.group(4) is None:
    raise ValueError(f'{gen} topologies are 3-D (AxBxC), got topology {name!r}')
  return canonical, gen, dims  # type: ignore[return-value]


def chips_per_host_bounds(gen: str, dims: Tuple[int, int, int]) -> Tuple[int, int, int]:
  """The host shape the TPU compiler is told: one host for slices of up to 8 v5e/v6e chips
  (2x4 hosts beyond) and 2x2x1 for v4/v5p, as Cloud TPU VMs are built."""
  if gen in ('v5e', 'v6e'):
    if dims[0] * dims[1] <= 8:
      return dims
    return (2, 4, 1)
  return (min(dims[0], 2), min(dims[1], 2), 1)


def chip_for_device_kind(device_kind: str) -> Optional[ChipSpec]:
  """The ChipSpec whose device_kind matches a jax device's, or None (CPU, GPU, other TPUs)."""
  for spec in CHIPS.values():
    if spec.device_kind == device_kind:
      return spec
  return None
