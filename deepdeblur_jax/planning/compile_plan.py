"""Compile the project's real train step (or deblur function) for some devices and read the
compiler's figures: memory per chip, FLOPs, bytes accessed, and whether it fits.

The devices are either compile-only TPU devices of a Cloud TPU topology (libtpu's compiler,
no TPU needed: `tpu_topology_devices`) or this runtime's own devices. Nothing runs: every
number is XLA's static analysis of the compiled program (`memory_analysis()`,
`cost_analysis()`), not a timing.
"""

import collections
import dataclasses
import importlib.util
import os
import re
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P

from deepdeblur_jax.planning.chips import (ChipSpec, CHIPS, chip_for_device_kind,
                                           chips_per_host_bounds, parse_topology)

LIBTPU_INSTALL_HINT = ('libtpu is not installed: TPU plans need the TPU compiler. Install it '
                       'with `make install-tpu-plan` or `pip install -r requirements-tpu.txt` '
                       '(Linux x86-64 only)')
WHATS = ('train', 'deblur')


class LibtpuMissing(RuntimeError):
  """The TPU compiler (the libtpu package) is not importable here."""


def libtpu_available() -> bool:
  """True when the libtpu package (the TPU compiler) can be imported."""
  return importlib.util.find_spec('libtpu') is not None


