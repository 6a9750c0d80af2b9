"""Official DeepDeblur-PyTorch generator weights -> our Flax params.

The official file is `{'G': state_dict, ...}` or a bare state_dict, possibly with a `module.`
prefix (DataParallel). The architecture (scales, blocks, features, kernel) is inferred from the
keys and shapes, then every key and shape is checked against what that architecture needs.
Conv kernels go from PyTorch OIHW to Flax HWIO. The official model works on [0, 255]; converting
to rgb_range 1.0 divides every bias by 255 (a ReLU network with biases is positively homogeneous),
which gives the same outputs divided by 255.

Only `read_state_dict` needs PyTorch (imported lazily); the mapping works on NumPy arrays.
"""

import re
from typing import Any, Dict, Mapping, Tuple

import numpy as np

from deepdeblur_jax.inference.checkpoint import compare_shapes

_BODY = re.compile(r'^body_models\.(\d+)\.body\.(\d+)\.')


class ConversionError(ValueError):
  """The weight file cannot be read or does not hold a DeepDeblur generator."""


def read_state_dict(path: str) -> Dict[str, np.ndarray]:
  """Loads a .pt file (`{'G': sd}` or a bare sd) into float32 NumPy arrays, `module.` stripped."""
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ConversionError('reading a PyTorch .pt file needs PyTorch: pip install torch '
                          '(the CPU build is enough)') from e
  try:
    obj = torch.load(path, map_location='cpu', weights_only=True)
  except FileNotFoundError as e:
    raise ConversionError(f'{path} does not exist') from e
  except Exception as e:  # torch raises many types for a damaged or foreign file.
    raise ConversionError(f'{path} cannot be read as a PyTorch weights file: {e}') from e
  if isinstance(obj, Mapping) and 'G' in obj and isinstance(obj['G'], Mapping):
    obj = obj['G']
  if not isinstance(obj, Mapping):
    raise ConversionError(f'{path} holds a {type(obj).__name__}, expected a state_dict or '
                          "{'G': state_dict}")
  arrays = {}
  for key, value in obj.items():
    if not hasattr(value, 'detach'):
      raise ConversionError(f'{path}: entry {key!r} is a {type(value).__name__}, not a tensor')
    arrays[str(key)] = value.detach().cpu().float().numpy()
  return strip_prefix(arrays)


def strip_prefix(state_dict: Mapping[str, np.ndarray], prefix: str = 'module.'
                 ) -> Dict[str, np.ndarray]:
  """Removes a DataParallel `module.` prefix from every key that has it."""
  return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state_dict.items()}


def infer_model_config(state_dict: Mapping[str, np.ndarray]) -> Dict[str, Any]:
  """n_scales, n_resblocks, n_feats, kernel_size from the keys and shapes of the finest scale."""
  layers: Dict[int, set] = {}
  for key in state_dict:
    match = _BODY.match(key)
    if match:
      layers.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
  head_key = 'body_models.0.body.0.weight'
  if not layers or head_key not in state_dict:
    sample = ', '.join(sorted(state_dict)[:5]) or '(none)'
    raise ConversionError(f'no DeepDeblur generator found: key {head_key!r} is missing '
                          f'(first keys: {sample})')
  head = state_dict[head_key]
  if head.ndim != 4:
    raise ConversionError(f'{head_key} has shape {head.shape}, expected 4-D OIHW')
  n_feats, _, kernel, _ = head.shape
  return {
      'n_scales': max(layers) + 1,
      'n_resblocks': max(layers[0]) - 1,
      'n_feats': int(n_feats),
      'kernel_size': int(kernel),
      'upsample': 'pixel_shuffle',
  }


def expected_torch_shapes(config: Mapping[str, Any]) -> Dict[str, Tuple[int, ...]]:
  """Every official state_dict key and shape for a generator of this config."""
  k, f, n, scales = (config['kernel_size'], config['n_feats'], config['n_resblocks'],
                     config['n_scales'])
  shapes = {}

  def conv(name: str, out_ch: int, in_ch: int) -> None:
    shapes[f'{name}.weight'] = (out_ch, in_ch, k, k)
    shapes[f'{name}.bias'] = (out_ch,)

  for s in range(scales):
    conv(f'body_models.{s}.body.0', f, 3 if s == scales - 1 else 6)
    for i in range(1, n + 1):
      conv(f'body_models.{s}.body.{i}.body.0', f, f)
      conv(f'body_models.{s}.body.{i}.body.2', f, f)
    conv(f'body_models.{s}.body.{n + 1}', 3, f)
  for s in range(1, scales):
    conv(f'conv_end_models.{s}.uppath.0', 12, 3)
  return shapes


def _key_map(config: Mapping[str, Any]) -> Dict[str, Tuple[str, ...]]:
  """Official conv prefix -> Flax module path."""
  n = config['n_resblocks']
  mapping = {}
  for s in range(config['n_scales']):
    mapping[f'body_models.{s}.body.0'] = (f'scale_{s}', 'head')
    for i in range(1, n + 1):
      mapping[f'body_models.{s}.body.{i}.body.0'] = (f'scale_{s}', f'resblock_{i}', 'conv1')
      mapping[f'body_models.{s}.body.{i}.body.2'] = (f'scale_{s}', f'resblock_{i}', 'conv2')
    mapping[f'body_models.{s}.body.{n + 1}'] = (f'scale_{s}', 'tail')
  for s in range(1, config['n_scales']):
    mapping[f'conv_end_models.{s}.uppath.0'] = (f'upsample_{s}', 'conv')
  return mapping


def convert_state_dict(state_dict: Mapping[str, np.ndarray], rgb_range: float = 255.0
                       ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
  """Official generator state_dict -> (Flax params, model config with `rgb_range`).

  Raises ConversionError listing missing, unexpected and mis-shaped keys. Discriminator keys
  (`conv_layers.*`, `dense.*`) are not expected here: pass the 'G' entry only.
  """
  if rgb_range not in (1.0, 255.0):
    raise ConversionError(f'rgb_range must be 255 or 1, got {rgb_range}')
  state_dict = strip_prefix(state_dict)
  config = infer_model_config(state_dict)
  report = compare_shapes(expected_torch_shapes(config),
                          {k: tuple(np.shape(v)) for k, v in state_dict.items()})
  if report:
    raise ConversionError(f'state_dict does not match a DeepDeblur generator with {config}:\n  '
                          f'{report}')
  bias_scale = 255.0 / rgb_range
  params: Dict[str, Any] = {}
  for prefix, path in _key_map(config).items():
    node = params
    for part in path:
      node = node.setdefault(part, {})
    weight = np.asarray(state_dict[f'{prefix}.weight'], np.float32)
    node['kernel'] = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
    node['bias'] = np.asarray(state_dict[f'{prefix}.bias'], np.float32) / np.float32(bias_scale)
  config['rgb_range'] = float(rgb_range)
  return params, config
