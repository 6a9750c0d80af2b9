"""Whole-process wall time of tools/deblur.py against a plain PyTorch script, six 256x256 images.

  python bench/startup_time.py --out DIR [--data ROOT] [--repeats 3] [--size 256] [--count 6]

Prepares (untimed), in DIR, one set of random official-architecture weights (3 scales,
19 ResBlocks, 64 features) as a PyTorch .pt and, through tools/convert_pytorch.py, as our
checkpoint, and --count --size x --size images: crops of the blurry test frames of --data (a
GOPRO_Large folder or any subset of it in the same layout, ROOT/test/<SEQ>/blur/*.png), or
random images without --data. Then, per repeat and back to back, times the whole process
(start to exit, `time.perf_counter` around `subprocess.run`) of:
  torch        python bench/deblur_torch.py (bench/torch_model.py, skimage pyramid, no_grad)
  jax_nocache  tools/deblur.py --no-compilation-cache (compiles everything)
  jax_first    tools/deblur.py with an emptied compilation cache (first run: compiles and stores)
  jax_second   tools/deblur.py again (second run: compiled programs read from the cache)
and prints the medians of wall time and of CPU time (user+system, less sensitive to other
load) with the 1-minute load average around each repeat (state the load: run it on an idle
machine). Appends one JSON line per run to DIR/results.jsonl.
"""

import argparse
import json
import os
import pathlib
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
PY = sys.executable


def _prepare(out: pathlib.Path, size: int, count: int, data: Optional[pathlib.Path]) -> None:
  """Weights (.pt and converted checkpoint) and `count` size x size PNGs under `out`: crops of
  the blurry test frames of `data`, or random images when it is None."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from bench.gopro_frames import gopro_pairs  # pylint: disable=g-import-not-at-top
  from bench.torch_model import write_random_checkpoint  # pylint: disable=g-import-not-at-top
  write_random_checkpoint(out)
  images = out / 'input'
  shutil.rmtree(images, ignore_errors=True)
  images.mkdir(parents=True)
  frames = [blur for _, blur, _ in gopro_pairs(data, 'test')] if data else []
  rng = np.random.default_rng(0)
  for i in range(count):
    if frames:
      frame = np.asarray(Image.open(frames[i % len(frames)]).convert('RGB'))
      y = (i * 97) % (frame.shape[0] - size)
      x = (i * 211) % (frame.shape[1] - size)
      crop = frame[y:y + size, x:x + size]
    else:
      crop = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(crop).save(images / f'img_{i}.png')


def _time(cmd: List[str], env: Dict[str, str]) -> Tuple[float, float, Optional[float]]:
  """(wall seconds, CPU seconds user+system, tools/deblur.py's own time for the first image,
  which includes compiling, or None) of the whole process `cmd`."""
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.perf_counter()
  result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
  seconds = time.perf_counter() - start
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if result.returncode != 0:
    raise RuntimeError(f'{" ".join(cmd)} failed:\n{result.stderr[-2000:]}')
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  first = re.search(r'\[1/\d+\] .* \(([\d.]+) s\)', result.stderr)
  return seconds, cpu, float(first.group(1)) if first else None


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--out', required=True, help='working folder (weights, images, results)')
  parser.add_argument('--data', type=pathlib.Path, default=None,
                      help='GOPRO_Large folder (or a subset) whose test/<SEQ>/blur frames are '
                           'cropped; random images without it')
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--size', type=int, default=256)
  parser.add_argument('--count', type=int, default=6)
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  sys.path.insert(0, str(REPO))
  _prepare(out, args.size, args.count, args.data)
  cache = out / 'cache'
  env = dict(os.environ, DEEPDEBLUR_CACHE=str(cache), JAX_PLATFORMS='cpu')
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  deblur = [PY, str(REPO / 'tools' / 'deblur.py'), '--checkpoint', str(out / 'ckpt'),
            '--input', str(out / 'input'), '--output', str(out / 'jax_out')]
  runs = {
      'torch': [PY, str(REPO / 'bench' / 'deblur_torch.py'), '--weights',
                str(out / 'weights.pt'), '--input', str(out / 'input'), '--output',
                str(out / 'torch_out')],
      'jax_nocache': deblur + ['--no-compilation-cache'],
      'jax_first': deblur,
      'jax_second': deblur,
  }
  times: Dict[str, List[float]] = {name: [] for name in runs}
  cpu_times: Dict[str, List[float]] = {name: [] for name in runs}
  for repeat in range(args.repeats):
    load_before = os.getloadavg()[0]
    for name, cmd in runs.items():
      if name == 'jax_first':
        shutil.rmtree(cache / 'jax_compilation_cache', ignore_errors=True)
      seconds, cpu, first_image = _time(cmd, env)
      times[name].append(seconds)
      cpu_times[name].append(cpu)
      with open(out / 'results.jsonl', 'a') as f:
        f.write(json.dumps({'run': name, 'repeat': repeat, 'seconds': round(seconds, 3),
                            'cpu_seconds': round(cpu, 3), 'first_image_seconds': first_image,
                            'load1': os.getloadavg()[0], 'images': args.count,
                            'size': args.size, 'cpus': os.cpu_count()}) + '\n')
    print(f'repeat {repeat}: ' + ', '.join(f'{k} {v[-1]:.2f} s' for k, v in times.items())
          + f' (load {load_before:.2f} -> {os.getloadavg()[0]:.2f})', flush=True)
  print(f'median of {args.repeats}, whole process, {args.count} images {args.size}x{args.size}, '
        f'{os.cpu_count()} CPUs:')
  for name, values in times.items():
    print(f'  {name:12s} wall {statistics.median(values):6.2f} s  CPU '
          f'{statistics.median(cpu_times[name]):6.2f} s   (wall all: '
          + ', '.join(f'{v:.2f}' for v in values) + ')')
  return 0


if __name__ == '__main__':
  sys.exit(main())
