"""Timing helpers shared by the benchmarks: warm-up excluded, synchronised, median of repeats."""

import json
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], sync: Callable[[Any], Any],
               warmup: int = 2, repeats: int = 5) -> Dict[str, float]:
  """Times `fn(x)` rotating through `inputs`, calling `sync` on each result (device sync).

  Returns median, min and max seconds per call over `repeats` timed calls after `warmup`, and the
  host's 1/5/15-minute load averages when the timing ended (other work on the machine skews it).
  """
  import os
  for i in range(warmup):
    sync(fn(inputs[i % len(inputs)]))
  times: List[float] = []
  for i in range(repeats):
    x = inputs[i % len(inputs)]
    start = time.perf_counter()
    sync(fn(x))
    times.append(time.perf_counter() - start)
  return {'median_s': statistics.median(times), 'min_s': min(times), 'max_s': max(times),
          'repeats': repeats, 'load_avg': [round(v, 2) for v in os.getloadavg()]}


def time_interleaved(cases: Dict[str, Tuple[Callable[[Any], Any], Sequence[Any],
                                             Callable[[Any], Any]]],
                     warmup: int = 2, repeats: int = 5) -> Dict[str, Dict[str, float]]:
  """Like `time_calls` for several (fn, inputs, sync) cases, alternating them call by call.

  On a shared machine whose load changes over minutes, alternating A, B, A, B, ... exposes both
  to the same load, so their ratio is fairer than timing all of A and then all of B.
  """
  import os
  for i in range(warmup):
    for fn, inputs, sync in cases.values():
      sync(fn(inputs[i % len(inputs)]))
  times: Dict[str, List[float]] = {name: [] for name in cases}
  for i in range(repeats):
    for name, (fn, inputs, sync) in cases.items():
      x = inputs[i % len(inputs)]
      start = time.perf_counter()
      sync(fn(x))
      times[name].append(time.perf_counter() - start)
  load = [round(v, 2) for v in os.getloadavg()]
  return {name: {'median_s': statistics.median(t), 'min_s': min(t), 'max_s': max(t),
                 'repeats': repeats, 'load_avg': load, 'interleaved': True}
          for name, t in times.items()}


def machine_description() -> Dict[str, Any]:
  """Host facts recorded with every benchmark line."""
  import os
  return {'host': platform.node(), 'machine': platform.machine(), 'cpus': os.cpu_count(),
          'python': platform.python_version()}


def print_report(name: str, rows: List[Dict[str, Any]], columns: Sequence[str]) -> None:
  """Prints one JSON line with all rows, then a short aligned table."""
  print(json.dumps({'benchmark': name, 'machine': machine_description(), 'rows': rows}))
  widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
  print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
  for r in rows:
    print('  '.join(_fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))


def _fmt(v: Any) -> str:
  if isinstance(v, float):
    return f'{v:.4g}'
  return '' if v is None else str(v)


def append_json_line(path: str, name: str, row: Dict[str, Any]) -> None:
  """Appends one JSON line per finished row to `path` (kept even if a later row is killed)."""
  if path:
    with open(path, 'a') as f:
      f.write(json.dumps({'benchmark': name, 'rows': [row]}) + '\n')


def add_reference_columns(row: Dict[str, Any], ref: Dict[str, Any]) -> None:
  """Adds the PyTorch reference's timing to a JAX `row`, with the JAX / PyTorch time ratio."""
  row['torch_median_s'] = ref['median_s']
  row['torch_min_s'] = ref['min_s']
  row['torch_load_avg'] = ref['load_avg']
  row['torch_device'] = ref['device']
  row['jax_over_torch_time'] = row['median_s'] / ref['median_s']
