"""PSNR/SSIM of a model (or of the blurry input) over a GOPRO_Large, REDS or paired folder.

As DeepDeblur-PyTorch (docs/evaluation.md): the output is clipped and quantised to uint8
(exactly what a saved PNG holds), PSNR and SSIM are measured per image on RGB with peak 255
(`image_metrics`, equal to scikit-image) and averaged over images.
"""

import concurrent.futures
import pathlib
import sys
import time
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import jax.numpy as jnp
import numpy as np

from deepdeblur_jax import quantization
from deepdeblur_jax.data import readers
from deepdeblur_jax.evaluation.metrics import image_metrics
from deepdeblur_jax.inference.tiling import deblur_array
from deepdeblur_jax.io import photos, storage
from deepdeblur_jax.models.generator import MultiScaleGenerator

FORMATS = ('gopro_large', 'reds', 'paired')


def detect_format(root: str, split: str) -> str:
  """'gopro_large', 'reds' or 'paired' from the folder layout under `root` (raises naming it)."""
  base = storage.path(root)
  if not base.is_dir():
    raise FileNotFoundError(f'data folder {base} does not exist')
  if (base / split / f'{split}_blur').is_dir():
    return 'reds'
  if (base / 'input').is_dir() or (base / split / 'input').is_dir():
    return 'paired'
  split_dir = base / split
  if split_dir.is_dir() and any((seq / 'sharp').is_dir() for seq in split_dir.iterdir()):
    return 'gopro_large'
  raise ValueError(
      f'cannot tell the layout of {base}: expected {split}/<sequence>/{{blur,blur_gamma,sharp}}/ '
      f'(GOPRO_Large), {split}/{split}_{{blur,sharp}}/ (REDS) or [{split}/]{{input,target}}/ '
      '(paired); pass --format')


def list_eval_pairs(root: str, split: str, fmt: Optional[str] = None,
                    blur_key: str = 'blur_gamma') -> Tuple[str, List[readers.ImagePair]]:
  """(format, sorted pairs) of one split; the format is detected when `fmt` is None."""
  fmt = fmt or detect_format(root, split)
  if fmt not in FORMATS:
    raise ValueError(f'format must be one of {FORMATS}, got {fmt!r}')
  config = types.SimpleNamespace(dataset=fmt, root=str(root), blur_key=blur_key)
  return fmt, readers.list_pairs(config, split)


def _prefetch(pairs: List[readers.ImagePair], depth: int = 4
              ) -> Iterator[Tuple[readers.ImagePair, Any]]:
  """Yields (pair, future of (blur, sharp) uint8 arrays), reading a few pairs ahead."""
  def load(pair: readers.ImagePair) -> Tuple[np.ndarray, np.ndarray]:
    return photos.read_rgb_uint8(pair.blur), photos.read_rgb_uint8(pair.sharp)

  with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    futures = [pool.submit(load, p) for p in pairs[:depth]]
    for i, pair in enumerate(pairs):
      if i + depth < len(pairs):
        futures.append(pool.submit(load, pairs[i + depth]))
      yield pair, futures[i]
      futures[i] = None


def evaluate_pairs(pairs: List[readers.ImagePair], params: Any = None,
                   model: Optional[MultiScaleGenerator] = None, save_dir: Optional[str] = None,
                   log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)
                   ) -> Dict[str, Any]:
  """Per-image and mean PSNR/SSIM; with `model=None` the blurry input itself is measured.

  Returns {"num_images", "psnr", "ssim", "per_image": [{"path", "psnr", "ssim"}]} where "path"
  is the pair's name (e.g. "GOPR0384_11_00/000001.png"). Saves each quantised output under
  `save_dir/<name>` as PNG when given.
  """
  per_image = []
  start = time.perf_counter()
  for i, (pair, future) in enumerate(_prefetch(pairs), 1):
    try:
      blur, sharp = future.result()
    except (OSError, ValueError) as e:
      raise ValueError(f'evaluation stopped at {pair.name}: {e}') from e
    if blur.shape != sharp.shape:
      raise ValueError(f'{pair.blur} is {blur.shape} but {pair.sharp} is {sharp.shape}')
    if model is None:
      output = blur.astype(np.float32)
    else:
      scale = model.rgb_range / 255.0
      output = deblur_array(params, model, blur.astype(np.float32) * scale) / scale
    metrics = image_metrics(jnp.asarray(output[None]), jnp.asarray(sharp[None], jnp.float32), 255.0)
    psnr, ssim = float(metrics['psnr'][0]), float(metrics['ssim'][0])
    per_image.append({'path': pair.name, 'psnr': psnr, 'ssim': ssim})
    if save_dir is not None:
      quantised = quantization.to_uint8(output)
      target = storage.path(save_dir, expand_user=False) / pathlib.PurePosixPath(pair.name).with_suffix('.png')
      photos.write_png(str(target), quantised)
    elapsed = time.perf_counter() - start
    mean_psnr = np.mean([r['psnr'] for r in per_image])
    log(f'[{i}/{len(pairs)}] {pair.name}: PSNR {psnr:.2f} SSIM {ssim:.4f} | mean PSNR '
        f'{mean_psnr:.3f} | {elapsed / i:.2f} s/image, ETA {elapsed / i * (len(pairs) - i):.0f} s')
  if not per_image:
    raise ValueError('no images to evaluate')
  return {'num_images': len(per_image),
          'psnr': float(np.mean([r['psnr'] for r in per_image])),
          'ssim': float(np.mean([r['ssim'] for r in per_image])),
          'per_image': per_image}


