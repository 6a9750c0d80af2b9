"""Multi-process start-up through JAX's own multi-controller runtime (`jax.distributed`).

One process per host (TPU VM worker, GPU node or local CPU process). With no settings nothing
happens and the run is single-process. `auto=True` lets JAX detect the cluster (TPU pod slices,
SLURM, Open MPI); explicit settings work anywhere, e.g. two CPU processes on one machine.
"""

from typing import Optional

import jax
from absl import logging


def initialize(coordinator_address: str = '', num_processes: Optional[int] = None,
               process_id: Optional[int] = None, auto: bool = False) -> bool:
  """Starts `jax.distributed` when asked; returns True when the run is multi-process.

  Must be called before any other JAX call touches the devices. CPU processes exchange
  data through gloo collectives.
  """
  explicit = bool(coordinator_address)
  if not explicit and not auto:
    if num_processes not in (None, 1) or process_id not in (None, 0):
      raise ValueError('num_processes/process_id need coordinator_address (or auto=True)')
    return False
  if explicit and (num_processes is None or process_id is None):
    raise ValueError('coordinator_address needs both num_processes and process_id')
  if explicit and not 0 <= process_id < num_processes:
    raise ValueError(f'process_id must be in [0, {num_processes}), got {process_id}')
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  if explicit:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
  else:
    jax.distributed.initialize()
  logging.info('jax.distributed: process %d of %d, %d local / %d global devices',
               jax.process_index(), jax.process_count(), jax.local_device_count(),
               jax.device_count())
  return jax.process_count() > 1
