"""The installs: `make install` is the CPU install (no TPU compiler, no jax pin), `make test`
adds the test, TPU-planning and web page requirements, and pyproject.toml's extras match the files."""

import pathlib
import re
import shutil
import subprocess
import tomllib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def _requirement_lines(name: str) -> list:
  lines = (REPO / name).read_text().splitlines()
  return [line.split(' #')[0].strip() for line in lines
          if line.strip() and not line.startswith('#')]


def test_tpu_plan_extra_repeats_requirements_tpu():
  project = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']
  assert project['optional-dependencies']['tpu-plan'] == _requirement_lines('requirements-tpu.txt')


def test_app_extra_repeats_requirements_app():
  project = tomllib.loads((REPO / 'pyproject.toml').read_text())['project']
  assert project['optional-dependencies']['app'] == _requirement_lines('requirements-app.txt')


def _package(name: str) -> str:
  """A package name as pip compares them: lower case, '-' for '_' and '.', no extras."""
  return re.split(r'[\[<>=!~; ]', name.strip(), maxsplit=1)[0].lower().replace('_', '-').replace(
      '.', '-')


def _readme_dependencies() -> set:
  """The packages the README's Dependencies table names (first column, parentheses dropped)."""
  section = (REPO / 'README.md').read_text().split('## Dependencies', 1)[1].split('\n## ', 1)[0]
  names = set()
  for row in section.splitlines():
    if row.startswith('|') and not row.startswith(('| package', '|---')):
      cell = re.sub(r'\([^)]*\)', '', row.split('|')[1]).replace('`', '')
      names.update(_package(n) for n in re.split(r'[,/]', cell) if n.strip())
  return names


def test_readme_gives_every_requirement_a_reason():
  required = {_package(line) for name in ('requirements.txt', 'requirements-test.txt',
                                           'requirements-tpu.txt', 'requirements-app.txt')
              for line in _requirement_lines(name)}
  assert len(required) > 20
  assert sorted(required - _readme_dependencies()) == []


def test_runtime_requirements_leave_jax_free_and_bring_no_libtpu():
  runtime = _requirement_lines('requirements.txt')
  assert not [r for r in runtime if r.startswith('libtpu')]
  assert [r for r in runtime if r.startswith('jax')] == ['jax>=0.7.2']


@pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed')
@pytest.mark.parametrize('target,files', [
    ('install', ['requirements.txt']),
    ('install-tpu-plan', ['requirements.txt', 'requirements-tpu.txt']),
    ('install-app', ['requirements.txt', 'requirements-app.txt']),
    ('test', ['requirements.txt', 'requirements-test.txt', 'requirements-tpu.txt',
              'requirements-app.txt']),
])
def test_make_targets_install_their_requirement_files(tmp_path, target, files):
  """`make -n` (print, run nothing) into a fresh virtual environment folder."""
  proc = subprocess.run(['make', '-n', target, f'VENV={tmp_path / "venv"}'], cwd=REPO,
                        capture_output=True, text=True, timeout=60, check=True)
  installs = [line for line in proc.stdout.splitlines() if ' -m pip install -r ' in line]
  assert len(installs) == 1, proc.stdout
  assert sorted(installs[0].split(' -r ')[1:]) == sorted(files), installs[0]
  assert ' -m pip install -e . --no-deps' in proc.stdout
