"""TFDS's own DatasetBuilderTestCase on the `gopro_large` builder.

tfds.testing needs `dill` and `importlib_resources` (both in the requirements files).
"""

import pathlib
import tempfile

import tensorflow_datasets as tfds

from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
from tests import test_data_tfds

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