@dataclasses.dataclass
class Target:
  """Where a plan compiles for: devices, the chip they belong to, and its HBM per chip."""
  name: str  # 'v5e:2x4', or 'local' for this runtime's devices
  devices: List[Any]
  chip: Optional[ChipSpec]
  hbm_bytes_per_chip: Optional[int]  # what one program may use per chip
  process_count: int = 1

  @property
  def num_chips(self) -> int:
    """Distinct physical chips (a v4 chip shows up as two TensorCore devices)."""
    if all(hasattr(d, 'coords') for d in self.devices):
      return len({tuple(d.coords) for d in self.devices})
    return len(self.devices)

  @property
  def devices_per_chip(self) -> int:
    """TensorCore devices per chip (2 on the compiler's v4 topologies, else 1)."""
    return max(1, len(self.devices) // self.num_chips)


def tpu_target(topology: str) -> Target:
  """Compile-only devices for a Cloud TPU topology ('v5e:2x4', 'v5e-8', 'v4:2x2x1', ...).

  Raises LibtpuMissing (with the install line) when libtpu is absent, ValueError for an
  unknown topology name.
  """
  canonical, gen, dims = parse_topology(topology)
  if not libtpu_available():
    raise LibtpuMissing(LIBTPU_INSTALL_HINT)
  # A second process that loads libtpu (two plans at once, or a TPU VM's runtime) needs this.
  os.environ.setdefault('ALLOW_MULTIPLE_LIBTPU_LOAD', '1')
  from jax.experimental import topologies  # pylint: disable=g-import-not-at-top
  desc = topologies.get_topology_desc(topology_name=canonical, platform='tpu',
                                      chips_per_host_bounds=chips_per_host_bounds(gen, dims))
  devices = list(desc.devices)
  spec = CHIPS[gen]
  target = Target(canonical, devices, spec, spec.hbm_bytes,
                  process_count=len({d.process_index for d in devices}))
  usable = usable_hbm_bytes(devices)
  if usable is not None:
    target.hbm_bytes_per_chip = usable * target.devices_per_chip
  return target


def local_target() -> Target:
  """This runtime's devices; HBM from the device's memory_stats() (TPU, GPU), else host RAM."""
  devices = jax.devices()
  spec = chip_for_device_kind(devices[0].device_kind)
  capacity = None
  try:
    stats = devices[0].memory_stats() or {}
    capacity = stats.get('bytes_limit')
  except Exception:  # pylint: disable=broad-except  (CPU devices have no memory stats)
    capacity = None
  if capacity is None and spec is not None:
    capacity = spec.hbm_bytes
  if capacity is None and devices[0].platform == 'cpu':
    capacity = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
  return Target('local', devices, spec, int(capacity) if capacity else None,
                process_count=jax.process_count())


@dataclasses.dataclass
class Plan:
  """What the compiler says about one shape on one target (all *_per_chip values per chip)."""
  topology: str
  chip: str
  num_chips: int
  num_devices: int
  what: str
  dtype: str
  remat: str
  global_batch: int
  image_hw: Tuple[int, int]
  fits: bool
  hbm_bytes_per_chip: Optional[int]  # usable by one program (the compiler's limit on TPU)
  peak_bytes_per_chip: Optional[int]  # XLA's peak (arguments, outputs, temporaries) + code
  spec_hbm_bytes_per_chip: Optional[int] = None  # the chip table's HBM size
  argument_bytes_per_chip: Optional[int] = None
  output_bytes_per_chip: Optional[int] = None
  alias_bytes_per_chip: Optional[int] = None
  temp_bytes_per_chip: Optional[int] = None
  generated_code_bytes_per_chip: Optional[int] = None
  xla_flops_per_chip: Optional[float] = None
  analytic_flops_per_chip: Optional[float] = None
  xla_bytes_accessed_per_chip: Optional[float] = None
  peak_flops_per_chip: Optional[float] = None
  hbm_bandwidth_per_chip: Optional[float] = None
  compute_bound_seconds: Optional[float] = None
  memory_bound_seconds: Optional[float] = None
  compile_seconds: float = 0.0
  conv_dtypes: Dict[str, int] = dataclasses.field(default_factory=dict)
  chip_source: str = ''
  error: str = ''  # the compiler's message when it refused the program (out of memory)

  @property
  def batch_per_chip(self) -> float:
    """Images per chip (global batch over chips)."""
    return self.global_batch / self.num_chips

  def to_dict(self) -> Dict[str, Any]:
    """A JSON-ready dict (image_hw as a list, batch_per_chip included)."""
    out = dataclasses.asdict(self)
    out['image_hw'] = list(self.image_hw)
    out['batch_per_chip'] = self.batch_per_chip
    return out


_DTYPE_TOKEN = re.compile(r'\b(bf16|f16|f32|f64|s8|u8|s32)\[')


def convolution_dtypes(hlo_text: str) -> Dict[str, int]:
  """How many convolutions of the compiled HLO use each element type (result and operands).

  A convolution counts under 'bf16' only when its result and both operands are bf16; any other
  mix is counted under the types joined with '/' (e.g. 'bf16/f32').
  """
  counts: Dict[str, int] = collections.Counter()
  for line in hlo_text.splitlines():
    if ' convolution(' not in line:
      continue
    head = line.split(', window=')[0].split(', dim_labels=')[0]
    types = sorted(set(_DTYPE_TOKEN.findall(head)))
    counts['/'.join(types) or '?'] += 1
  return dict(counts)


# The TPU compiler refuses a program that does not fit with one of these (sizes in GiB).
_OOM_PATTERNS = (
    re.compile(r'required for [\w ]+\(([\d.]+)([KMGT]?)\) exceeds available HBM '
               r'\(([\d.]+)([KMGT]?)\)', re.IGNORECASE),
    re.compile(r'Used\s+([\d.]+)([KMGT]?)\s+of\s+([\d.]+)([KMGT]?)\s+hbm', re.IGNORECASE),
)
_UNITS = {'': 1, 'K': 2 ** 10, 'M': 2 ** 20, 'G': 2 ** 30, 'T': 2 ** 40}


def parse_oom(message: str) -> Tuple[Optional[int], Optional[int]]:
  """(bytes needed, bytes available) per device from the TPU compiler's out-of-memory message
  ('... required for HLO temporaries (81.38G) exceeds available HBM (15.75G)' or
  'Used X of Y hbm'); (None, None) for any other text."""
  for pattern in _OOM_PATTERNS:
    match = pattern.search(message)
    if match:
      used = float(match.group(1)) * _UNITS[match.group(2).upper()]
      limit = float(match.group(3)) * _UNITS[match.group(4).upper()]
      return int(used), int(limit)
  return None, None


def usable_hbm_bytes(devices: Sequence[Any]) -> Optional[int]:
  """The HBM the TPU compiler lets one program use on one of `devices` (a little under the
  chip's, per TensorCore device), read from its answer to a program that cannot fit."""
  from jax.sharding import Mesh  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  mesh = Mesh(np.array(list(devices)[:1]), ('one',))
  huge = jax.ShapeDtypeStruct((2 ** 40 // 4,), jnp.float32, sharding=NamedSharding(mesh, P()))
  try:
    jax.jit(lambda x: x.sum()).lower(huge).compile()
  except Exception as error:  # pylint: disable=broad-except
    return parse_oom(str(error))[1]
  return None


def _is_out_of_memory(error: Exception) -> bool:
  text = str(error)
  return 'RESOURCE_EXHAUSTED' in text or 'Ran out of memory' in text


def _abstract(tree: Any, sharding: NamedSharding) -> Any:
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def _lower_train(config: Mapping[str, Any], target: Target, global_batch: int,
                 hw: Tuple[int, int]) -> Any:
  from deepdeblur_jax.training.sharding import (batch_sharding, check_batch_size,  # pylint: disable=g-import-not-at-top
                                                make_mesh, replicated_sharding)
  from deepdeblur_jax.training.train_state import abstract_train_state  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.train_step import make_train_step  # pylint: disable=g-import-not-at-top
  mesh = make_mesh(target.devices)
  check_batch_size(global_batch, mesh, process_count=target.process_count)
  state = _abstract(abstract_train_state(config), replicated_sharding(mesh))
  dtype = jnp.uint8 if config['data']['output_dtype'] == 'uint8' else jnp.float32
  image = jax.ShapeDtypeStruct((global_batch, hw[0], hw[1], 3), dtype,
                               sharding=batch_sharding(mesh))
  return make_train_step(config, mesh).lower(state, {'blur': image, 'sharp': image})


def _lower_deblur(config: Mapping[str, Any], target: Target, global_batch: int,
                  hw: Tuple[int, int]) -> Any:
  from deepdeblur_jax.inference.deblur import make_deblur_fn  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.models import create_generator, init_generator  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.sharding import (batch_sharding, check_batch_size,  # pylint: disable=g-import-not-at-top
                                                make_mesh, replicated_sharding)
  mesh = make_mesh(target.devices)
  check_batch_size(global_batch, mesh, process_count=target.process_count)
  model = create_generator(config['model'], dtype=config['dtype'])
  params = jax.eval_shape(lambda: init_generator(model, jax.random.key(0)))
  params = _abstract(params, replicated_sharding(mesh))
  images = jax.ShapeDtypeStruct((global_batch, hw[0], hw[1], 3), jnp.float32,
                                sharding=batch_sharding(mesh))
  return make_deblur_fn(model).lower(params, images)


def analytic_flops(config: Mapping[str, Any], what: str, global_batch: int,
                   hw: Tuple[int, int]) -> Optional[float]:
  """The analytic conv FLOPs of one step (bench/flops.py's counts), or None outside a checkout."""
  try:
    from bench import flops  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  model = config['model']
  if what == 'deblur':
    return 2.0 * flops.generator_macs_from_config(model, hw[0], hw[1]) * global_batch
  if hw[0] != hw[1]:
    return None
  adversarial = float(config['adversarial_weight']) > 0
  return flops.train_step_flops(model, global_batch, hw[0], adversarial)['flops']


def plan(config: Mapping[str, Any], target: Target, what: str = 'train',
         global_batch: Optional[int] = None, hw: Optional[Tuple[int, int]] = None) -> Plan:
  """Compiles `what` ('train': the jitted train step; 'deblur': the jitted deblur function) for
  `target` at `global_batch` images of `hw` (default: config.batch_size, config.patch_size).

  A program the compiler refuses for lack of memory gives fits=False (with its message), not an
  exception; any other compile error propagates.
  """
  if what not in WHATS:
    raise ValueError(f'what must be one of {WHATS}, got {what!r}')
  global_batch = int(config['batch_size'] if global_batch is None else global_batch)
  hw = tuple(hw) if hw else (int(config['patch_size']),) * 2  # type: ignore[assignment]
  chips, per_chip = target.num_chips, target.devices_per_chip
  spec = target.chip
  result = Plan(topology=target.name, chip=spec.name if spec else target.devices[0].device_kind,
                num_chips=chips, num_devices=len(target.devices), what=what,
                dtype=str(config['dtype']), remat=str(config.get('remat', 'none')),
                global_batch=global_batch, image_hw=hw, fits=False,  # type: ignore[arg-type]
                hbm_bytes_per_chip=target.hbm_bytes_per_chip, peak_bytes_per_chip=None,
                spec_hbm_bytes_per_chip=spec.hbm_bytes if spec else None,
                peak_flops_per_chip=spec.peak_bf16_flops if spec else None,
                hbm_bandwidth_per_chip=spec.hbm_bandwidth if spec else None,
                chip_source=spec.source if spec else '')
  flops = analytic_flops(config, what, global_batch, hw)  # type: ignore[arg-type]
  result.analytic_flops_per_chip = flops / chips if flops is not None else None
  lower = _lower_train if what == 'train' else _lower_deblur
  start = time.perf_counter()
  try:
    compiled = lower(config, target, global_batch, hw).compile()  # type: ignore[arg-type]
  except Exception as error:  # pylint: disable=broad-except
    result.compile_seconds = time.perf_counter() - start
    if not _is_out_of_memory(error):
      raise
    result.error = str(error).strip().splitlines()[0][:500]
    used, limit = parse_oom(str(error))
    if used is not None:
      result.peak_bytes_per_chip = used * per_chip
    if limit is not None:
      result.hbm_bytes_per_chip = limit * per_chip
    return result
  result.compile_seconds = time.perf_counter() - start
  memory = compiled.memory_analysis()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  # XLA's own peak where it reports one; never less than arguments + outputs + temporaries
  # (the CPU backend's peak leaves the temporaries out).
  peak = max(int(getattr(memory, 'peak_memory_in_bytes', 0) or 0),
             memory.argument_size_in_bytes + memory.output_size_in_bytes
             - memory.alias_size_in_bytes + memory.temp_size_in_bytes)
  result.peak_bytes_per_chip = (peak + memory.generated_code_size_in_bytes) * per_chip
  result.argument_bytes_per_chip = memory.argument_size_in_bytes * per_chip
  result.output_bytes_per_chip = memory.output_size_in_bytes * per_chip
  result.alias_bytes_per_chip = memory.alias_size_in_bytes * per_chip
  result.temp_bytes_per_chip = memory.temp_size_in_bytes * per_chip
  result.generated_code_bytes_per_chip = memory.generated_code_size_in_bytes * per_chip
  result.xla_flops_per_chip = float(cost.get('flops', 0.0)) * per_chip
  result.xla_bytes_accessed_per_chip = float(cost.get('bytes accessed', 0.0)) * per_chip
  if spec is not None:
    result.compute_bound_seconds = result.xla_flops_per_chip / spec.peak_bf16_flops
    result.memory_bound_seconds = result.xla_bytes_accessed_per_chip / spec.hbm_bandwidth
  result.conv_dtypes = convolution_dtypes(compiled.as_text())
  # The TPU compiler refuses a program far over its memory, but it compiled one whose peak was
  # 19.19 GB for a v5e chip's 16.91 GB (default model, 3 patches per chip): the peak is always
  # compared with what the device allows.
  result.fits = (result.hbm_bytes_per_chip is None
                 or result.peak_bytes_per_chip <= result.hbm_bytes_per_chip)
  return result


def max_batch(plan_at: Callable[[int], Plan], start: int, step: int,
              max_compiles: int = 12) -> Tuple[Optional[Plan], List[Plan]]:
  """The largest global batch (a multiple of `step`) that fits, and every plan compiled.

  `plan_at(global_batch)` compiles one shape. The search starts at `start`, then guesses from
  the memory figures (peak bytes grow about linearly with the batch: the line through the two
  nearest measured points, or through one point and the batch-independent argument bytes) and
  keeps a bracket [largest fitting, smallest not fitting] that it narrows by bisection whenever
  a guess falls outside it; it stops when the two are one step apart. Returns (None, plans)
  when not even one batch of `step` fits.
  """
  plans: Dict[int, Plan] = {}
  lo, hi = 0, None  # in units of `step`
  k = max(1, start // step)
  while len(plans) < max_compiles:
    result = plans[k] = plan_at(k * step)
    if result.fits:
      lo = max(lo, k)
    else:
      hi = k if hi is None else min(hi, k)
    if hi is not None and hi - lo <= 1:
      break
    guess = _linear_guess(plans, step)
    if guess is None:
      k = 2 * lo if hi is None else (lo + hi) // 2
    else:  # the guess, kept inside the bracket (lo+1 confirms a guess equal to lo)
      k = max(guess, lo + 1) if hi is None else min(max(guess, lo + 1), hi - 1)
    if k in plans:
      k = (lo + hi) // 2 if hi is not None else 2 * max(plans)
    if k in plans or k < 1:
      break
  best = plans.get(lo) if lo else None
  return best, [plans[key] for key in sorted(plans)]


def _linear_guess(plans: Mapping[int, Plan], step: int) -> Optional[int]:
  """Largest k whose peak bytes, on the line through the measured points, fit the HBM."""
  points = [(k, p.peak_bytes_per_chip) for k, p in sorted(plans.items())
            if p.peak_bytes_per_chip is not None]
  limits = [p.hbm_bytes_per_chip for p in plans.values() if p.hbm_bytes_per_chip]
  if not points or not limits:
    return None
  limit = min(limits)
  if len(points) >= 2:
    # The two points nearest the limit.
    (k1, m1), (k2, m2) = sorted(points, key=lambda pt: abs(pt[1] - limit))[:2]
    if k1 == k2 or m1 == m2:
      return None
    slope = (m2 - m1) / (k2 - k1)
    intercept = m1 - slope * k1
  else:
    k1, m1 = points[0]
    fixed = next((p.argument_bytes_per_chip for p in plans.values()
                  if p.argument_bytes_per_chip is not None), None)
    if fixed is None or m1 <= fixed:
      return None
    slope, intercept = (m1 - fixed) / k1, fixed
  if slope <= 0:
    return None
  return max(1, int((limit - intercept) // slope))
