"""MetricsWriter: TensorBoard events read back, and tensorboardX imported without PyTorch."""

import io
import json
import sys

import numpy as np
from PIL import Image

from _train_utils import run_python, tensorboard_events, tensorboard_texts

_WRITE_THEN_IMPORT_TORCH = '''
import json, sys
import numpy as np
from deepdeblur_jax.training.metrics_writer import MetricsWriter
writer = MetricsWriter(sys.argv[1], process_index=0)
torch_loaded_by_writer = 'torch' in sys.modules
writer.write_scalars(3, {'train/loss': 0.25})
writer.write_images(3, {'eval/pair': np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)})
writer.write_text(3, 'init_from', 'random initialisation (seed 0)')
writer.close()
import torch  # still importable after the writer's import guard
print(json.dumps({'torch_loaded_by_writer': torch_loaded_by_writer,
                  'torch_ok': bool(torch.ones(2).sum() == 2)}))
'''


def test_writes_scalars_images_text_without_importing_torch(tmp_path):
  logdir = tmp_path / 'tb'
  proc = run_python(['-c', _WRITE_THEN_IMPORT_TORCH, str(logdir)],
                    env_extra={'JAX_PLATFORMS': 'cpu'})
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result == {'torch_loaded_by_writer': False, 'torch_ok': True}

  values = {(e.step, v.tag): v for e in tensorboard_events(str(logdir)) for v in e.summary.value}
  assert values[(3, 'train/loss')].simple_value == 0.25
  png = values[(3, 'eval/pair')].image.encoded_image_string
  np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))),
                                np.arange(60, dtype=np.uint8).reshape(4, 5, 3))
  assert tensorboard_texts(str(logdir)) == {'init_from': ['random initialisation (seed 0)']}


def test_torch_imported_before_is_left_alone(tmp_path):
  import torch  # pylint: disable=g-import-not-at-top
  from deepdeblur_jax.training.metrics_writer import MetricsWriter  # pylint: disable=g-import-not-at-top
  writer = MetricsWriter(str(tmp_path), process_index=0)
  writer.write_scalars(1, {'x': 1.0})
  writer.close()
  assert sys.modules['torch'] is torch
  values = [v.simple_value for e in tensorboard_events(str(tmp_path)) for v in e.summary.value]
  assert values == [1.0]
