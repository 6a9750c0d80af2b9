"""The inference checkpoint: one folder with the generator params and what rebuilds the model.

Layout of a checkpoint folder:
  config.json   {"format": "deepdeblur-jax-inference", "format_version": 1,
                 "model": {n_scales, n_resblocks, n_feats, kernel_size, upsample, rgb_range},
                 "dtype": compute dtype, "provenance": {...}}
  params/       generator params (Orbax StandardCheckpointer), stored in `dtype`; loading
                requires Orbax's commit marker params/commit_success.txt

The folder is written under a temporary name next to the target and renamed into place, so a
crash never leaves a half-written checkpoint. In a bucket (gs://...), where a folder cannot be
renamed, params/ is written first and config.json last: an interrupted write leaves no
config.json, and the folder is refused as a checkpoint. Loading checks every config field and every
parameter's name and shape against the model built from the config.
"""

import datetime
import json
import os
import pathlib
import re
import shutil
import tempfile
from typing import Any, Dict, Mapping, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from deepdeblur_jax.io import outage, storage
from deepdeblur_jax.models.factory import DTYPES, create_generator, init_generator
from deepdeblur_jax.models.generator import UPSAMPLE_MODES, MultiScaleGenerator

outage.bound_orbax()  # TensorStore retries an unreachable bucket for a bounded time

FORMAT = 'deepdeblur-jax-inference'
FORMAT_VERSION = 1
CONFIG_FILE = 'config.json'
PARAMS_DIR = 'params'
COMMIT_MARKER = 'commit_success.txt'  # Orbax writes it last, when the params are complete
MODEL_FIELDS = ('n_scales', 'n_resblocks', 'n_feats', 'kernel_size', 'upsample', 'rgb_range')


class CheckpointError(ValueError):
  """An inference checkpoint is missing, malformed or does not match its config."""


def model_config_dict(model_config: Mapping[str, Any]) -> Dict[str, Any]:
  """The six model fields of `model_config` (a dict or ConfigDict) as plain JSON values."""
  missing = [f for f in MODEL_FIELDS if f not in model_config]
  if missing:
    raise CheckpointError(f'model config lacks field(s) {missing}')
  return {
      'n_scales': int(model_config['n_scales']),
      'n_resblocks': int(model_config['n_resblocks']),
      'n_feats': int(model_config['n_feats']),
      'kernel_size': int(model_config['kernel_size']),
      'upsample': str(model_config['upsample']),
      'rgb_range': float(model_config['rgb_range']),
  }


def _validate_config(config: Mapping[str, Any], where: str) -> Tuple[Dict[str, Any], str]:
  """Checks the parsed config.json; returns (model fields, dtype) or raises naming the field."""
  if config.get('format') != FORMAT:
    raise CheckpointError(f'{where}: field "format" must be {FORMAT!r}, '
                          f'got {config.get("format")!r}')
  if config.get('format_version') != FORMAT_VERSION:
    raise CheckpointError(f'{where}: unsupported format_version {config.get("format_version")!r} '
                          f'(this code reads {FORMAT_VERSION})')
  model = config.get('model')
  if not isinstance(model, dict):
    raise CheckpointError(f'{where}: field "model" is missing or not an object')
  checks = {
      'n_scales': (lambda v: isinstance(v, int) and v >= 1, 'an integer >= 1'),
      'n_resblocks': (lambda v: isinstance(v, int) and v >= 0, 'an integer >= 0'),
      'n_feats': (lambda v: isinstance(v, int) and v >= 1, 'an integer >= 1'),
      'kernel_size': (lambda v: isinstance(v, int) and v >= 1 and v % 2 == 1, 'an odd integer'),
      'upsample': (lambda v: v in UPSAMPLE_MODES, f'one of {UPSAMPLE_MODES}'),
      'rgb_range': (lambda v: v in (1.0, 255.0), '1.0 or 255.0'),
  }
  for field, (ok, expected) in checks.items():
    if field not in model:
      raise CheckpointError(f'{where}: field "model.{field}" is missing')
    if isinstance(model[field], bool) or not ok(model[field]):
      raise CheckpointError(f'{where}: field "model.{field}" must be {expected}, '
                            f'got {model[field]!r}')
  dtype = config.get('dtype')
  if dtype not in DTYPES:
    raise CheckpointError(f'{where}: field "dtype" must be one of {sorted(DTYPES)}, got {dtype!r}')
  return model_config_dict(model), dtype


