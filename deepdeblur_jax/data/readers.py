"""Lists (blurry, sharp) image pairs of GOPRO_Large, REDS, paired folders and synthetic data.

Pairs are matched by file name (never by sorted position alone), their sizes are
checked from the image headers, and they are returned in sorted, deterministic order.
"""

import dataclasses
import os
import pathlib
from typing import Any, Callable, Union

from deepdeblur_jax.io import photos, storage

PathLike = Union[str, os.PathLike]

DATASETS = ('gopro_large', 'reds', 'paired', 'synthetic')
GOPRO_BLUR_KEYS = ('blur', 'blur_gamma')


@dataclasses.dataclass(frozen=True)
class ImagePair:
  """One training or test example: blurry and sharp image files and a unique name."""
  blur: str
  sharp: str
  name: str


def _images_under(folder: pathlib.Path) -> dict[str, pathlib.Path]:
  """Image files below `folder`, keyed by their POSIX path relative to it."""
  return {p.relative_to(folder).as_posix(): p for p in storage.files_under(folder)
          if photos.is_image_file(p)}


def match_folders(blur_dir: pathlib.Path, sharp_dir: pathlib.Path, prefix: str,
                  check_sizes: bool = True) -> list[ImagePair]:
  """Pairs the images of two folders by relative file name; names are `prefix + rel`."""
  for d in (blur_dir, sharp_dir):
    if not d.is_dir():
      raise FileNotFoundError(f'folder not found: {d}')
  blurs, sharps = _images_under(blur_dir), _images_under(sharp_dir)
  for rel in sorted(blurs):
    if rel not in sharps:
      raise ValueError(f'{blurs[rel]} has no sharp partner {sharp_dir / rel}')
  for rel in sorted(sharps):
    if rel not in blurs:
      raise ValueError(f'{sharps[rel]} has no blurry partner {blur_dir / rel}')
  pairs = []
  for rel in sorted(blurs):
    b, s = blurs[rel], sharps[rel]
    if check_sizes:
      sb, ss = photos.image_size(b), photos.image_size(s)
      if sb != ss:
        raise ValueError(f'size mismatch: {b} is {sb[0]}x{sb[1]} but {s} is {ss[0]}x{ss[1]}')
    pairs.append(ImagePair(str(b), str(s), prefix + rel))
  return pairs


def _root(data_config: Any) -> pathlib.Path:
  if not data_config.root:
    raise ValueError(f'data.root is empty; set it to the {data_config.dataset} folder')
  root = storage.path(data_config.root)
  if not root.is_dir():
    raise FileNotFoundError(f'data.root folder not found: {root}')
  return root


def _gopro_layout(root: pathlib.Path, split: str, blur_key: str,
                  check_sizes: bool = True) -> list[ImagePair]:
  if blur_key not in GOPRO_BLUR_KEYS:
    raise ValueError(f'data.blur_key must be one of {GOPRO_BLUR_KEYS}, got {blur_key!r}')
  split_dir = root / split
  if not split_dir.is_dir():
    raise FileNotFoundError(f'split folder not found: {split_dir}')
  pairs = []
  for seq in sorted(p for p in split_dir.iterdir() if p.is_dir()):
    pairs += match_folders(seq / blur_key, seq / 'sharp', f'{seq.name}/', check_sizes)
  return pairs


def list_gopro_large(data_config: Any, split: str, check_sizes: bool = True) -> list[ImagePair]:
  """GOPRO_Large: `root/{train,test}/<seq>/{blur|blur_gamma,sharp}/*.png`."""
  return _gopro_layout(_root(data_config), split, data_config.blur_key, check_sizes)


def list_reds(data_config: Any, split: str, check_sizes: bool = True) -> list[ImagePair]:
  """REDS: `root/{train,val}/{train,val}_{blur,sharp}/NNN/NNNNNNNN.png`."""
  root = _root(data_config)
  return match_folders(root / split / f'{split}_blur', root / split / f'{split}_sharp', '',
                       check_sizes)


def list_paired(data_config: Any, split: str, check_sizes: bool = True) -> list[ImagePair]:
  """Paired folders: `root/<split>/{input,target}/` or, without split folders, `root/{input,target}/`."""
  root = _root(data_config)
  base = root / split if (root / split / 'input').is_dir() else root
  if not (base / 'input').is_dir():
    raise FileNotFoundError(f'no input/ folder in {root / split} or {root}')
  return match_folders(base / 'input', base / 'target', '', check_sizes)


def list_synthetic(data_config: Any, split: str, check_sizes: bool = True) -> list[ImagePair]:
  """The synthetic dataset (GOPRO layout), generated on first use."""
  from deepdeblur_jax.data import synthetic_scenes  # pylint: disable=g-import-not-at-top
  root = synthetic_scenes.ensure_synthetic_dataset(data_config)
  return _gopro_layout(root, split, data_config.blur_key, check_sizes)


_LISTERS: dict[str, Callable[..., list[ImagePair]]] = {
    'gopro_large': list_gopro_large, 'reds': list_reds, 'paired': list_paired,
    'synthetic': list_synthetic}


def list_pairs(data_config: Any, split: str, check_sizes: bool = True) -> list[ImagePair]:
  """The sorted pairs of `split` of the dataset named by `data_config.dataset`.

  `check_sizes` compares blur and sharp sizes from the headers, stopping at the first mismatch
  (data.verify lists every bad pair instead)."""
  lister = _LISTERS.get(data_config.dataset)
  if lister is None:
    raise ValueError(f'data.dataset must be one of {DATASETS}, got {data_config.dataset!r}')
  pairs = lister(data_config, split, check_sizes)
  if not pairs:
    raise ValueError(f'no image pairs found for data.dataset={data_config.dataset!r} '
                     f'split {split!r} under {data_config.root or "the synthetic cache"}')
  return pairs


def read_pair(pair: ImagePair, min_size: int,
              read: Callable[[Any], Any] = photos.read_rgb_uint8) -> tuple:
  """(blur, sharp) uint8 HxWx3 of `pair`, read with `read`; a ValueError naming the files when
  their sizes differ or the smaller side is under `min_size` (the patch cannot be cut)."""
  images = (read(pair.blur), read(pair.sharp))
  if images[0].shape != images[1].shape:
    raise ValueError(f'size mismatch: {pair.blur} is {images[0].shape[:2]} but '
                     f'{pair.sharp} is {images[1].shape[:2]}')
  h, w = images[0].shape[:2]
  if min(h, w) < min_size:
    raise ValueError(f'{pair.blur} is {h}x{w}, smaller than patch_size={min_size}')
  return images
