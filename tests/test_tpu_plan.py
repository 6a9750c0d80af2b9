"""tools/tpu_plan.py and deepdeblur_jax.planning: the real train step compiled for Cloud TPU
topologies by libtpu's compiler on this CPU (compile-only devices; nothing runs on a TPU)."""

import json
import platform
import sys

import pytest

from _train_utils import run_python
from configs import quickstart, tiny
from deepdeblur_jax.planning import compile_plan
from deepdeblur_jax.planning.chips import CHIPS, parse_topology
from deepdeblur_jax.planning.compile_plan import (Plan, convolution_dtypes, max_batch,
                                                  parse_oom, plan, tpu_target)

_LINUX_X86 = sys.platform.startswith('linux') and platform.machine() in ('x86_64', 'AMD64')
needs_libtpu = pytest.mark.skipif(
    not compile_plan.libtpu_available(),
    reason=('libtpu is not installed (pip install -r requirements-tpu.txt)' if _LINUX_X86 else
            f'libtpu cannot be installed on {sys.platform} {platform.machine()} '
            '(it is published for Linux x86-64 only)'))

# The plans read the compiler's memory and cost analyses: compile afresh, not from the cache.
pytestmark = pytest.mark.usefixtures('without_compilation_cache')

REQUIRED_FIELDS = ('topology', 'num_chips', 'chip', 'global_batch', 'fits', 'hbm_bytes_per_chip',
                   'peak_bytes_per_chip', 'argument_bytes_per_chip', 'temp_bytes_per_chip',
                   'xla_flops_per_chip', 'analytic_flops_per_chip', 'xla_bytes_accessed_per_chip',
                   'compute_bound_seconds', 'memory_bound_seconds', 'compile_seconds')


@needs_libtpu
def test_notebook_config_compiles_for_one_v5e_chip():
  """configs/quickstart.py (the notebook's default) on Colab's TPU runtime, one v5e chip."""
  config = quickstart.get_config()
  result = plan(config, tpu_target('v5e:1x1'))
  assert (result.topology, result.chip, result.num_chips, result.global_batch) == \
      ('v5e:1x1', 'v5e', 1, config.batch_size)
  assert result.fits and not result.error
  # The compiler's usable HBM is a little under the chip's 16 GiB.
  assert 15e9 < result.hbm_bytes_per_chip <= 16 * 2 ** 30
  assert 0 < result.argument_bytes_per_chip < result.peak_bytes_per_chip < 1e9
  # XLA counts at least the convolutions' FLOPs (bench/flops.py's analytic count), and not
  # wildly more; the bounds are those figures over the chip table's peaks.
  assert result.analytic_flops_per_chip <= result.xla_flops_per_chip \
      < 2 * result.analytic_flops_per_chip
  assert result.compute_bound_seconds == pytest.approx(result.xla_flops_per_chip / 197e12)
  assert result.memory_bound_seconds == pytest.approx(result.xla_bytes_accessed_per_chip / 819e9)
  assert 'f32' in result.conv_dtypes and 'bf16' not in result.conv_dtypes  # float32 config


@needs_libtpu
def test_notebook_config_on_v5e_2x4_in_bfloat16_has_only_bf16_convolutions():
  config = quickstart.get_config()
  config.dtype = 'bfloat16'
  result = plan(config, tpu_target('v5e:2x4'), global_batch=8)
  assert (result.num_chips, result.num_devices, result.batch_per_chip) == (8, 8, 1)
  assert result.fits
  assert set(result.conv_dtypes) == {'bf16'}, result.conv_dtypes
  assert result.conv_dtypes['bf16'] >= 3 * (2 * 2 + 2) * 3  # fwd + 2 bwd per conv, 3 scales


@needs_libtpu
def test_cli_oversized_shape_is_an_answer_not_a_crash(tmp_path):
  out = tmp_path / 'plan.json'
  proc = run_python(['tools/tpu_plan.py', '--config', 'configs/tiny.py', '--topology', 'v5e-1',
                     '--batch', '64', '--patch', '2048', '--json', str(out)])
  assert proc.returncode == 0, proc.stderr[-3000:]
  record = json.loads(out.read_text())
  assert record['fits'] is False
  assert record['peak_bytes_per_chip'] > record['hbm_bytes_per_chip']
  assert 'exceeds available HBM' in record['error']
  assert 'fits                False' in proc.stdout


@needs_libtpu
def test_cli_end_to_end_writes_every_field(tmp_path):
  out = tmp_path / 'plan.json'
  proc = run_python(['tools/tpu_plan.py', '--config', 'configs/tiny.py', '--topology', 'v5e:2x4',
                     '--batch', '8', '--dtype', 'bfloat16', '--remat', 'resblock',
                     '--json', str(out)])
  assert proc.returncode == 0, proc.stderr[-3000:]
  record = json.loads(out.read_text())
  for field in REQUIRED_FIELDS:
    assert record[field] is not None, field
  assert record['fits'] is True and record['num_chips'] == 8 and record['global_batch'] == 8
  assert record['remat'] == 'resblock' and record['dtype'] == 'bfloat16'
  assert record['peak_bytes_per_chip'] <= record['hbm_bytes_per_chip']
  assert 'cost-model compute' in proc.stdout and 'fits                True' in proc.stdout


