"""TFDS builder for GOPRO_Large (Nah, Kim, Lee, CVPR 2017) from a local copy.

  import tensorflow_datasets as tfds
  from deepdeblur_jax.data.tfds_gopro_large import gopro_large_dataset_builder
  builder = gopro_large_dataset_builder.Builder(data_dir=...)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir='/path/to/GOPRO_Large'))

Uses `epath` only (no `os`/`open`), as TFDS builders must. `data_dir` and `manual_dir` may be
`gs://` URLs: importing this module applies the project's storage settings
(deepdeblur_jax.io.storage: epath through gcsfs, STORAGE_EMULATOR_HOST), and TFDS writes and
reads its record files through TensorFlow's own GCS client (docs/cloud-storage.md).
"""

from etils import epath
import tensorflow_datasets as tfds

from deepdeblur_jax.io import storage as _storage  # noqa: F401  (the gs:// settings, at import)

_KEYS = ('blur', 'blur_gamma', 'sharp')


class Builder(tfds.core.GeneratorBasedBuilder):
  """GOPRO_Large pairs: `{train,test}/<seq>/{blur,blur_gamma,sharp}/NNNNNN.png`."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Initial release.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Download GOPRO_Large.zip from https://seungjunnah.github.io/Datasets/gopro and
  extract it; pass the folder that holds `train/` and `test/` (or its parent
  holding `GOPRO_Large/`) as `manual_dir`.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    """Features: three PNG images of one size and the name `<seq>/<file>`."""
    image = lambda: tfds.features.Image(shape=(None, None, 3), encoding_format='png')
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            'blur': image(), 'blur_gamma': image(), 'sharp': image(),
            'name': tfds.features.Text()}),
        supervised_keys=('blur_gamma', 'sharp'),
        homepage='https://seungjunnah.github.io/Datasets/gopro',
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    """The train and test splits of the manual copy."""
    root = epath.Path(dl_manager.manual_dir)
    if not (root / 'train').exists() and (root / 'GOPRO_Large' / 'train').exists():
      root = root / 'GOPRO_Large'
    for split in ('train', 'test'):
      if not (root / split).exists():
        raise FileNotFoundError(f'GOPRO_Large split folder not found: {root / split}')
    return {'train': self._generate_examples(root / 'train'),
            'test': self._generate_examples(root / 'test')}

  def _generate_examples(self, split_dir: epath.Path):
    """Yields (name, example) for each sharp image and its blurry partners."""
    for seq in sorted(p for p in split_dir.iterdir() if p.is_dir()):
      for sharp in sorted((seq / 'sharp').glob('*.png')):
        example = {'name': f'{seq.name}/{sharp.name}'}
        for key in _KEYS:
          path = seq / key / sharp.name
          if not path.exists():
            raise FileNotFoundError(f'{sharp} has no partner {path}')
          example[key] = path
        yield example['name'], example
      for key in ('blur', 'blur_gamma'):
        for blur in (seq / key).glob('*.png'):
          if not (seq / 'sharp' / blur.name).exists():
            raise FileNotFoundError(f'{blur} has no partner {seq / "sharp" / blur.name}')
