"""Inference checkpoint: round trip, dtype, and errors that name the file, field or parameter."""

import json
import os
import re

import jax
import numpy as np
import pytest

from configs import tiny
from deepdeblur_jax.inference.checkpoint import (CheckpointError, load_inference_checkpoint,
                                              save_inference_checkpoint)
from deepdeblur_jax.models import create_generator
from tests.tool_helpers import make_tiny_checkpoint, random_params


def test_round_trip_exact(tmp_path):
  model, params = make_tiny_checkpoint(tmp_path / 'ck', rgb_range=255.0)
  loaded_model, loaded, config = load_inference_checkpoint(str(tmp_path / 'ck'))
  assert config['rgb_range'] == 255.0 and loaded_model.n_feats == 8
  jax.tree_util.tree_map(np.testing.assert_array_equal, params, loaded)
  assert sorted(os.listdir(tmp_path)) == ['ck']  # no temporary folder left behind


def test_bfloat16_storage(tmp_path):
  config = tiny.get_config().model
  params = random_params(create_generator(config))
  save_inference_checkpoint(str(tmp_path / 'ck'), params, config, dtype='bfloat16')
  model, loaded, _ = load_inference_checkpoint(str(tmp_path / 'ck'))
  assert model.dtype == jax.numpy.bfloat16
  leaf = loaded['scale_0']['head']['kernel']
  assert leaf.dtype == np.float32
  np.testing.assert_allclose(leaf, params['scale_0']['head']['kernel'], rtol=1e-2, atol=1e-3)


def test_refuses_to_overwrite(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ck')
  with pytest.raises(CheckpointError, match='already exists'):
    make_tiny_checkpoint(tmp_path / 'ck')


def test_missing_folder_and_config(tmp_path):
  with pytest.raises(CheckpointError, match='nowhere.*does not exist'):
    load_inference_checkpoint(str(tmp_path / 'nowhere'))
  (tmp_path / 'empty').mkdir()
  with pytest.raises(CheckpointError, match='config.json is missing'):
    load_inference_checkpoint(str(tmp_path / 'empty'))


def test_bad_config_field_is_named(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ck')
  path = tmp_path / 'ck' / 'config.json'
  config = json.loads(path.read_text())
  config['model']['kernel_size'] = 4
  path.write_text(json.dumps(config))
  with pytest.raises(CheckpointError, match='model.kernel_size'):
    load_inference_checkpoint(str(tmp_path / 'ck'))
  del config['model']['n_feats']
  path.write_text(json.dumps(config))
  with pytest.raises(CheckpointError, match='model.n_feats.*missing'):
    load_inference_checkpoint(str(tmp_path / 'ck'))


def test_param_mismatch_is_reported_by_name(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ck')
  path = tmp_path / 'ck' / 'config.json'
  config = json.loads(path.read_text())
  config['model']['n_resblocks'] = 2
  config['model']['n_feats'] = 4
  path.write_text(json.dumps(config))
  with pytest.raises(CheckpointError) as info:
    load_inference_checkpoint(str(tmp_path / 'ck'))
  message = str(info.value)
  assert 'missing (12)' in message and 'scale_0/resblock_2/conv1/kernel' in message
  assert 'scale_0/head/kernel expected (3, 3, 6, 4) got (3, 3, 6, 8)' in message


def test_params_without_commit_marker_are_refused(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ck')
  load_inference_checkpoint(str(tmp_path / 'ck'))  # complete: loads
  os.remove(tmp_path / 'ck' / 'params' / 'commit_success.txt')
  with pytest.raises(CheckpointError, match=r'params/commit_success.txt is missing: Orbax never '
                     'finished writing'):
    load_inference_checkpoint(str(tmp_path / 'ck'))


def test_damaged_array_is_named_in_one_line(tmp_path):
  make_tiny_checkpoint(tmp_path / 'ck')
  for chunk in (tmp_path / 'ck' / 'params').rglob('ocdbt.process_0/d/*'):
    chunk.write_bytes(b'')
  with pytest.raises(CheckpointError) as e:
    load_inference_checkpoint(str(tmp_path / 'ck'))
  message = str(e.value)
  # One line naming the folder, never TensorStore's JSON spec. Which read fails first (and so
  # whether TensorStore's text names the array) depends on the order of Orbax's async reads.
  assert str(tmp_path / 'ck' / 'params') in message and 'cannot be' in message, message
  assert '\n' not in message and "'driver'" not in message and len(message) < 800, message
  named = re.search(r'array \w+(\.\w+)*\.(kernel|bias) cannot be read', message)
  assert named or re.search(r': \w+(Error|Exception)\b', message), message
