"""The web page's request path (tools/app.py): the first and the second request of a new photo
size, without and with size classes (--pad-to).

  python bench/app_requests.py --sizes 360x480,376x500 --pad-to 128 [--config configs/default.py]

In one process with the persistent compilation cache off (as a page serving for a while: the
model loaded once, each new size compiled in process), times `deblur_photo` plus the PNG write
(what a request does after the upload) on random photos with random weights of the config's
model: for each size in turn, a first request (compiles unless its program exists) and a second
one, first with no padding (tools/deblur.py's pixels), then with --pad-to. Prints one line per
request and one JSON line with every row and the load average.
"""

import sys, pathlib  # noqa: E401  (runs from a checkout without installation)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import tempfile
import time

import numpy as np

from bench.configs import load_config
from deepdeblur_jax.inference.deblur import make_deblur_fn
from deepdeblur_jax.inference.files import deblur_photo
from deepdeblur_jax.io.photos import Photo, write_png
from deepdeblur_jax.models import create_generator
from tests.tool_helpers import random_params


def main() -> None:
  """Parses arguments, times the requests, prints the rows."""
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--config', default='configs/default.py')
  parser.add_argument('--sizes', default='360x480,376x500', help='HxW,HxW,... photo sizes')
  parser.add_argument('--pad-to', type=int, default=128)
  args = parser.parse_args()
  model = create_generator(load_config(args.config).model)
  params = random_params(model)
  sizes = [tuple(int(v) for v in s.split('x')) for s in args.sizes.split(',')]
  rng = np.random.default_rng(0)
  out = pathlib.Path(tempfile.mkdtemp())
  rows = []
  for pad_to in (0, args.pad_to):
    for h, w in sizes:
      photo = Photo(rng.random((h, w, 3)).astype(np.float32), None, 3, 8)
      for attempt in ('first', 'second'):
        programs = make_deblur_fn(model)._cache_size()  # pylint: disable=protected-access
        start = time.perf_counter()
        write_png(str(out / 'x.png'), deblur_photo(params, model, photo, tile=(0, 0),
                                                   pad_to=pad_to))
        seconds = time.perf_counter() - start
        row = {'size': f'{h}x{w}', 'pad_to': pad_to, 'request': attempt,
               'seconds': round(seconds, 3),
               'compiled': make_deblur_fn(model)._cache_size() > programs,  # pylint: disable=protected-access
               'load': [round(v, 2) for v in os.getloadavg()]}
        rows.append(row)
        print(f"{row['size']:>9} pad_to={pad_to:<4} {attempt:<6} {seconds:7.2f} s "
              f"compiled={row['compiled']} load={row['load']}", flush=True)
  print(json.dumps({'bench': 'app_requests', 'config': args.config, 'rows': rows}))


if __name__ == '__main__':
  os.environ.setdefault('JAX_PLATFORMS', 'cpu')
  main()
