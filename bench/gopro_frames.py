"""Blurry/sharp frame pairs of a GOPRO_Large folder, for the benchmarks that read real frames.

`--data ROOT` of those benchmarks is GOPRO_Large itself or any subset of it in the same layout:
ROOT/train/<SEQ>/{blur,sharp}/*.png and ROOT/test/<SEQ>/{blur,sharp}/*.png.
"""

import pathlib
import types
from typing import List, Tuple, Union

from deepdeblur_jax.data import readers

PathLike = Union[str, pathlib.Path]


def gopro_pairs(root: PathLike, split: str, blur_key: str = 'blur'
                ) -> List[Tuple[str, pathlib.Path, pathlib.Path]]:
  """(name '<SEQ>/<FRAME>.png', blur path, sharp path) of ROOT/SPLIT, sorted by sequence then
  frame, matched by file name (the training reader's listing, `readers.list_gopro_large`).

  Raises FileNotFoundError or ValueError naming the layout when ROOT/SPLIT holds no pairs."""
  config = types.SimpleNamespace(root=str(root), blur_key=blur_key)
  try:
    pairs = readers.list_gopro_large(config, split, check_sizes=False)
  except FileNotFoundError as error:
    raise FileNotFoundError(f'{error} (expected {root}/{split}/<SEQ>/{{{blur_key},sharp}}/*.png, '
                            'the GOPRO_Large layout)') from None
  if not pairs:
    raise ValueError(f'no {split}/<SEQ>/{blur_key}/*.png pairs in {root}')
  return [(p.name, pathlib.Path(p.blur), pathlib.Path(p.sharp)) for p in pairs]
