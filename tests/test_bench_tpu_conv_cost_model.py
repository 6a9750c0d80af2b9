"""bench/tpu_conv_cost_model.py: the minimal-traffic and FLOP arithmetic against hand counts, and
the script end to end with libtpu's compiler (compile-only v5e device; nothing runs on a TPU)."""

import json
import os
import pathlib
import platform
import subprocess
import sys

import pytest

from bench.tpu_conv_cost_model import ConvShape
from deepdeblur_jax.planning import compile_plan

ROOT = pathlib.Path(__file__).resolve().parents[1]
_LINUX_X86 = sys.platform.startswith('linux') and platform.machine() in ('x86_64', 'AMD64')


def test_minimal_bytes_and_flops_by_hand():
  # 1 x 3 x 4 pixels, 2 -> 5 channels, 3x3 window, 2-byte elements:
  # input 12 * 2 + output 12 * 5 + weights 9 * 2 * 5 = 24 + 60 + 90 = 174 elements = 348 bytes.
  shape = ConvShape(batch=1, height=3, width=4, c_in=2, c_out=5, kernel=3)
  assert shape.minimal_bytes() == 348
  assert shape.flops() == 2 * 12 * 9 * 2 * 5
  assert ConvShape(1, 3, 4, 2, 5, 3, element_bytes=4).minimal_bytes() == 696


@pytest.mark.skipif(
    not compile_plan.libtpu_available(),
    reason=('libtpu is not installed (pip install -r requirements-tpu.txt)' if _LINUX_X86 else
            f'libtpu cannot be installed on {sys.platform} {platform.machine()} '
            '(it is published for Linux x86-64 only)'))
def test_script_reports_cost_model_over_minimal_traffic():
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  proc = subprocess.run([sys.executable, str(ROOT / 'bench' / 'tpu_conv_cost_model.py'),
                         '--channels', '64,128', '--topology', 'v5e:1x1'],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  result = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith('{')))
  rows = {r['channels']: r for r in result['rows']}
  assert sorted(rows) == [64, 128]
  for c, row in rows.items():
    # 2 x 256 x 256 x C bf16 in and out, 5 x 5 x C x C bf16 weights.
    assert row['minimal_bytes'] == (2 * 2 * 256 * 256 * c + 25 * c * c) * 2
    assert row['analytic_flops'] == 2 * 2 * 256 * 256 * 25 * c * c
    assert row['ratio'] == pytest.approx(row['xla_bytes_accessed'] / row['minimal_bytes'])
    assert row['ratio'] > 1
    # The compiled program is the convolution meant: XLA's FLOPs within 5 % of the count.
    assert row['xla_flops'] == pytest.approx(row['analytic_flops'], rel=0.05)
  assert rows[64]['minimal_bytes'] == 33_759_232
