"""Inference checkpoints, init_from, tools and data roots in a bucket (local GCS server)."""

import json

import jax
import numpy as np

from _train_utils import tiny_config
from deepdeblur_jax.data import grain_pipeline, input_pipeline
from deepdeblur_jax.data.synthetic_scenes import ensure_synthetic_dataset
from deepdeblur_jax.evaluation.evaluate_folder import evaluate_pairs, list_eval_pairs
from deepdeblur_jax.inference.checkpoint import load_inference_checkpoint
from deepdeblur_jax.io import photos, storage
from deepdeblur_jax.training import checkpointing, train
from tests.tool_helpers import make_tiny_checkpoint, run_tool


def _leaves(params):
  return {jax.tree_util.keystr(path): np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_leaves_with_path(params)}


def _upload(local_folder, url):
  storage.filesystem().put(str(local_folder), url[len('gs://'):], recursive=True)


def test_init_from_export_evaluate_and_deblur_with_bucket_paths(tmp_path, gcs_prefix):
  # An inference checkpoint written into the bucket starts a run there (learning rate 0).
  _, params = make_tiny_checkpoint(f'{gcs_prefix}/init', seed=3)
  assert storage.exists(f'{gcs_prefix}/init/config.json')
  config = tiny_config(learning_rate=0.0, num_train_steps=1, eval_every_steps=0,
                       checkpoint_every_steps=1, init_from=f'{gcs_prefix}/init')
  train.train_and_evaluate(config, f'{gcs_prefix}/run')
  manager = checkpointing.create_checkpoint_manager(f'{gcs_prefix}/run')
  assert checkpointing.restore_metadata(manager, 1)['init_from'] == f'{gcs_prefix}/init'
  manager.close()

  # tools/export.py: bucket workdir -> bucket output, the params bit for bit.
  result = run_tool('export', '--workdir', f'{gcs_prefix}/run', '--output', f'{gcs_prefix}/out')
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip() == f'wrote {gcs_prefix}/out'
  _, exported, _ = load_inference_checkpoint(f'{gcs_prefix}/out')
  want, got = _leaves(params), _leaves(exported)
  assert want.keys() == got.keys()
  for name in want:
    assert want[name].tobytes() == got[name].tobytes(), name
  provenance = json.loads(storage.read_bytes(f'{gcs_prefix}/out/config.json'))['provenance']
  assert provenance['workdir'] == f'{gcs_prefix}/run' and provenance['step'] == 1

  # tools/evaluate.py: data, checkpoint, results and images all in the bucket; the numbers are
  # those of the same checkpoint on the local copy of the data.
  local_data = ensure_synthetic_dataset(tiny_config().data)
  _upload(local_data, f'{gcs_prefix}/data')
  result = run_tool('evaluate', '--data', f'{gcs_prefix}/data', '--checkpoint', f'{gcs_prefix}/out',
                    '--output', f'{gcs_prefix}/results.json', '--save-images',
                    f'{gcs_prefix}/images')
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads(storage.read_bytes(f'{gcs_prefix}/results.json'))
  model, local_params, _ = load_inference_checkpoint(f'{gcs_prefix}/out')
  fmt, pairs = list_eval_pairs(str(local_data), 'test')
  local = evaluate_pairs(pairs, local_params, model, str(tmp_path / 'images'), log=lambda s: None)
  assert fmt == results['settings']['format'] == 'gopro_large'
  assert results['settings']['data'] == f'{gcs_prefix}/data'
  assert results['num_images'] == local['num_images'] == 2
  assert [r['path'] for r in results['per_image']] == [r['path'] for r in local['per_image']]
  np.testing.assert_allclose(results['psnr'], local['psnr'], rtol=1e-6)
  for r in local['per_image']:
    name = r['path'][:-len('.png')] + '.png'
    saved = photos.read_rgb_uint8(f'{gcs_prefix}/images/{name}')
    np.testing.assert_array_equal(saved, photos.read_rgb_uint8(tmp_path / 'images' / name))

  # tools/deblur.py with the bucket checkpoint on a local photo.
  photo = pairs[0].blur
  result = run_tool('deblur', '--checkpoint', f'{gcs_prefix}/out', '--input', photo, '--output',
                    tmp_path / 'deblurred')
  assert result.returncode == 0, result.stderr[-3000:]
  local_outputs = list((tmp_path / 'deblurred').iterdir())
  assert len(local_outputs) == 1

  # tools/deblur.py from a bucket folder into a bucket folder inside it (skipped as an input):
  # the layout is kept and the PNGs are those of the local run, byte for byte.
  with open(photo, 'rb') as f:
    data = f.read()
  storage.write_bytes(f'{gcs_prefix}/photos/a.png', data)
  storage.write_bytes(f'{gcs_prefix}/photos/sub/b.png', data)
  out = f'{gcs_prefix}/photos/deblurred'
  result = run_tool('deblur', '--checkpoint', f'{gcs_prefix}/out', '--input',
                    f'{gcs_prefix}/photos', '--output', out)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'wrote 2 file(s) to {out}' in result.stderr
  written = sorted(str(p) for p in storage.files_under(out))
  assert written == [f'{out}/a.png', f'{out}/sub/b.png'], written  # no write-check left behind
  for name in ('a.png', 'sub/b.png'):
    assert storage.read_bytes(f'{out}/{name}') == local_outputs[0].read_bytes(), name


def _batches(module, config, count, **kwargs):
  iterator = module.create_train_iterator(config, **kwargs)
  try:
    return [next(iterator) for _ in range(count)]
  finally:
    close = getattr(iterator, 'close', None)
    if close is not None:
      close()


def test_data_root_in_a_bucket_gives_the_local_batches(gcs_prefix):
  local_root = ensure_synthetic_dataset(tiny_config().data)
  _upload(local_root, f'{gcs_prefix}/gopro')
  configs = []
  for root in (str(local_root), f'{gcs_prefix}/gopro'):
    config = tiny_config()
    config.data.dataset = 'gopro_large'
    config.data.root = root
    configs.append(config)
  for module in (input_pipeline, grain_pipeline):
    local, remote = (_batches(module, c, 2, start_step=1) for c in configs)
    for a, b in zip(local, remote):
      assert a.keys() == b.keys()
      for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))
  local, remote = (list(input_pipeline.create_eval_iterator(c)) for c in configs)
  assert len(local) == len(remote) == 2
  for a, b in zip(local, remote):
    np.testing.assert_array_equal(np.asarray(a['sharp']), np.asarray(b['sharp']))