def test_cli_without_libtpu_says_how_to_install_it(monkeypatch, capsys):
  sys.path.insert(0, 'tools')
  try:
    import tpu_plan  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove('tools')
  monkeypatch.setattr(compile_plan, 'libtpu_available', lambda: False)
  assert tpu_plan.main(['--config', 'configs/tiny.py', '--topology', 'v5e:1x1']) == 2
  err = capsys.readouterr().err
  assert 'libtpu is not installed' in err and 'requirements-tpu.txt' in err
  assert len(err.strip().splitlines()) == 1


def _fake_plans(fixed, per_item, limit, calls):
  def plan_at(global_batch):
    calls.append(global_batch)
    peak = fixed + per_item * global_batch
    return Plan(topology='t', chip='c', num_chips=4, num_devices=4, what='train',
                dtype='bfloat16', remat='none', global_batch=global_batch, image_hw=(256, 256),
                fits=peak <= limit, hbm_bytes_per_chip=limit, peak_bytes_per_chip=peak,
                argument_bytes_per_chip=fixed)
  return plan_at


def test_max_batch_guesses_from_memory_then_confirms_with_few_compiles():
  calls = []
  # 1 GB fixed + 0.7 GB per image, 16 GB: 21 images fit, so 20 (a multiple of 4) is the answer.
  best, tried = max_batch(_fake_plans(1e9, 0.7e9, 16e9, calls), start=8, step=4)
  assert best.global_batch == 20 and best.fits
  assert [p.global_batch for p in tried] == sorted(calls)
  assert 24 in calls and len(calls) <= 4  # the next multiple was compiled and did not fit
  calls = []
  best, tried = max_batch(_fake_plans(1e9, 0.7e9, 16e9, calls), start=400, step=4)
  assert best.global_batch == 20 and len(calls) <= 5
  calls = []
  best, _ = max_batch(_fake_plans(20e9, 1e9, 16e9, calls), start=4, step=4)
  assert best is None and calls == [4]


def test_topology_names_and_chip_table():
  assert parse_topology('v5e-8') == ('v5e:2x4', 'v5e', (2, 4, 1))
  assert parse_topology('v4:2x2x1') == ('v4:2x2x1', 'v4', (2, 2, 1))
  for bad in ('v5e', 'v4:2x2', 'v7:2x2', 'tpu'):
    with pytest.raises(ValueError, match='topology'):
      parse_topology(bad)
  assert set(CHIPS) == {'v4', 'v5e', 'v5p', 'v6e'}
  for spec in CHIPS.values():
    assert spec.source.startswith(f'https://cloud.google.com/tpu/docs/{spec.name}')


def test_compiler_messages_are_parsed():
  assert parse_oom('RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for '
                   'HLO temporaries (81.38G) exceeds available HBM (15.75G).') == \
      (int(81.38 * 2 ** 30), int(15.75 * 2 ** 30))
  assert parse_oom('Used 20.5G of 15.75G hbm. Exceeded hbm capacity by 4.75G.') == \
      (int(20.5 * 2 ** 30), int(15.75 * 2 ** 30))
  assert parse_oom('INTERNAL: something else') == (None, None)
  hlo = ('  %convolution.1 = bf16[8,64,64,64]{3,2,1,0} convolution(bf16[8,64,64,6]{3,2,1,0} %p, '
         'bf16[5,5,6,64]{3,2,1,0} %k), window={size=5x5 pad=2_2x2_2}, dim_labels=b01f_01io->b01f\n'
         '  %convolution.2 = f32[8,64,64,3]{3,2,1,0} convolution(f32[8,64,64,64]{3,2,1,0} %a, '
         'f32[5,5,64,3]{3,2,1,0} %b), window={size=5x5 pad=2_2x2_2}\n'
         '  %add.3 = f32[8] add(f32[8] %x, f32[8] %y)\n')
  assert convolution_dtypes(hlo) == {'bf16': 1, 'f32': 1}


@needs_libtpu
def test_deblur_function_compiles_for_any_image_size():
  config = tiny.get_config()
  config.dtype = 'bfloat16'
  result = plan(config, tpu_target('v5e:1x1'), what='deblur', global_batch=1, hw=(70, 98))
  assert result.fits and result.what == 'deblur' and result.image_hw == (70, 98)
  assert set(result.conv_dtypes) == {'bf16'}
  # Padded to 72x100 inside the program, so XLA counts a little more than the analytic 70x98.
  assert result.analytic_flops_per_chip <= result.xla_flops_per_chip \
      < 2 * result.analytic_flops_per_chip
