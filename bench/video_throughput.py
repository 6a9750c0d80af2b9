"""Video deblurring throughput (frames/s) at 1280x720: tools/deblur.py's video path vs PyTorch.

  python bench/video_throughput.py --out DIR [--data ROOT] [--frames 3]

Prepares (untimed), in DIR, one set of random official-architecture weights (3 scales,
19 ResBlocks, 64 features) as a PyTorch .pt and, through tools/convert_pytorch.py, as our
checkpoint, and an H.264 clip of --frames 1280x720 frames: the first blurry training frames of
--data (a GOPRO_Large folder or any subset of it in the same layout,
ROOT/train/<SEQ>/blur/*.png, in sequence and frame order), or random frames without --data.
Then, in this process, times the whole clip, decode and encode included:
  jax    deepdeblur_jax.inference.video_files.deblur_video_file (what tools/deblur.py runs), after
         a one-frame clip has compiled the model (compile time is not counted)
  torch  the same frames decoded with PyAV, bench/torch_model.MSResNet on skimage's pyramid under
         no_grad (as bench/deblur_torch.py), written with the same H.264 encoder
and prints frames/s of each (wall clock) and CPU seconds per frame (user+system of this process,
less sensitive to other load), with the 1-minute load average (state the load: run it on an
idle machine), and appends one JSON line to DIR/results.jsonl.
"""

import argparse
import fractions
import json
import os
import pathlib
import sys
import time
from typing import Optional, Tuple

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# pylint: disable=g-import-not-at-top,wrong-import-position
from deepdeblur_jax.io import video
from deepdeblur_jax.io.photos import read_rgb_uint8


def _prepare(out: pathlib.Path, frames: int, data: Optional[pathlib.Path]) -> None:
  """Weights (.pt and converted checkpoint), a one-frame warm-up clip and the timed clip (the
  blurry training frames of `data`, or random frames when it is None)."""
  from bench.gopro_frames import gopro_pairs
  from bench.torch_model import write_random_checkpoint
  write_random_checkpoint(out)
  paths = [blur for _, blur, _ in gopro_pairs(data, 'train')][:frames] if data else []
  rng = np.random.default_rng(0)
  images = [read_rgb_uint8(paths[i % len(paths)]) if paths
            else rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for i in range(frames)]
  for name, count in (('warmup.mp4', 1), ('clip.mp4', frames)):
    with video.VideoWriter(out / name, 720, 1280, fractions.Fraction(30), 'h264') as w:
      for i in range(count):
        w.write(images[i], i / 30)


def _time_jax(out: pathlib.Path) -> Tuple[int, float, float]:
  from deepdeblur_jax.inference.checkpoint import load_inference_checkpoint
  from deepdeblur_jax.inference.video_files import deblur_video_file
  model, params, _ = load_inference_checkpoint(str(out / 'ckpt'))
  deblur_video_file(params, model, out / 'warmup.mp4', out / 'jax_warmup.mp4')  # compiles
  start, cpu = time.perf_counter(), time.process_time()
  n = deblur_video_file(params, model, out / 'clip.mp4', out / 'jax_clip.mp4', log=print)
  return n, time.perf_counter() - start, time.process_time() - cpu


def _time_torch(out: pathlib.Path) -> Tuple[int, float, float]:
  import torch
  from skimage.transform import pyramid_gaussian
  from bench.torch_model import MSResNet
  torch.set_num_threads(os.cpu_count() or 1)
  state = torch.load(out / 'weights.pt', map_location='cpu')['G']
  model = MSResNet()
  model.load_state_dict(state)
  model.eval()
  info = video.probe(out / 'clip.mp4')
  start, cpu = time.perf_counter(), time.process_time()
  n = 0
  with video.VideoWriter(out / 'torch_clip.mp4', info.height, info.width, info.fps) as w:
    for frame in video.read_frames(out / 'clip.mp4'):
      levels = pyramid_gaussian(frame.rgb.astype(np.float32), 2, downscale=2, channel_axis=-1)
      pyramid = [torch.from_numpy(np.ascontiguousarray(level.transpose(2, 0, 1)))[None]
                 for level in levels]
      with torch.no_grad():
        sharp = model(pyramid)[0][0].permute(1, 2, 0).numpy()
      w.write(np.clip(sharp + 0.5, 0, 255).astype(np.uint8), frame.time)
      n += 1
      print(f'  torch: {n} frames, {n / (time.perf_counter() - start):.4f} frames/s', flush=True)
  return n, time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--out', required=True, help='working folder (weights, clips, results)')
  parser.add_argument('--data', type=pathlib.Path, default=None,
                      help='GOPRO_Large folder (or a subset) whose train/<SEQ>/blur frames make '
                           'the clip; random frames without it')
  parser.add_argument('--frames', type=int, default=3)
  args = parser.parse_args()
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  _prepare(out, args.frames, args.data)
  results = {}
  for name, fn in (('jax', _time_jax), ('torch', _time_torch)):
    load_before = os.getloadavg()[0]
    n, seconds, cpu = fn(out)
    results[name] = {'frames_per_s': round(n / seconds, 4),
                     'cpu_s_per_frame': round(cpu / n, 2), 'load1_before': load_before,
                     'load1_after': os.getloadavg()[0]}
    print(f'{name}: {n / seconds:.4f} frames/s, {cpu / n:.1f} CPU-s per frame at 1280x720 '
          f'({n} frames, load {load_before:.2f} -> {os.getloadavg()[0]:.2f})', flush=True)
  with open(out / 'results.jsonl', 'a') as f:
    f.write(json.dumps({'frames': args.frames, 'cpus': os.cpu_count(), **results}) + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
