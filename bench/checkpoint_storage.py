"""Save and restore time of the default model's training checkpoint: local GCS server vs local disk.

  python bench/checkpoint_storage.py --repeats 3 --out /tmp/ckpt_bench

Builds the training state of configs/default.py (generator and discriminator with their Adam
states, random values, untimed) and times, per repeat and back to back, the project's own
checkpoint calls (deepdeblur_jax.training.checkpointing: save_checkpoint, then
restore_checkpoint of that step into a fresh manager) on
  disk  a workdir in OUT on the local disk
  gcs   gs://bench/... on a local GCS server (tests/gcs_server.py: gcp-storage-emulator, one
        single-threaded Python HTTP server on 127.0.0.1, started here on a free port)
and prints the median seconds and MB/s of each with the 1-minute load average (the CPU may be
shared). A local emulator measures the client side (Orbax/TensorStore over HTTP) and this
emulator's own speed, not a real bucket's. Appends one JSON line per run to OUT/results.jsonl.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

REPO = pathlib.Path(__file__).resolve().parents[1]
BUCKET = 'bench'


def _start_server(data_dir: pathlib.Path, log: pathlib.Path) -> Any:
  """tests/gcs_server.py on a free port; returns (process, url)."""
  data_dir.mkdir(parents=True, exist_ok=True)
  with open(log, 'ab') as err:
    proc = subprocess.Popen([sys.executable, str(REPO / 'tests' / 'gcs_server.py'), '--data-dir',
                             str(data_dir), '--bucket', BUCKET], stdout=subprocess.PIPE,
                            stderr=err, text=True)
  line = proc.stdout.readline()
  if not line.startswith('port '):
    proc.kill()
    raise RuntimeError(f'the GCS server did not start, see {log}')
  return proc, f'http://127.0.0.1:{int(line.split()[1])}'


def _random_state(config: Any) -> Any:
  """The default model's DeblurTrainState with random float32 values (NumPy, no compile)."""
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.sharding import make_mesh, replicated_sharding  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.train_state import abstract_train_state  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  sharding = replicated_sharding(make_mesh())

  def fill(x: Any) -> Any:
    if not hasattr(x, 'shape'):
      return x
    value = (rng.standard_normal(x.shape) if np.issubdtype(x.dtype, np.floating)
             else np.zeros(x.shape))
    return jax.device_put(value.astype(x.dtype), sharding)

  return jax.tree.map(fill, abstract_train_state(config))


def _nbytes(state: Any) -> int:
  import jax  # pylint: disable=g-import-not-at-top
  return sum(int(x.nbytes) for x in jax.tree.leaves(state) if hasattr(x, 'nbytes'))


def _time_once(state: Any, config: Any, workdir: str, step: int) -> Dict[str, float]:
  """Seconds of one save (new manager) and one restore (another new manager) at `workdir`."""
  import jax  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training import checkpointing  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.sharding import make_mesh  # pylint: disable=g-import-not-at-top
  manager = checkpointing.create_checkpoint_manager(workdir)
  start = time.perf_counter()
  checkpointing.save_checkpoint(manager, state, step, config)
  save = time.perf_counter() - start
  manager.close()
  manager = checkpointing.create_checkpoint_manager(workdir)
  start = time.perf_counter()
  restored, _ = checkpointing.restore_checkpoint(manager, config, make_mesh(), step)
  jax.block_until_ready(restored)
  restore = time.perf_counter() - start
  manager.close()
  for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(restored)):
    assert (jax.device_get(a) == jax.device_get(b)).all(), 'restored values differ'
  return {'save_s': save, 'restore_s': restore}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--out', default='/tmp/ckpt_bench', help='scratch folder and results.jsonl')
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  shutil.rmtree(out / 'disk', ignore_errors=True)
  shutil.rmtree(out / 'gcs_data', ignore_errors=True)
  out.mkdir(parents=True, exist_ok=True)
  server, url = _start_server(out / 'gcs_data', out / 'gcs_server.log')
  os.environ['STORAGE_EMULATOR_HOST'] = url  # before the project's storage module is imported
  try:
    sys.path.insert(0, str(REPO))
    from configs import default  # pylint: disable=g-import-not-at-top
    config = default.get_config()
    state = _random_state(config)
    size_mb = _nbytes(state) / 1e6
    print(f'default model training state: {size_mb:.1f} MB (generator + discriminator, with Adam)')
    runs: Dict[str, List[Dict[str, float]]] = {'disk': [], 'gcs': []}
    for repeat in range(args.repeats):
      for where in ('disk', 'gcs'):
        workdir = (str(out / 'disk' / f'r{repeat}') if where == 'disk'
                   else f'gs://{BUCKET}/r{repeat}')
        load = os.getloadavg()[0]
        result = dict(_time_once(state, config, workdir, 1), where=where, repeat=repeat,
                      load_1min=load, size_mb=size_mb)
        runs[where].append(result)
        with open(out / 'results.jsonl', 'a') as f:
          f.write(json.dumps(result) + '\n')
        print(f'{where:5s} repeat {repeat}: save {result["save_s"]:.2f} s, restore '
              f'{result["restore_s"]:.2f} s (load {load:.2f})', flush=True)
    print(f'\nmedians over {args.repeats} repeats, {size_mb:.1f} MB:')
    for where, results in runs.items():
      save = statistics.median(r['save_s'] for r in results)
      restore = statistics.median(r['restore_s'] for r in results)
      print(f'  {where:5s} save {save:.2f} s ({size_mb / save:.0f} MB/s), restore {restore:.2f} s '
            f'({size_mb / restore:.0f} MB/s)')
  finally:
    server.kill()
    server.wait()


if __name__ == '__main__':
  main()
