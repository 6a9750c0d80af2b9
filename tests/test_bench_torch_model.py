"""bench/torch_model.py follows the official architecture: keys, counts, and agreement with Flax."""

import jax.numpy as jnp
import numpy as np
import torch

from bench.torch_model import Discriminator, MSResNet
from deepdeblur_jax.models import Discriminator as FlaxDiscriminator


def test_generator_matches_reference_counts():
  state = MSResNet().state_dict()
  assert len(state) == 244
  assert sum(v.numel() for v in state.values()) == 11_721_321
  assert tuple(state['body_models.2.body.0.weight'].shape) == (64, 3, 5, 5)
  assert tuple(state['body_models.0.body.0.weight'].shape) == (64, 6, 5, 5)
  assert tuple(state['body_models.1.body.20.weight'].shape) == (3, 64, 5, 5)
  assert tuple(state['conv_end_models.2.uppath.0.weight'].shape) == (12, 3, 5, 5)
  assert not any(k.startswith('conv_end_models.0') for k in state)


def test_generator_output_shapes_and_mean_shift():
  model = MSResNet(n_resblocks=1, n_feats=8, kernel_size=3).eval()
  with torch.no_grad():
    for p in model.parameters():
      p.zero_()
    pyramid = [torch.rand(1, 3, 16 >> k, 20 >> k) * 255 for k in range(3)]
    outputs = model(pyramid)
  assert [tuple(o.shape) for o in outputs] == [(1, 3, 16, 20), (1, 3, 8, 10), (1, 3, 4, 5)]
  for out in outputs:  # zero weights: every output is the mean that is added back
    np.testing.assert_allclose(out.numpy(), 127.5)


def test_discriminator_matches_flax():
  torch.manual_seed(0)
  disc = Discriminator().eval()
  state = disc.state_dict()
  assert sum(v.numel() for v in state.values()) == 10_725_216
  assert sorted(state) == sorted([f'conv_layers.{i}.weight' for i in range(10)] + ['dense.weight'])
  params = {f'conv_{i}': {'kernel': jnp.asarray(state[f'conv_layers.{i}.weight'].numpy()
                                                .transpose(2, 3, 1, 0))} for i in range(10)}
  params['dense'] = {'kernel': jnp.asarray(state['dense.weight'].numpy().transpose(2, 3, 1, 0))}
  x = np.random.default_rng(0).random((2, 256, 256, 3)).astype(np.float32)
  with torch.no_grad():
    ref = disc(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
  ours = np.asarray(FlaxDiscriminator().apply({'params': params}, jnp.asarray(x)))
  assert ours.shape == ref.shape == (2, 1, 1, 1)
  np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
