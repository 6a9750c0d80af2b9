"""Training checkpoint (WORKDIR/checkpoints/<step>) -> inference checkpoint folder."""

from typing import Any, Optional

from deepdeblur_jax.inference.checkpoint import CheckpointError, save_inference_checkpoint
from deepdeblur_jax.io import storage


def export_training_checkpoint(workdir: str, output: str, step: Optional[int] = None,
                               dtype: str = 'float32', overwrite: bool = False) -> Any:
  """Writes the generator of training step `step` (default: the latest) to `output`.

  `dtype` is the inference compute dtype; 'bfloat16' also stores the params in bfloat16.
  Raises CheckpointError naming the workdir when it holds no usable checkpoint.
  """
  # Imported here so that the inference-only modules never load the training stack.
  # pylint: disable-next=g-import-not-at-top
  from deepdeblur_jax.training.checkpointing import restore_generator
  try:
    params, config, restored_step = restore_generator(workdir, step)
  except FileNotFoundError as e:
    raise CheckpointError(f'cannot export from {workdir}: {e}') from e
  if 'model' not in config:
    raise CheckpointError(f'the config saved in {workdir} at step {restored_step} has no "model" '
                          'section')
  provenance = {'source': 'deepdeblur-jax training',
                'workdir': storage.resolved(workdir), 'step': restored_step,
                'training_dtype': config.get('dtype'),
                'data': {k: config.get('data', {}).get(k) for k in ('dataset', 'blur_key')}}
  return save_inference_checkpoint(output, params, config['model'], dtype=dtype,
                                   provenance=provenance, overwrite=overwrite)
