"""What the programs musicians open ABC and MusicXML with say about a file.

ABC goes to abc2midi and abcm2ps (Debian's `abcmidi` and `abcm2ps`) and to abcjs, the
renderer most web pages use (npm's `abcjs`, in Node: its parser's warnings); MusicXML to
MuseScore 3 (`mscore3`, converting it to its own format) and LilyPond (`musicxml2ly`, then
`lilypond`). `messages(path)` runs each and returns what they said beyond their usual
progress lines: a file a musician can open without a message gives none.
"""

import concurrent.futures
import os
import re
import shutil
import subprocess
import tempfile

ABC_PROGRAMS = ('abc2midi', 'abcm2ps', 'abcjs')
MUSICXML_PROGRAMS = ('mscore3', 'lilypond')
# What a program prints on every file it reads well: not a message about the file.
_PROGRESS = re.compile(
    r'^(writing MIDI file|\d+\.\d+ \w+ \d+ \d+ abc2midi|abcm2ps-[\d.]+ |File |Output written'
    r'|QStandardPaths: |convert <|\tto <|\.\.\. success|musicxml2ly: (Reading|Converting|'
    r'Output)|$)')
# abcjs's parser run in Node; the module is found on NODE_PATH.
_ABCJS = '''
const abcjs = require('abcjs');
const text = require('fs').readFileSync(process.argv[1], 'utf8');
for (const tune of abcjs.parseOnly(text))
  for (const warning of tune.warnings || []) console.log(warning.replace(/<[^>]+>/g, ''));
'''
TIMEOUT = 120  # seconds a program may take on one file


class MissingProgramError(RuntimeError):
  """A notation program is not installed."""


def missing(programs, node_path=None):
  """The programs of `programs` that cannot be run here (abcjs: Node or its module)."""
  absent = []
  for program in programs:
    if program == 'abcjs':
      found = shutil.which('node') and subprocess.run(
          ['node', '-e', "require('abcjs')"], env=_node_env(node_path),
          capture_output=True, check=False).returncode == 0
    elif program == 'lilypond':
      found = shutil.which('lilypond') and shutil.which('musicxml2ly')
    else:
      found = shutil.which(program)
    if not found:
      absent.append(program)
  return absent


def _node_env(node_path):
  env = dict(os.environ)
  if node_path:
    env['NODE_PATH'] = os.pathsep.join(filter(None, [os.path.abspath(node_path),
                                                    env.get('NODE_PATH')]))
  return env


def _run(argv, cwd, env=None):
  try:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          errors='replace', timeout=TIMEOUT, check=False)
  except FileNotFoundError as error:
    raise MissingProgramError(f'{argv[0]} is not installed') from error
  except subprocess.TimeoutExpired:
    return [f'{argv[0]}: no answer within {TIMEOUT} s']
  lines = [line for line in (done.stdout + done.stderr).splitlines()
           if not _PROGRESS.match(line)]
  if done.returncode and not lines:
    lines.append(f'{argv[0]}: exit status {done.returncode}')
  return lines


def program_messages(program, path, node_path=None):
  """What one program says about the file at `path`: a list of lines, empty when clean."""
  path = os.path.abspath(path)
  with tempfile.TemporaryDirectory(prefix='stylexfer-check-') as scratch:
    if program == 'abc2midi':
      return _run(['abc2midi', path, '-o', os.path.join(scratch, 'out.mid')], scratch)
    if program == 'abcm2ps':
      return _run(['abcm2ps', path, '-O', os.path.join(scratch, 'out.ps')], scratch)
    if program == 'abcjs':
      return _run(['node', '-e', _ABCJS, path], scratch, _node_env(node_path))
    if program == 'mscore3':
      return convert_with_musescore(path, os.path.join(scratch, 'out.mscx'))
    if program == 'lilypond':
      converted = os.path.join(scratch, 'out.ly')
      said = _run(['musicxml2ly', '-o', converted, path], scratch)
      if not os.path.exists(converted):
        return said or ['musicxml2ly: wrote nothing']
      return said + _run(['lilypond', '-s', '-o', os.path.join(scratch, 'out'), converted],
                         scratch)
  raise ValueError(f'unknown notation program {program!r}')


def convert_with_musescore(source, target):
  """Has MuseScore 3 convert a file (its format by its suffix: .mid, .musicxml, ...), as a
  user exporting from MuseScore would; returns what it said."""
  with tempfile.TemporaryDirectory(prefix='stylexfer-musescore-') as scratch:
    env = dict(os.environ, QT_QPA_PLATFORM='offscreen', XDG_RUNTIME_DIR=scratch)
    return _run(['mscore3', '-o', os.path.abspath(target), os.path.abspath(source)],
                scratch, env)


# Where a message says it is: file, line and column, not what it says.
_POSITION = re.compile(r'^(?:\S+:\d+:\d+: |(?:Error|Warning) in line-char \d+-\d+ : |'
                       r'Music Line:\d+:\d+: )')


def _what(line):
  # (MuseScore names objects by their address, which changes from run to run.)
  return re.sub(r'0x[0-9a-f]+', '0x', _POSITION.sub('', line).split(':  ')[0].strip())


def not_caused_by(said, input_said):
  """The lines of `said` (about a written file) that its input did not make the same
  program say too: the messages the writing is to blame for."""
  known = {_what(line) for line in input_said}
  return [line for line in said if _what(line) not in known]


def programs_for(path):
  """The programs a file goes to, by its suffix."""
  suffix = os.path.splitext(str(path))[1].lower()
  if suffix == '.abc':
    return ABC_PROGRAMS
  if suffix in ('.musicxml', '.xml'):
    return MUSICXML_PROGRAMS
  raise ValueError(f'{path}: no notation program reads this format')


def messages(path, node_path=None):
  """{program: [lines]} for every program that reads the file's format."""
  return {program: program_messages(program, path, node_path)
          for program in programs_for(path)}


def acceptance(files, inputs=None, node_path=None, workers=2):
  """{kind: {program: share of files it reads without a message}} over files by kind.

  `files` maps a kind ('restyled:folk>jazz@1 MusicXML', ...) to paths; `inputs` maps a
  path to the file it was written from, whose own messages are then not counted against
  it (a second share, under '<program> (not from the input)').
  """
  inputs = inputs or {}
  jobs = [(kind, path, program) for kind, paths in files.items() for path in paths
          for program in programs_for(path)]
  with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
    said = list(pool.map(lambda job: program_messages(job[2], job[1], node_path), jobs))
    before = {}
    for (_, path, program), lines in zip(jobs, said):
      if lines and path in inputs and (inputs[path], program) not in before:
        before[inputs[path], program] = program_messages(program, inputs[path], node_path)
  shares = {}
  for (kind, path, program), lines in zip(jobs, said):
    found = shares.setdefault(kind, {})
    found.setdefault(program, []).append(not lines)
    if path in inputs:
      own = not_caused_by(lines, before.get((inputs[path], program), [])) if lines else []
      found.setdefault(f'{program} (not from the input)', []).append(not own)
  return {kind: {program: sum(clean) / len(clean) for program, clean in found.items()}
          for kind, found in shares.items()}
