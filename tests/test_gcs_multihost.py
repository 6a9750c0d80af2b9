"""Two processes through jax.distributed training into one bucket workdir, stopped and resumed,
equal one process."""

import json

import pytest
from etils.epath import backend as epath_backend

from _gcs_utils import bucket_names
from configs import tiny
from deepdeblur_jax.data.synthetic_scenes import ensure_synthetic_dataset
from deepdeblur_jax.io import storage
from deepdeblur_jax.training import train
from test_multihost import _assert_same_params, _two_processes


@pytest.mark.timeout(600)  # hang guard: tiny runs, 1-2 min on 2 idle cores
def test_two_processes_with_a_bucket_workdir_resume_and_equal_one_local_process(tmp_path,
                                                                              gcs_prefix):
  data_config = tiny.get_config().data
  data_config.root = str(tmp_path / 'synthetic')
  ensure_synthetic_dataset(data_config)
  single, multi = str(tmp_path / 'single'), f'{gcs_prefix}/multi'

  config = tiny.get_config()  # the one-process run of the same command, in this process
  config.data.root, config.data.cache, config.batch_size = data_config.root, False, 4
  config.num_train_steps, config.checkpoint_every_steps, config.eval_every_steps = 4, 3, 0
  train.train_and_evaluate(config, single)
  outputs = _two_processes(multi, data_config.root, 3)
  assert 'in 2 process(es)' in outputs[0]
  assert bucket_names(f'{multi}/checkpoints') == ['3']
  outputs = _two_processes(multi, data_config.root, 4)  # the same command, further: resumes
  assert f'resumed from checkpoint step 3 in {multi}' in outputs[0]
  # This process listed the bucket before that run: forget the listing (epath keeps its own
  # gcsfs instance, apart from storage.filesystem()'s).
  epath_backend.fsspec_backend.fs(multi).invalidate_cache()
  assert bucket_names(f'{multi}/checkpoints') == ['3', '4']
  names = bucket_names(multi)
  assert names == ['checkpoints', 'metrics.json', 'tensorboard'], names  # the lock released
  _assert_same_params(single, multi, 4)
  metrics = json.loads(storage.read_bytes(f'{multi}/metrics.json'))
  with open(f'{single}/metrics.json') as f:
    assert abs(metrics['psnr'] - json.load(f)['psnr']) < 1e-3
