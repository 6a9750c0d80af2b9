"""TFDS's own DatasetBuilderTestCase on the `gopro_large` builder.

tfds.testing needs `dill` and `importlib_resources`, which requirements-test.txt
may lack; the module is skipped (with that reason) without them.
"""

import pathlib
import tempfile

import pytest

pytest.importorskip('dill', reason='tfds.testing needs dill')
pytest.importorskip('importlib_resources', reason='tfds.testing needs importlib_resources')

import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top,wrong-import-position

from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder  # pylint: disable=g-import-not-at-top,wrong-import-position
from tests import test_data_tfds  # pylint: disable=g-import-not-at-top,wrong-import-position

_DUMMY = pathlib.Path(tempfile.mkdtemp(prefix='gopro_large_dummy_'))


class GoproLargeTest(tfds.testing.DatasetBuilderTestCase):
  """Runs TFDS's builder checks: registration, info, prepare and read back."""
  DATASET_CLASS = gopro_large_dataset_builder.Builder
  SPLITS = {'train': 3, 'test': 2}
  EXAMPLE_DIR = str(_DUMMY)
  SKIP_CHECKSUMS = True

  @classmethod
  def setUpClass(cls):
    if not (_DUMMY / 'GOPRO_Large').exists():
      test_data_tfds.write_dummy_data(_DUMMY)
    super().setUpClass()

