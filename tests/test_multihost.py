"""Two local CPU processes through jax.distributed equal one process on the same global batch."""

import json
import os
import subprocess
import sys
import time
from typing import List

import jax
import numpy as np
import pytest

from deepdeblur_jax.data.synthetic_scenes import ensure_synthetic_dataset
from deepdeblur_jax.training.checkpointing import restore_generator
from configs import tiny
from tests.tool_helpers import free_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(workdir: str, data_root: str, steps: int, extra: List[str]) -> List[str]:
  return [sys.executable, '-m', 'deepdeblur_jax.main', '--config=configs/tiny.py',
          f'--workdir={workdir}', f'--config.data.root={data_root}', '--config.batch_size=4',
          f'--config.num_train_steps={steps}', '--config.checkpoint_every_steps=3',
          '--config.eval_every_steps=0', '--config.data.cache=False', *extra]


def _run(commands: List[List[str]], timeout: float) -> List[str]:
  """Runs the commands concurrently; kills all of them if one fails or time runs out."""
  env = dict(os.environ, JAX_PLATFORMS='cpu', XLA_FLAGS='--xla_force_host_platform_device_count=1',
             PYTHONPATH=REPO)
  procs = [subprocess.Popen(c, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
           for c in commands]
  try:
    deadline = time.monotonic() + timeout
    outputs = []
    for p in procs:
      out, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
      outputs.append(out)
      assert p.returncode == 0, out[-3000:]
    return outputs
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()


def _two_processes(workdir: str, data_root: str, steps: int) -> List[str]:
  address = f'127.0.0.1:{free_port()}'
  return _run([_command(workdir, data_root, steps,
                        [f'--coordinator_address={address}', '--num_processes=2',
                         f'--process_id={i}']) for i in range(2)], timeout=300)


def _assert_same_params(workdir_a: str, workdir_b: str, step: int) -> None:
  params_a, _, step_a = restore_generator(workdir_a)
  params_b, _, step_b = restore_generator(workdir_b)
  assert step_a == step_b == step
  for a, b in zip(jax.tree_util.tree_leaves(params_a), jax.tree_util.tree_leaves(params_b)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


@pytest.mark.timeout(600)  # hang guards: 1-2 min on 2 idle cores, more beside other tests
def test_two_processes_equal_one_and_resume(tmp_path):
  data_config = tiny.get_config().data
  data_config.root = str(tmp_path / 'synthetic')
  ensure_synthetic_dataset(data_config)
  single, multi = str(tmp_path / 'single'), str(tmp_path / 'multi')

  _run([_command(single, data_config.root, 6, [])], timeout=300)
  outputs = _two_processes(multi, data_config.root, 3)
  assert 'in 2 process(es)' in outputs[0]
  assert sorted(os.listdir(os.path.join(multi, 'checkpoints'))) == ['3']
  outputs = _two_processes(multi, data_config.root, 6)  # resumes from step 3
  assert 'resumed from checkpoint step 3' in outputs[0]
  _assert_same_params(single, multi, 6)
  with open(os.path.join(single, 'metrics.json')) as f:
    metrics_single = json.load(f)
  with open(os.path.join(multi, 'metrics.json')) as f:
    metrics_multi = json.load(f)
  # Each process evaluated half of the test images; the reduced means equal one process's.
  assert metrics_multi['num_images'] == metrics_single['num_images'] == 2
  assert abs(metrics_multi['psnr'] - metrics_single['psnr']) < 1e-3
  assert abs(metrics_multi['ssim'] - metrics_single['ssim']) < 1e-4
