"""The user tools and their library modules load and run without TensorFlow."""

import subprocess
import sys

from tests.tool_helpers import REPO

CODE = r'''
import importlib.util, sys
sys.modules['tensorflow'] = None  # any import of TensorFlow now fails
import deepdeblur_jax.evaluation.evaluate_folder
import deepdeblur_jax.inference.checkpoint, deepdeblur_jax.convert.pytorch, deepdeblur_jax.io.photos
import deepdeblur_jax.inference.tiling, deepdeblur_jax.inference.files, deepdeblur_jax.training.export
for name in ('deblur', 'evaluate', 'export', 'convert_pytorch'):
  spec = importlib.util.spec_from_file_location(name, f'tools/{name}.py')
  spec.loader.exec_module(importlib.util.module_from_spec(spec))
print('ok')
'''


def test_tools_import_without_tensorflow():
  result = subprocess.run([sys.executable, '-c', CODE], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == 'ok'
