"""Executes the Colab notebook end to end on CPU with a tiny config (parameters overridden)."""

import contextlib
import json
import os
import pathlib
import re
import signal

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from deepdeblur_jax.io import storage
from tests.tool_helpers import free_port

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / 'notebooks' / 'deepdeblur_colab_tpu.ipynb'


def _with_overrides(nb: nbformat.NotebookNode, overrides: str) -> nbformat.NotebookNode:
  """Inserts `overrides` right after the cell tagged 'parameters', as papermill does."""
  index = next(i for i, cell in enumerate(nb.cells)
               if 'parameters' in cell.get('metadata', {}).get('tags', []))
  nb.cells.insert(index + 1, nbformat.v4.new_code_cell(overrides))
  return nb


def test_colab_badge_points_at_this_notebook():
  readme = (REPO / 'README.md').read_text()
  nb = nbformat.read(NOTEBOOK, as_version=4)
  badge = 'blob/main/notebooks/deepdeblur_colab_tpu.ipynb'
  assert badge in readme
  assert badge in nb.cells[0].source


@pytest.mark.timeout(900)
@pytest.mark.parametrize('where', ['local', 'bucket'])
def test_notebook_runs_on_cpu(tmp_path, where, request):
  """The whole notebook, with WORKDIR a local folder or a gs:// folder on the local GCS server
  (the kernel inherits STORAGE_EMULATOR_HOST)."""
  nb = nbformat.read(NOTEBOOK, as_version=4)
  workdir = tmp_path / 'run' if where == 'local' else request.getfixturevalue('gcs_prefix')
  port = free_port()
  nb = _with_overrides(nb, '\n'.join([
      'INSTALL = False',
      "CONFIG = 'tiny'",
      'NUM_TRAIN_STEPS = 3',
      f"WORKDIR = {str(workdir)!r}",
      f"DATA_ROOT = {str(tmp_path / 'synthetic')!r}",
      'SHOW_TENSORBOARD = False',
      'UPLOAD_PHOTO = False',
      f'WEB_PAGE_PORT = {port}',
  ]))
  # After the plan (it reads the compiler's memory analysis, so it compiles afresh), the kernel
  # keeps compiled programs in the test session's persistent cache ($DEEPDEBLUR_CACHE, set by
  # conftest), where the tiny train and eval steps of the other tests already are.
  plan_cell = next(i for i, cell in enumerate(nb.cells) if 'plan(config, runtime)' in cell.source)
  nb.cells.insert(plan_cell + 1, nbformat.v4.new_code_cell(
      'from deepdeblur_jax import compilation_cache\ncompilation_cache.enable()'))
  client = NotebookClient(nb, timeout=600, kernel_name='python3',
                          resources={'metadata': {'path': str(REPO)}})
  client.execute()
  outputs = '\n'.join(
      out.get('text', '') + json.dumps(out.get('data', {}).get('text/plain', ''))
      for cell in nb.cells if cell.cell_type == 'code' for out in cell.get('outputs', []))
  page = re.search(rf'web page at http://127.0.0.1:{port}/ \(process (\d+)\)', outputs)
  if page:  # the page the last cell started on the exported model answered; stop it
    with contextlib.suppress(ProcessLookupError):
      os.kill(int(page.group(1)), signal.SIGTERM)
  assert page, outputs[-2000:]
  assert 'plan: fits True: 1 ' in outputs
  assert 'restored the generator of step 3' in outputs
  assert 'blurry input: PSNR' in outputs and 'deblurred   : PSNR' in outputs
  images = [out for cell in nb.cells if cell.cell_type == 'code'
            for out in cell.get('outputs', []) if 'image/png' in out.get('data', {})]
  assert len(images) == 3  # the tiny config's two test triptychs and the photo
  assert storage.exists(storage.join(workdir, 'metrics.json'))
  assert storage.exists(storage.join(workdir, 'export', 'config.json'))
  assert f'exported to {storage.join(workdir, "export")}' in outputs


@pytest.mark.timeout(600)
def test_notebook_stops_before_training_when_the_batch_does_not_fit(tmp_path):
  nb = nbformat.read(NOTEBOOK, as_version=4)
  workdir = tmp_path / 'run'
  nb = _with_overrides(nb, '\n'.join([
      'INSTALL = False',
      "CONFIG = 'tiny'",
      'BATCH_SIZE = 2 ** 18  # 2**18 patches of 32x32: terabytes of activations',
      f"WORKDIR = {str(workdir)!r}",
      f"DATA_ROOT = {str(tmp_path / 'synthetic')!r}",
      'SHOW_TENSORBOARD = False',
  ]))
  client = NotebookClient(nb, timeout=300, kernel_name='python3',
                          resources={'metadata': {'path': str(REPO)}})
  with pytest.raises(CellExecutionError) as info:
    client.execute()
  message = str(info.value)
  assert 'BatchDoesNotFit' in message
  assert 'config.batch_size=262144 does not fit this runtime' in message
  assert 'Set a smaller BATCH_SIZE' in message
  assert not workdir.exists()  # stopped before training
