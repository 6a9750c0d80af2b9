"""The package's layers: no module imports from a layer above its own (CONTRIBUTING.md, Layout)."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'deepdeblur_jax'

# Lowest first; a unit is a subpackage or a top-level module of deepdeblur_jax.
LAYERS = [
    {'quantization', 'compilation_cache', 'distributed', 'platforms', 'config_files'},
    {'io', 'cli_errors'},
    {'models'},
    {'data'},
    {'inference'},
    {'evaluation', 'convert', 'config_validation'},
    {'training'},
    {'planning'},
    {'main'},
]


def _unit(module: str) -> str:
  parts = module.split('.')
  return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: pathlib.Path):
  """Dotted deepdeblur_jax modules imported anywhere in `path` (lazy imports included)."""
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith('deepdeblur_jax'):
      if node.module == 'deepdeblur_jax':
        yield from (f'deepdeblur_jax.{a.name}' for a in node.names)
      else:
        yield node.module
    elif isinstance(node, ast.Import):
      yield from (a.name for a in node.names if a.name.startswith('deepdeblur_jax.'))


def test_every_unit_has_a_layer():
  units = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
           if (p.suffix == '.py' and p.stem != '__init__') or (p / '__init__.py').is_file()}
  assert units == set().union(*LAYERS)


def test_no_import_goes_up_a_layer():
  level = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}
  level['__init__'] = 0  # the package's __init__ runs before any unit: root utilities only
  upward = []
  for path in sorted(PACKAGE.rglob('*.py')):
    here = _unit('.'.join(path.relative_to(PACKAGE.parent).with_suffix('').parts))
    for module in _imports(path):
      there = _unit(module)
      if there != 'deepdeblur_jax' and level[there] > level[here]:
        upward.append(f'{path.relative_to(PACKAGE.parent)} imports {module}')
  assert not upward, upward
