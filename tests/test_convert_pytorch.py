"""PyTorch -> JAX conversion: keys, shapes, and outputs equal to our PyTorch reference model."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from skimage.transform import pyramid_gaussian

from bench.torch_model import MSResNet
from deepdeblur_jax.inference.checkpoint import load_inference_checkpoint
from deepdeblur_jax.convert.pytorch import (ConversionError, convert_state_dict,
                                            expected_torch_shapes, infer_model_config)
from tests.tool_helpers import run_tool

TINY = dict(n_scales=3, n_resblocks=1, n_feats=8, kernel_size=3)
DEFAULT = dict(n_scales=3, n_resblocks=19, n_feats=64, kernel_size=5)


def _torch_model(arch, seed=0):
  torch.manual_seed(seed)
  model = MSResNet(rgb_range=255.0, **arch).eval()
  with torch.no_grad():  # larger biases than the default init, so a bias error would show
    for name, p in model.named_parameters():
      if name.endswith('bias'):
        p.uniform_(-0.5, 0.5)
  return model


def _pyramid(side, n_scales, seed=0):
  """One skimage pyramid on [0, 255], fed to both models."""
  image = np.random.default_rng(seed).random((side, side, 3)) * 255.0
  return [np.asarray(level, np.float32) for level in
          pyramid_gaussian(image, n_scales - 1, downscale=2, channel_axis=-1, preserve_range=True)]


def _relative_error(ours, ref):
  return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


# The [0,1] path is covered on the tiny model only, to keep the suite fast.
@pytest.mark.parametrize('arch,side,prefix,wrap,rgb_range', [
    (TINY, 36, '', True, 255.0), (TINY, 36, 'module.', False, 255.0), (DEFAULT, 32, '', True, 255.0),
    (TINY, 36, '', True, 1.0), (TINY, 36, 'module.', False, 1.0)])
def test_cli_conversion_reproduces_pytorch(tmp_path, arch, side, prefix, wrap, rgb_range):
  torch_model = _torch_model(arch)
  state = {prefix + k: v for k, v in torch_model.state_dict().items()}
  # An official file from an adversarial run also holds 'D'; only 'G' is read.
  extra = {'D': {'dense.weight': torch.zeros(1, 512, 1, 1)}}
  torch.save(dict(extra, G=state) if wrap else state, tmp_path / 'model.pt')
  out = tmp_path / 'ckpt'
  result = run_tool('convert_pytorch', '--input', tmp_path / 'model.pt', '--output', out,
                    '--rgb-range', str(int(rgb_range)))
  assert result.returncode == 0, result.stderr
  model, params, config = load_inference_checkpoint(str(out))
  assert config == dict(arch, upsample='pixel_shuffle', rgb_range=rgb_range)
  provenance = json.loads((out / 'config.json').read_text())['provenance']
  assert provenance['source'] == 'DeepDeblur-PyTorch'

  pyramid = _pyramid(side, arch['n_scales'])
  with torch.no_grad():
    ref = torch_model([torch.from_numpy(l.transpose(2, 0, 1)[None].copy()) for l in pyramid])
  ref = [r[0].numpy().transpose(1, 2, 0) for r in ref]
  scale = 255.0 / rgb_range
  ours = model.apply({'params': params}, [jnp.asarray(l[None]) / scale for l in pyramid])
  ours = [np.asarray(o[0]) * scale for o in ours]
  assert _relative_error(ours[0], ref[0]) < 1e-4
  for o, r in zip(ours, ref):
    assert o.shape == r.shape


def test_default_key_and_shape_mapping():
  state = {k: v.numpy() for k, v in MSResNet(**DEFAULT).state_dict().items()}
  assert len(state) == 244
  assert expected_torch_shapes(dict(DEFAULT)) == {k: tuple(v.shape) for k, v in state.items()}
  assert infer_model_config(state) == dict(DEFAULT, upsample='pixel_shuffle')
  params, _ = convert_state_dict(state)
  np.testing.assert_array_equal(params['scale_2']['resblock_19']['conv2']['kernel'],
                                state['body_models.2.body.19.body.2.weight'].transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(params['upsample_1']['conv']['bias'],
                                state['conv_end_models.1.uppath.0.bias'])
  assert params['scale_0']['head']['kernel'].shape == (5, 5, 6, 64)
  assert params['scale_2']['head']['kernel'].shape == (5, 5, 3, 64)
  assert params['scale_0']['tail']['kernel'].shape == (5, 5, 64, 3)


def test_mismatch_lists_missing_and_unexpected_keys():
  state = {k: v.numpy() for k, v in MSResNet(**TINY).state_dict().items()}
  del state['conv_end_models.1.uppath.0.bias']
  state['body_models.1.extra.weight'] = np.zeros(3, np.float32)
  state['body_models.1.body.2.weight'] = np.zeros((3, 8, 5, 5), np.float32)
  with pytest.raises(ConversionError) as info:
    convert_state_dict(state)
  message = str(info.value)
  assert 'missing (1): conv_end_models.1.uppath.0.bias' in message
  assert 'unexpected (1): body_models.1.extra.weight' in message
  assert 'body_models.1.body.2.weight expected (3, 8, 3, 3) got (3, 8, 5, 5)' in message


def test_cli_reports_bad_files(tmp_path):
  (tmp_path / 'junk.pt').write_bytes(b'not a torch file')
  result = run_tool('convert_pytorch', '--input', tmp_path / 'junk.pt', '--output', tmp_path / 'o')
  assert result.returncode == 1
  assert 'junk.pt' in result.stderr
  torch.save({'G': {'conv.weight': torch.zeros(2)}}, tmp_path / 'other.pt')
  result = run_tool('convert_pytorch', '--input', tmp_path / 'other.pt', '--output', tmp_path / 'o')
  assert result.returncode == 1
  assert 'body_models.0.body.0.weight' in result.stderr and 'conv.weight' in result.stderr
  assert not (tmp_path / 'o').exists()