def _flat_shapes(tree: Any) -> Dict[str, Tuple[int, ...]]:
  """{'scale_0/head/kernel': shape, ...} for a nested dict of arrays or array metadata."""
  flat = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    name = '/'.join(str(getattr(k, 'key', getattr(k, 'name', k))) for k in path)
    flat[name] = tuple(leaf.shape)
  return flat


def expected_param_shapes(model: MultiScaleGenerator) -> Dict[str, Tuple[int, ...]]:
  """Flat name -> shape of the params `model` expects (computed abstractly, no weights made)."""
  abstract = jax.eval_shape(lambda: init_generator(model, jax.random.key(0)))
  return _flat_shapes(abstract)


def compare_shapes(expected: Mapping[str, Tuple[int, ...]], found: Mapping[str, Tuple[int, ...]]
                   ) -> Optional[str]:
  """A readable report of missing, unexpected and mis-shaped entries, or None when they agree."""
  missing = sorted(set(expected) - set(found))
  unexpected = sorted(set(found) - set(expected))
  wrong = sorted(k for k in set(expected) & set(found) if tuple(expected[k]) != tuple(found[k]))
  if not (missing or unexpected or wrong):
    return None
  lines = []
  if missing:
    lines.append(f'missing ({len(missing)}): ' + ', '.join(missing))
  if unexpected:
    lines.append(f'unexpected ({len(unexpected)}): ' + ', '.join(unexpected))
  if wrong:
    lines.append(f'shape mismatch ({len(wrong)}): ' + ', '.join(
        f'{k} expected {tuple(expected[k])} got {tuple(found[k])}' for k in wrong))
  return '\n  '.join(lines)


def save_inference_checkpoint(path: str, params: Any, model_config: Mapping[str, Any],
                              dtype: str = 'float32',
                              provenance: Optional[Mapping[str, Any]] = None,
                              overwrite: bool = False) -> Any:
  """Writes generator `params` and config.json to the folder `path`, atomically.

  `dtype` is the compute dtype recorded in config.json; params are stored in it ('bfloat16'
  halves the file). Params are checked against the model built from `model_config` first.
  Returns the absolute path of the checkpoint (pathlib.Path, or etils.epath.Path in a bucket).
  """
  target = _folder(path)
  if dtype not in DTYPES:
    raise CheckpointError(f'dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
  model_fields = model_config_dict(model_config)
  config = {'format': FORMAT, 'format_version': FORMAT_VERSION, 'model': model_fields,
            'dtype': dtype,
            'provenance': dict(provenance or {},
                               created=datetime.datetime.now(datetime.timezone.utc).isoformat())}
  _validate_config(config, str(target / CONFIG_FILE))
  report = compare_shapes(expected_param_shapes(create_generator(model_fields)),
                          _flat_shapes(params))
  if report:
    raise CheckpointError(f'params do not match the model config {model_fields}:\n  {report}')
  if target.exists() and not overwrite:
    raise CheckpointError(f'{target} already exists '
                          '(pass overwrite=True / --overwrite to replace it)')
  if storage.is_url(path):
    _save_in_bucket(target, params, dtype, config)
    return target
  target.parent.mkdir(parents=True, exist_ok=True)
  tmp = pathlib.Path(tempfile.mkdtemp(prefix=f'.{target.name}.tmp-', dir=target.parent))
  try:
    os.chmod(tmp, 0o755)  # mkdtemp makes an owner-only folder
    store = jax.tree_util.tree_map(lambda x: jnp.asarray(x, DTYPES[dtype]), params)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp / PARAMS_DIR, store)
    checkpointer.wait_until_finished()
    checkpointer.close()
    with open(tmp / CONFIG_FILE, 'w') as f:
      json.dump(config, f, indent=2, sort_keys=True)
      f.write('\n')
    if target.exists():
      old = tmp.with_name(tmp.name + '-old')
      os.replace(target, old)
      os.replace(tmp, target)
      shutil.rmtree(old, ignore_errors=True)
    else:
      os.replace(tmp, target)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return target


