"""The documentation's links and commands are real.

Every Markdown page (README.md, CONTRIBUTING.md, bench/*.md, docs/**/*.md) is checked for:
- links and images (`[text](path)`, `![alt](path)`, `[ref]: path`, HTML `href`/`src`) to a relative
  path that does not exist in the repository, or to an `#anchor` that is no heading of the target
  page (GitHub's heading slugs);
- commands in code blocks (continuation lines joined) and in inline code that run
  `tools/NAME.py` with an option its argparse parser does not define (options must be spelt in
  full), or `deepdeblur_jax.main` with a flag main does not define, or a `--config.FIELD[.SUB]`
  override naming no field of the config file given with --config on that command
  (configs/default.py when there is none).
`...` stands for anything and is never checked. The checker's own tests plant each kind of error.
"""

import argparse
import functools
import importlib.util
import os
import pathlib
import re
import sys
import urllib.parse
from typing import Iterator, List, Optional, Set, Tuple

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

# Code blocks in these languages hold no shell commands.
_NOT_SHELL = {'python', 'py', 'json', 'yaml', 'yml', 'toml', 'ini', 'bibtex', 'latex', 'tex',
              'diff', 'csv', 'html', 'xml', 'javascript', 'js', 'ipython'}
_FENCE = re.compile(r'^(\s*)(`{3,}|~{3,})\s*([\w+-]*)')
_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+["\'(][^)]*)?\)')
_IMAGE = re.compile(r'!\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+["\'(][^)]*)?\)')  # also inside a link
_REF_DEF = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+["\'(].*)?$')
_HTML_LINK = re.compile(r'<(?:a|img|source)\b[^>]*?\b(?:href|src)\s*=\s*["\']([^"\']+)["\']', re.I)
_HTML_ANCHOR = re.compile(r'<[^>]+\b(?:id|name)\s*=\s*["\']([^"\']+)["\']', re.I)
_INLINE_CODE = re.compile(r'(`+)(?:(?!\1).)+?\1', re.S)
_COMMAND = re.compile(r'(?:^|[\s/"\'=(])'
                      r'(tools/(\w+)\.py|deepdeblur_jax\.main|deepdeblur_jax/main\.py)'
                      r'(?=\s|$|["\')])')
_SEPARATOR = re.compile(r'\s(?:&&|\|\||;|\||>>?|2>&1|2>)(?:\s|$)|;\s|\s#')
_FLAG = re.compile(r'(?<![^\s"\'])(--?[A-Za-z][\w.-]*)(=\S*)?')


# --- Markdown ---------------------------------------------------------------------------------


def markdown_files(root: pathlib.Path = REPO) -> List[pathlib.Path]:
  """The documentation pages: *.md at the top, in bench/ and anywhere under docs/."""
  files = list(root.glob('*.md')) + list(root.glob('bench/*.md')) + list(root.glob('docs/**/*.md'))
  return sorted(set(files))


def split_markdown(text: str) -> Tuple[List[Tuple[int, str]], List[Tuple[int, str, List[str]]]]:
  """(prose lines as (line number, text), code blocks as (line number of the first code line,
  language, lines))."""
  prose, blocks = [], []
  fence, lang, start, body = None, '', 0, []
  for number, line in enumerate(text.splitlines(), 1):
    match = _FENCE.match(line)
    if fence is None:
      if match:
        fence, lang, start, body = match.group(2), match.group(3).lower(), number + 1, []
      else:
        prose.append((number, line))
    elif match and match.group(2).startswith(fence) and not match.group(3) and \
        line.strip() == match.group(2):
      blocks.append((start, lang, body))
      fence = None
    else:
      body.append(line)
  if fence is not None:
    blocks.append((start, lang, body))
  return prose, blocks


def heading_slugs(text: str) -> Set[str]:
  """GitHub's anchors of the headings of a Markdown page (ATX and setext), with -1, -2 ... for
  repeats, plus explicit HTML id/name anchors."""
  prose, _ = split_markdown(text)
  titles = []
  previous = None
  for number, line in prose:
    atx = re.match(r'^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$', line)
    if atx:
      titles.append(atx.group(1))
    elif previous is not None and previous[0] == number - 1 and previous[1].strip() and \
        re.match(r'^\s{0,3}(=+|-+)\s*$', line) and not re.match(r'^\s{0,3}[-*+]\s', previous[1]):
      titles.append(previous[1].strip())
    previous = (number, line)
  slugs, seen = set(), {}
  for title in titles:
    title = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', title)  # links and images: their text
    title = re.sub(r'<[^>]+>', '', title)  # HTML tags
    slug = re.sub(r'[^\w\- ]', '', title.strip().lower()).replace(' ', '-')
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    slugs.add(slug if count == 0 else f'{slug}-{count}')
  slugs.update(_HTML_ANCHOR.findall(text))
  return slugs


def link_targets(text: str) -> Iterator[Tuple[int, str]]:
  """(line number, target) of every link and image outside code."""
  prose, _ = split_markdown(text)
  for number, line in prose:
    line = _INLINE_CODE.sub(lambda m: ' ' * len(m.group(0)), line)
    targets = [m.group(1) for p in (_LINK, _IMAGE, _HTML_LINK) for m in p.finditer(line)]
    definition = _REF_DEF.match(line)
    if definition:
      targets.append(definition.group(1))
    for target in dict.fromkeys(targets):
      yield number, target


def check_links(page: pathlib.Path, root: pathlib.Path = REPO) -> List[str]:
  """Problems with the relative links of one page, as 'page:line: message'."""
  problems = []
  text = page.read_text(encoding='utf-8')
  name = page.relative_to(root).as_posix()
  for number, target in link_targets(text):
    if not target or re.match(r'^[a-z][a-z0-9+.-]*:', target, re.I) or target.startswith('//') \
        or '...' in target:
      continue  # a URL (http:, mailto:, ...) or a placeholder
    path_part, _, anchor = target.partition('#')
    path_part = urllib.parse.unquote(path_part.split('?')[0])
    if path_part:
      base = root if path_part.startswith('/') else page.parent
      resolved = (base / path_part.lstrip('/')).resolve()
      if root.resolve() not in resolved.parents and resolved != root.resolve():
        problems.append(f'{name}:{number}: link {target} leaves the repository')
        continue
      if not resolved.exists():
        problems.append(f'{name}:{number}: link {target}: no such file')
        continue
    else:
      resolved = page
    if anchor and resolved.suffix.lower() == '.md' and resolved.is_file():
      if urllib.parse.unquote(anchor).lower() not in heading_slugs(resolved.read_text('utf-8')):
        where = 'this page' if resolved == page else resolved.relative_to(root.resolve()).as_posix()
        problems.append(f'{name}:{number}: link {target}: no heading #{anchor} in {where}')
  return problems


# --- Commands ---------------------------------------------------------------------------------


def shell_lines(lang: str, lines: List[str]) -> Iterator[Tuple[int, str]]:
  """(offset in the block, command line) with `\\` continuation lines joined; in a block with
  `$ ` prompts only the prompted lines (the rest is output)."""
  if lang in _NOT_SHELL:
    return
  prompted = any(line.lstrip().startswith('$ ') for line in lines)
  current, first = None, 0
  for offset, line in enumerate(lines):
    stripped = line.strip()
    if current is None:
      if prompted:
        if not stripped.startswith('$ '):
          continue
        stripped = stripped[2:]
      current, first = '', offset
    continued = stripped.endswith('\\')
    current += ' ' + (stripped[:-1] if continued else stripped)
    if not continued:
      yield first, current
      current = None
  if current is not None:
    yield first, current


def commands(line: str) -> Iterator[Tuple[str, List[Tuple[str, Optional[str]]]]]:
  """(program, [(flag, value or None)]) of every tools/NAME.py or deepdeblur_jax.main command in
  one shell line; program is a tool name or 'main'. A flag's value is what follows `=` or, for a
  flag without `=`, the next word when it is no flag."""
  for match in _COMMAND.finditer(line):
    program = match.group(2) or 'main'
    rest = line[match.end():]
    end = _SEPARATOR.search(rest)
    words = rest[:end.start() if end else len(rest)].split()
    found = []
    for i, word in enumerate(words):
      flag = _FLAG.fullmatch(word.strip('"\''))
      if not flag:
        continue
      value = flag.group(2)[1:] if flag.group(2) else None
      if value is None and i + 1 < len(words) and not words[i + 1].startswith('-'):
        value = words[i + 1]
      found.append((flag.group(1), value))
    yield program, found


class _ParserCaught(BaseException):
  """Raised by a patched ArgumentParser.parse_args to hand the parser over."""

  def __init__(self, parser: argparse.ArgumentParser):
    super().__init__()
    self.parser = parser


@functools.lru_cache(maxsize=None)
def tool_options(name: str) -> Optional[frozenset]:
  """Every option string of tools/NAME.py's argparse parser, None when there is no such tool:
  the tool's main() runs until it parses its arguments, which hands the parser over instead."""
  path = REPO / 'tools' / f'{name}.py'
  if not path.is_file():
    return None
  saved_environ, saved_path = dict(os.environ), list(sys.path)
  original = argparse.ArgumentParser.parse_args

  def catch(self, *args, **kwargs):
    raise _ParserCaught(self)

  argparse.ArgumentParser.parse_args = catch
  try:
    spec = importlib.util.spec_from_file_location(f'doc_check_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main([])
  except _ParserCaught as caught:
    return frozenset(caught.parser._option_string_actions)  # pylint: disable=protected-access
  finally:
    argparse.ArgumentParser.parse_args = original
    os.environ.clear()
    os.environ.update(saved_environ)  # a tool may set JAX_PLATFORMS for itself on import
    sys.path[:] = saved_path
  raise AssertionError(f'tools/{name}.py main([]) returned without parsing arguments')


@functools.lru_cache(maxsize=None)
def main_flags() -> frozenset:
  """The flags `python -m deepdeblur_jax.main` accepts: its own, absl's, and --noFLAG for the
  booleans (`--config.FIELD` overrides are checked separately)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  import deepdeblur_jax.main  # pylint: disable=g-import-not-at-top,unused-import
  names = set()
  for name in flags.FLAGS:
    names.add(name)
    if flags.FLAGS[name].boolean:
      names.add('no' + name)
  return frozenset(names)


@functools.lru_cache(maxsize=None)
def load_config(path: str):
  """get_config() of a config file of the repository (its path relative to the root)."""
  spec = importlib.util.spec_from_file_location(f'doc_check_config_{abs(hash(path))}', REPO / path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _config_path(value: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
  """(config file relative to the root, problem) for the value of --config."""
  if value is None or '...' in value or value.startswith('$'):
    return 'configs/default.py', None
  value = value.strip('"\'').split(':')[0]
  match = re.search(r'(?:^|/)(configs/[\w/]+\.py)$', value)
  if match and (REPO / match.group(1)).is_file():
    return match.group(1), None
  if (REPO / value).is_file():
    return value, None
  if 'configs/' in value:
    return None, f'--config={value}: no such config file'
  return 'configs/default.py', None  # the reader's own file: check against the default


def config_field_problem(config, field: str) -> Optional[str]:
  """Why --config.FIELD names no field of `config`, or None (also for placeholders such as
  `...` or `FIELD.SUB`)."""
  if '...' in field or re.fullmatch(r'[A-Z_]+(\.[A-Z_]+)*', field):
    return None
  node = config
  parts = field.split('.')
  for i, part in enumerate(parts):
    if not hasattr(node, 'keys') or part not in node.keys():
      return f'no field config.{".".join(parts[:i + 1])}'
    node = node[part]
  return None


def check_command(program: str, flags_found: List[Tuple[str, Optional[str]]]) -> List[str]:
  """Problems with one command's flags."""
  problems = []
  if program == 'main':
    known = main_flags()
    config_value = next((v for f, v in flags_found if f == '--config'), None)
    config_file, problem = _config_path(config_value)
    if problem:
      problems.append(f'deepdeblur_jax.main {problem}')
    for flag, _ in flags_found:
      if flag.startswith('--config.'):
        if config_file is not None:
          problem = config_field_problem(load_config(config_file), flag[len('--config.'):])
          if problem:
            problems.append(f'deepdeblur_jax.main {flag}: {problem} in {config_file}')
      elif flag.lstrip('-') not in known:
        problems.append(f'deepdeblur_jax.main: no flag {flag}')
  else:
    options = tool_options(program)
    if options is None:
      return [f'tools/{program}.py: no such tool']
    for flag, _ in flags_found:
      if flag not in options:
        problems.append(f'tools/{program}.py: no option {flag}')
  return problems


def inline_code(prose: List[Tuple[int, str]]) -> Iterator[Tuple[int, str]]:
  """(line number, code) of the inline code spans of the prose; a span may continue on the next
  line of its paragraph (table rows are paragraphs of one line)."""
  paragraph: List[Tuple[int, str]] = []
  for number, line in prose + [(0, '')]:
    if line.strip() and (not paragraph or paragraph[-1][0] == number - 1):
      paragraph.append((number, line))
      continue
    if paragraph:
      text = '\n'.join(l for _, l in paragraph)
      for match in _INLINE_CODE.finditer(text):
        code = match.group(0).strip('`').replace('\n', ' ')
        yield paragraph[0][0] + text.count('\n', 0, match.start()), code
    paragraph = [(number, line)] if line.strip() else []


def check_commands(page: pathlib.Path, root: pathlib.Path = REPO) -> List[str]:
  """Problems with the tool and main commands in the code blocks and inline code of one page."""
  name = page.relative_to(root).as_posix()
  prose, blocks = split_markdown(page.read_text(encoding='utf-8'))
  lines = [(start + offset, line) for start, lang, body in blocks
           for offset, line in shell_lines(lang, body)]
  lines += list(inline_code(prose))
  problems = []
  for number, line in sorted(lines):
    for program, flags_found in commands(line):
      problems += [f'{name}:{number}: {p}' for p in check_command(program, flags_found)]
  return problems


def check_page(page: pathlib.Path, root: pathlib.Path = REPO) -> List[str]:
  return check_links(page, root) + check_commands(page, root)


# --- The repository's pages -------------------------------------------------------------------


def test_the_pages_exist():
  assert REPO / 'README.md' in markdown_files()


@pytest.mark.parametrize('page', [p.relative_to(REPO).as_posix() for p in markdown_files()])
def test_page_links_and_commands(page):
  problems = check_page(REPO / page)
  assert not problems, '\n'.join(problems)


# --- The checker itself -----------------------------------------------------------------------

PLANTED = '''# Guide

## Set-up: GPU & `jax[cuda12]`

See [the tools](tools/deblur.py), [data](docs/missing.md), ![picture](docs/nothing.png),
[set-up](#set-up-gpu--jaxcuda12), [bad anchor](#no-such-heading), [home](README.md#no-heading),
[![pic](docs/pic.png)](https://example.com/big.png)
[web](https://example.com/x.md), `[in code](not/checked.md)`, <img src="absent.png" width=10>
and [outside](../../outside.md). Inline: `python tools/export.py --workdir w
--output o --dtyp bfloat16`.

[ref]: gone.md

```bash
python tools/deblur.py --checkpoint ckpt --input photos/ --output out/ --compar \\
    --tile 512   # [--no-such-flag] in a comment is not checked
python tools/no_such_tool.py --x 1 && python tools/export.py --workdir w --output o --step 3
python -m deepdeblur_jax.main --config=configs/tiny.py --workdir=runs/t \\
    --config.model.n_feats=8 --config.model.n_feat=8 --config.bogus.deep=1 --nodistributed
python -m deepdeblur_jax.main ... --config.data.root=... --no_such_flag
python -m deepdeblur_jax.main --config=configs/nonexistent.py --workdir=w
```

```console
$ python tools/evaluate.py --data d --baseline --output r.json
output line mentioning tools/evaluate.py --not-a-command
```

```python
subprocess.run('python tools/deblur.py --not-shell')
```
'''


@pytest.fixture
def planted(tmp_path, monkeypatch):
  """A repository copy's worth of paths: README.md and tools/ of the real one, the planted page
  in docs/."""
  (tmp_path / 'docs').mkdir()
  (tmp_path / 'tools').mkdir()
  (tmp_path / 'tools' / 'deblur.py').write_text('')
  (tmp_path / 'README.md').write_text('# Home\n')
  page = tmp_path / 'docs' / 'guide.md'
  page.write_text(PLANTED.replace('(tools/', '(../tools/').replace('(README.md', '(../README.md'))
  return tmp_path, page


def test_checker_finds_each_planted_link_problem(planted):
  root, page = planted
  assert sorted(check_links(page, root)) == sorted([
      'docs/guide.md:5: link docs/missing.md: no such file',
      'docs/guide.md:5: link docs/nothing.png: no such file',
      'docs/guide.md:6: link #no-such-heading: no heading #no-such-heading in this page',
      'docs/guide.md:6: link ../README.md#no-heading: no heading #no-heading in README.md',
      'docs/guide.md:7: link docs/pic.png: no such file',
      'docs/guide.md:8: link absent.png: no such file',
      'docs/guide.md:9: link ../../outside.md leaves the repository',
      'docs/guide.md:12: link gone.md: no such file',
  ])


def test_checker_finds_each_planted_command_problem(planted):
  root, page = planted
  assert check_commands(page, root) == [
      'docs/guide.md:9: tools/export.py: no option --dtyp',
      'docs/guide.md:15: tools/deblur.py: no option --compar',
      'docs/guide.md:17: tools/no_such_tool.py: no such tool',
      'docs/guide.md:18: deepdeblur_jax.main --config.model.n_feat: no field config.model.n_feat '
      'in configs/tiny.py',
      'docs/guide.md:18: deepdeblur_jax.main --config.bogus.deep: no field config.bogus in '
      'configs/tiny.py',
      'docs/guide.md:20: deepdeblur_jax.main: no flag --no_such_flag',
      'docs/guide.md:21: deepdeblur_jax.main --config=configs/nonexistent.py: no such config file',
  ]


def test_heading_slugs_follow_github():
  text = ('# Set-up: GPU & `jax[cuda12]`\n## Results\n## Results\nPlain title\n-----\n'
          '### [Linked](x.md) *title*\n<a id="custom"></a>\n```\n# not a heading\n```\n')
  assert heading_slugs(text) == {'set-up-gpu--jaxcuda12', 'results', 'results-1', 'plain-title',
                                 'linked-title', 'custom'}


def test_command_parsing_joins_continuations_and_stops_at_separators():
  lines = ['python tools/export.py --workdir w \\', '    --output o  # --not-this',
           'echo tools/x.py', 'python -m deepdeblur_jax.main --config configs/tiny.py -v | tee l']
  parsed = [list(commands(line)) for _, line in shell_lines('bash', lines)]
  assert parsed == [
      [('export', [('--workdir', 'w'), ('--output', 'o')])],
      [('x', [])],
      [('main', [('--config', 'configs/tiny.py'), ('-v', None)])],
  ]
