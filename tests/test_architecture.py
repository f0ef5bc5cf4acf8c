"""The package's layout: stages import one way only, and programs import no program.

docs/architecture.md describes the stages; this keeps it true.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / 'stylexfer'
# Data-flow order: a module may import its own stage and earlier ones.
STAGES = ('atomic', 'reading', 'tokens', 'dataset', 'model', 'training', 'serving',
          'writers', 'api', 'studio', 'evaluation', 'programs')
# The TFDS builder (datasets/melodies, imported as stylexfer_datasets) is the dataset stage.
BUILDER = 'stylexfer_datasets'


def _stage(dotted):
  parts = dotted.split('.')
  if parts[0] == BUILDER:
    return 'dataset'
  return parts[1] if len(parts) > 1 else None


def _imports(path):
  """Every stylexfer module a file imports, at any depth (inside functions too)."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module:
      if node.module.split('.')[0] in ('stylexfer', BUILDER):
        found.update(f'{node.module}.{alias.name}' for alias in node.names)
    elif isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names
                   if alias.name.split('.')[0] in ('stylexfer', BUILDER))
  return found


def _modules():
  return sorted(p for p in PACKAGE.rglob('*.py') if 'pretrained' not in p.parts)


def test_every_module_is_in_a_stage():
  top = sorted(p.name for p in PACKAGE.glob('*.py'))
  assert top == ['__init__.py', 'atomic.py']
  for path in _modules():
    stage = path.relative_to(PACKAGE).parts[0].removesuffix('.py')
    assert stage in STAGES + ('__init__',), path


@pytest.mark.parametrize('path', _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
  own = path.relative_to(PACKAGE).parts[0].removesuffix('.py')
  if own == '__init__':
    return
  for imported in _imports(path):
    stage = _stage(imported)
    if stage is None or stage not in STAGES:
      continue
    assert STAGES.index(stage) <= STAGES.index(own), (
        f'{path.relative_to(PACKAGE)} ({own}) imports {imported} from the later stage {stage}')


def test_programs_import_no_program():
  helpers = {'common', 'shared_flags'}
  for path in (PACKAGE / 'programs').glob('*.py'):
    for imported in _imports(path):
      parts = imported.split('.')
      if parts[:2] == ['stylexfer', 'programs']:
        assert parts[-1] in helpers, f'{path.name} imports the program {imported}'


def test_no_import_cycles():
  graph = {}
  for path in _modules():
    name = '.'.join(('stylexfer',) + path.relative_to(PACKAGE).with_suffix('').parts)
    graph[name.removesuffix('.__init__')] = {
        i for i in _imports(path) if i.startswith('stylexfer.')}
  done, active = set(), []

  def visit(module):
    if module in active:
      pytest.fail('import cycle: ' + ' -> '.join(active[active.index(module):] + [module]))
    if module in done or module not in graph:
      return
    active.append(module)
    for imported in sorted(graph[module]):
      visit(imported)
    active.pop()
    done.add(module)

  for module in sorted(graph):
    visit(module)


def test_the_stage_check_catches_an_upward_import(tmp_path):
  bad = tmp_path / 'bad.py'
  bad.write_text('def f():\n  from stylexfer.programs import restyle\n')
  assert _stage(next(iter(_imports(bad)))) == 'programs'