def _folder(path: str) -> Any:
  """The checkpoint folder as an absolute pathlib.Path, or an etils.epath.Path for a URL."""
  if storage.is_url(path):
    return storage.path(path)
  return pathlib.Path(path).expanduser().absolute()


def _save_in_bucket(target: Any, params: Any, dtype: str, config: Mapping[str, Any]) -> None:
  """Writes params/ then config.json into the bucket folder `target`, replacing what is there."""
  if target.exists():
    target.rmtree()
  store = jax.tree_util.tree_map(lambda x: jnp.asarray(x, DTYPES[dtype]), params)
  checkpointer = ocp.StandardCheckpointer()
  checkpointer.save(target / PARAMS_DIR, store)
  checkpointer.wait_until_finished()
  checkpointer.close()
  (target / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + '\n')


def read_checkpoint_config(path: str) -> Dict[str, Any]:
  """The validated config.json of the checkpoint folder `path` (raises CheckpointError)."""
  folder = storage.path(path)
  if not folder.is_dir():
    raise CheckpointError(f'checkpoint folder {folder} does not exist (make one with '
                          'tools/export.py or tools/convert_pytorch.py)')
  config_path = folder / CONFIG_FILE
  if not config_path.is_file():
    raise CheckpointError(f'{config_path} is missing: {folder} is not an inference checkpoint')
  try:
    config = json.loads(config_path.read_text())
  except (OSError, json.JSONDecodeError) as e:
    raise CheckpointError(f'{config_path} is not valid JSON: {e}') from e
  if not isinstance(config, dict):
    raise CheckpointError(f'{config_path} must hold a JSON object')
  _validate_config(config, str(config_path))
  return config


def _orbax_error(error: BaseException) -> str:
  """One line for an Orbax/TensorStore read error: the array it failed on, not its whole spec."""
  text = str(error)
  array = re.search(r"'path': '([^']+?)/?',\s*\},\s*'metadata'", text)
  first = text.split('. See full TensorStore details')[0].splitlines()[0] if text else ''
  if array:
    return f'array {array.group(1)} cannot be read ({first})'
  return f'{type(error).__name__}: {first}'


def load_inference_checkpoint(path: str, dtype: Optional[str] = None
                              ) -> Tuple[MultiScaleGenerator, Any, Dict[str, Any]]:
  """Loads a checkpoint folder -> (model, float32 params, model config dict).

  The model computes in the checkpoint's dtype unless `dtype` overrides it. Raises
  CheckpointError naming the file, field or parameter at fault.
  """
  folder = _folder(path)
  config = read_checkpoint_config(str(folder))
  model_fields, stored_dtype = _validate_config(config, str(folder / CONFIG_FILE))
  model = create_generator(model_fields, dtype or stored_dtype)
  params_dir = folder / PARAMS_DIR
  if not params_dir.is_dir():
    raise CheckpointError(f'{params_dir} is missing: the checkpoint has no parameters')
  if not (params_dir / COMMIT_MARKER).is_file():
    raise CheckpointError(f'{params_dir / COMMIT_MARKER} is missing: Orbax never finished '
                          'writing these parameters (an interrupted save or an incomplete '
                          'copy); export or convert the checkpoint again')
  checkpointer = ocp.StandardCheckpointer()
  try:
    item = checkpointer.metadata(params_dir).item_metadata
    metadata = item.tree if item is not None else None
  except Exception as e:  # Orbax raises several types for a damaged folder.
    raise CheckpointError(f'{params_dir} cannot be read as an Orbax checkpoint: '
                          f'{_orbax_error(e)}') from e
  if metadata is None:
    raise CheckpointError(f'{params_dir}/_METADATA cannot be read: the parameter index is '
                          'damaged')
  report = compare_shapes(expected_param_shapes(model), _flat_shapes(metadata))
  if report:
    raise CheckpointError(f'{params_dir} does not match the model in {folder / CONFIG_FILE} '
                          f'{model_fields}:\n  {report}')
  try:
    params = checkpointer.restore(params_dir)
  except Exception as e:
    raise CheckpointError(f'{params_dir} cannot be restored, the files are damaged: '
                          f'{_orbax_error(e)}') from e
  finally:
    checkpointer.close()
  params = jax.tree_util.tree_map(lambda x: jnp.asarray(np.asarray(x, np.float32)), params)
  return model, params, model_fields
