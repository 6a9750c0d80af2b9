"""Device mesh and data placement: batches sharded over a 'data' axis, state replicated."""

from typing import Any, Mapping, Optional, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from deepdeblur_jax.config_validation import ConfigError

DATA_AXIS = 'data'


def make_mesh(devices: Optional[Sequence[jax.Device]] = None) -> Mesh:
  """A 1-D mesh over `devices` (default: every device of every process) with axis 'data'."""
  devices = list(jax.devices() if devices is None else devices)
  return Mesh(np.array(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over the 'data' axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  """Every device holds the whole array."""
  return NamedSharding(mesh, P())


def check_batch_size(batch_size: int, mesh: Mesh, process_count: Optional[int] = None) -> None:
  """Raises ConfigError naming batch_size unless it splits evenly over devices and processes."""
  process_count = jax.process_count() if process_count is None else process_count
  if batch_size % mesh.size:
    raise ConfigError(f'config.batch_size must be divisible by the number of devices '
                      f'({mesh.size}), got {batch_size}')
  if batch_size % process_count:
    raise ConfigError(f'config.batch_size must be divisible by the number of processes '
                      f'({process_count}), got {batch_size}')


def shard_batch(local_batch: Mapping[str, Any], mesh: Mesh) -> dict:
  """Global arrays from this process's part of the batch (array entries only).

  Works for one or many processes: each process passes its (batch_size / process_count, ...) part.
  """
  sharding = batch_sharding(mesh)
  out = {}
  for key, value in local_batch.items():
    value = np.asarray(value)
    if value.dtype.kind in 'fiu':
      out[key] = jax.make_array_from_process_local_data(sharding, value)
  return out


def replicate(tree: Any, mesh: Mesh) -> Any:
  """Places a host or single-device pytree replicated on every device of `mesh`."""
  return jax.device_put(tree, replicated_sharding(mesh))


def local_copy(tree: Any) -> Any:
  """A single-device copy of a replicated pytree (this process's first shard of each leaf)."""
  return jax.tree.map(lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x, tree)


def to_host(tree: Any) -> Any:
  """NumPy values of a replicated pytree (readable from any process)."""
  return jax.tree.map(lambda x: np.asarray(x.addressable_data(0)) if isinstance(x, jax.Array)
                      else np.asarray(x), tree)
