"""Bad output places and bad requests to the restyle program: a --out that is a file, has
no permission or fills the disk; flags out of range; a melody over the models' limit; a
damaged model folder. Each is one line on stderr and exit status 1, and leaves no partial
file.
"""

import errno
import io
import os
import re
import shutil
import sys
import threading
import time

from absl import flags
import numpy as np
import pytest
import tensorflow as tf

import breakage
import fixtures
from stylexfer import atomic
from stylexfer.writers import audio
from stylexfer.writers import render
from stylexfer.model import melody_model
from stylexfer.programs import restyle
from stylexfer.programs import common
from stylexfer.reading import melody as melody_lib
from stylexfer.serving import client

TINY = melody_model.preset('tiny')


@pytest.fixture
def keep_rhythm(monkeypatch):
  """The model hands back the melody's own rhythm: these tests are about the writing."""
  # (inter-onset durations, sounding lengths): each note sounds until the next.
  monkeypatch.setattr(client, 'restyle_durations',
                      lambda saved_model, pitches, durations, *args, **kwargs: (
                          list(durations), list(durations)))


def test_save_wav_on_a_full_disk_leaves_no_file(tmp_path, monkeypatch):
  def full(self, data):
    raise OSError(errno.ENOSPC, 'No space left on device')
  monkeypatch.setattr(audio.wave.Wave_write, 'writeframesraw', full)
  with pytest.raises(atomic.OutputError, match='tune.wav: cannot write'):
    audio.save_wav(np.zeros(1000), tmp_path / 'tune.wav')
  assert os.listdir(tmp_path) == []


def test_a_full_disk_names_the_file_not_its_temporary(tmp_path, monkeypatch):
  # The renderer hands the audio writer a temporary name, which it writes atomically too.
  def full(self, data):
    raise OSError(errno.ENOSPC, 'No space left on device')
  monkeypatch.setattr(audio.wave.Wave_write, 'writeframesraw', full)
  melody = melody_lib.Melody.from_durations([60, 62, 64, 65], [1, 1, 1, 1])
  with pytest.raises(atomic.OutputError) as raised:
    render.write_all(melody, str(tmp_path), 'tune', formats=('mid', 'wav'),
                     synthesizer='pluck')
  assert raised.value.strerror == (
      f'{tmp_path / "tune.wav"}: cannot write (no space left on the device)')
  assert raised.value.filename == str(tmp_path / 'tune.wav')
  assert sorted(os.listdir(tmp_path)) == ['tune.mid']


@pytest.fixture(scope='module')
def model_dir(tiny_genres):
  """Untrained tiny folk and jazz SavedModels under <dir>/<genre>/1/."""
  return tiny_genres


@pytest.fixture(scope='module')
def tune(tmp_path_factory):
  return fixtures.write_abc(str(tmp_path_factory.mktemp('inputs')))


def run_restyle(args, capsys):
  """Runs stylexfer-restyle's main on fresh flags; returns (status, stdout, stderr lines)."""
  flag_values = flags.FlagValues()
  restyle.define_flags(flag_values)
  flag_values(['program'] + list(args))
  status = restyle.main(['program'], flag_values)
  captured = capsys.readouterr()
  return status, captured.out, captured.err.strip().splitlines()


def _one_error(status, stdout, lines, message):
  assert status == 1
  assert len(lines) == 1, lines
  assert lines[0].startswith('stylexfer-restyle: error: '), lines
  assert message in lines[0], lines


def test_out_that_is_a_file_is_one_line(model_dir, tune, tmp_path, capsys, keep_rhythm):
  out = tmp_path / 'restyled'
  out.write_text('not a folder')
  _one_error(*run_restyle([f'--input={tune}', '--to=jazz', f'--models_dir={model_dir}',
                           f'--out={out}'], capsys), f'{out}: is a file, not a folder')
  assert out.read_text() == 'not a folder'


def test_out_without_permission_is_one_line(model_dir, tune, tmp_path, capsys, monkeypatch,
                                            keep_rhythm):
  # Root ignores file modes: refuse where the temporary output file is made.
  def refuse(*args, **kwargs):
    raise PermissionError(errno.EACCES, 'Permission denied')
  monkeypatch.setattr(atomic.tempfile, 'mkstemp', refuse)
  out = tmp_path / 'restyled'
  _one_error(*run_restyle([f'--input={tune}', '--to=jazz', f'--models_dir={model_dir}',
                           f'--out={out}'], capsys), 'cannot write (permission denied)')
  assert os.listdir(out) == []


def test_out_on_a_full_disk_leaves_no_partial_file(model_dir, tune, tmp_path, capsys,
                                                   monkeypatch, keep_rhythm):
  real_open = open

  class FullFile:
    def __init__(self, f):
      self.f = f

    def write(self, data):
      raise OSError(errno.ENOSPC, 'No space left on device')

    def __enter__(self):
      return self

    def __exit__(self, *exc):
      self.f.close()

  def full_open(path, mode='r', **kwargs):
    f = real_open(path, mode, **kwargs)
    return FullFile(f) if 'w' in mode and '.abc' in os.fspath(path) else f
  monkeypatch.setattr(atomic, 'open', full_open, raising=False)
  out = tmp_path / 'restyled'
  _one_error(*run_restyle([f'--input={tune}', '--to=jazz', f'--models_dir={model_dir}',
                           f'--out={out}'], capsys),
             'cannot write (no space left on the device)')
  written = sorted(os.listdir(out))
  assert not [name for name in written if name.endswith('.abc')]  # no 0-byte .abc
  assert not breakage.leftovers(out)
  assert written and all(os.path.getsize(out / name) > 0 for name in written)


@pytest.mark.slow
@breakage.needs_tmpfs
def test_restyle_on_a_real_full_disk(tune, tmp_path):
  mount = tmp_path / 'disk'
  # The shipped models: a program in another process.
  done = breakage.on_tmpfs('64k', f'{sys.executable} -m stylexfer.programs.restyle '
                           f'--input={tune} --to=jazz --synthesizer=pluck --out={mount}/out; '
                           f'echo rc=$?; ls -la {mount}/out', mount)
  assert 'rc=1' in done.stdout, done.stdout + done.stderr[-3000:]
  # The program's error line, and besides it only TensorFlow's start-up notices (which
  # TensorFlow 2.21 writes whatever TF_CPP_MIN_LOG_LEVEL says).
  lines = done.stderr.strip().splitlines()
  errors = [line for line in lines if line.startswith('stylexfer-')]
  assert len(errors) == 1 and 'no space left on the device' in errors[0], done.stderr[-3000:]
  notices = [line for line in lines if line not in errors]
  assert all(re.match(r'I\d{4} |WARNING: All log messages before absl::InitializeLog\(\)',
                      line) for line in notices), done.stderr[-3000:]
  assert 'Traceback' not in done.stderr
  assert 'partial' not in done.stdout
  assert not [line for line in done.stdout.splitlines() if line.split()[4:5] == ['0']]


BAD_FLAGS = [
    (['--seed=18446744073709551616'], '--seed must be a 64-bit integer'),
    (['--seed=-9223372036854775809'], '--seed must be a 64-bit integer'),
    (['--tempo=inf'], '--tempo must be between 20 and 400 quarter notes a minute, got inf'),
    (['--tempo=nan'], '--tempo must be between 20 and 400'),
    (['--tempo=0.0001'], '--tempo must be between 20 and 400'),
    (['--tempo=1000'], '--tempo must be between 20 and 400'),
    (['--temperature=inf'], '--temperature must be a finite number >= 0.001'),
    (['--temperature=1e-30'], '--temperature must be a finite number >= 0.001'),
]


@pytest.mark.parametrize('args,message', BAD_FLAGS, ids=[a[0] for a, _ in BAD_FLAGS])
def test_out_of_range_flags_are_one_line(model_dir, tune, tmp_path, capsys, args, message):
  _one_error(*run_restyle([f'--input={tune}', '--to=jazz', f'--models_dir={model_dir}',
                           f'--out={tmp_path}'] + args, capsys), message)
  assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_the_limit_of_4096_notes_and_how_to_cut_the_melody(tmp_path, capsys):
  notes = ''.join('CDEFGABc'[i % 8] for i in range(4200))
  body = '|'.join(notes[i:i + 8] for i in range(0, len(notes), 8))
  long_tune = fixtures.write_abc(str(tmp_path), 'long.abc',
                                 f'X:1\nT:Long\nM:4/4\nL:1/8\nK:C\n{body}|]\n')
  _one_error(*run_restyle([f'--input={long_tune}', '--to=jazz', f'--out={tmp_path / "out"}'],
                          capsys),
             'the melody has 4200 notes and a model restyles at most 4096 at once: pass a '
             'shorter excerpt')
  # Refused before anything is written: no .before.* files are left behind.
  assert not (tmp_path / 'out').exists() or not any((tmp_path / 'out').iterdir())
  reel = fixtures.write_abc(str(tmp_path))
  _one_error(*run_restyle([f'--input={reel}', f'--like={long_tune}', '--to=jazz',
                           f'--out={tmp_path / "like"}'], capsys),
             f'the --like melody {long_tune} has 4200 notes')
  assert not (tmp_path / 'like').exists() or not any((tmp_path / 'like').iterdir())


def test_one_line_gives_the_assertion_of_a_refused_request():
  message = ('Graph execution error:\n\nDetected at node assert_positive/Assert defined at '
             '(most recent call last):\n<stack traces unavailable>\nassertion failed: '
             '[temperature must be > 0.  ] [Condition x > 0 did not hold element-wise:] '
             '[x (temperature:0) = ] [-1]\n\t [[{{node Assert}}]] [Op:__inference_x_1]')
  error = tf.errors.InvalidArgumentError(None, None, message)
  assert common.one_line(error) == 'temperature must be > 0'
  limit = ('Graph execution error:\n\nDetected at node assert_less_equal_2/Assert/Assert '
           'defined at (most recent call last):\n<stack traces unavailable>\nassertion '
           'failed: [a melody must have at most 4096 notes] [Condition x <= y did not hold '
           'element-wise:] [x (strided_slice_8:0) = ] [5000] [y (assert_less_equal_2/y:0) = ] '
           '[4096]\n\t [[{{node assert_less_equal_2/Assert/Assert}}]] [Op:__inference_x_7]')
  assert common.one_line(tf.errors.InvalidArgumentError(None, None, limit)).startswith(
      'the melody has 5000 notes and a model restyles at most 4096 at once: pass a shorter '
      'excerpt')
  current = ('Graph execution error:\n\nDetected at node Assert_7 defined at (most recent '
             'call last):\n<stack traces unavailable>\nassertion failed: [a melody must have '
             'at most 4096 notes] [5001]\n\t [[{{node Assert_7}}]] [Op:__inference_x_7]')
  assert common.one_line(tf.errors.InvalidArgumentError(None, None, current)).startswith(
      'the melody has 5001 notes and a model restyles at most 4096 at once')
  assert common.one_line(ValueError('two\n  lines')) == 'two lines'


MODEL_DAMAGE = {
    'garbled saved_model.pb': (lambda d: breakage.garble(d / 'saved_model.pb'),
                               'saved_model.pb cannot be read'),
    'empty saved_model.pb': (lambda d: breakage.empty(d / 'saved_model.pb'),
                             'saved_model.pb cannot be read'),
    'no variables': (lambda d: shutil.rmtree(d / 'variables'),
                     'its variables/ folder is missing'),
    'truncated variables': (
        lambda d: breakage.truncate(d / 'variables' / 'variables.data-00000-of-00001'),
        'its variables are missing or damaged'),
    'missing variables index': (lambda d: os.remove(d / 'variables' / 'variables.index'),
                                'its variables are missing or damaged'),
}


@pytest.mark.parametrize('damage', sorted(MODEL_DAMAGE))
def test_a_broken_model_folder_is_named(model_dir, tune, tmp_path, capsys, damage):
  broken = tmp_path / 'models'
  shutil.copytree(model_dir, broken)
  version = broken / 'jazz' / '1'
  spoil, message = MODEL_DAMAGE[damage]
  spoil(version)
  _one_error(*run_restyle([f'--input={tune}', '--to=jazz', f'--models_dir={broken}',
                           f'--out={tmp_path / "out"}'], capsys),
             f'the model folder {version} is broken: {message}')


def test_one_process_at_a_time_holds_a_folder(tmp_path):
  order, waited = [], []

  def hold(name, pause):
    with atomic.locked(str(tmp_path), waiting=lambda: waited.append(name)):
      order.append(f'{name} in')
      time.sleep(pause)
      order.append(f'{name} out')

  first = threading.Thread(target=hold, args=('first', 0.5))
  first.start()
  while not order:
    time.sleep(0.01)
  hold('second', 0)
  first.join()
  assert order == ['first in', 'first out', 'second in', 'second out']
  assert waited == ['second'] and os.listdir(tmp_path) == []  # no lock file left


def test_two_restyles_into_one_folder_write_one_set_each(model_dir, tune, tmp_path,
                                                         monkeypatch, keep_rhythm):
  # Two restyles at two tempos, which every format writes: each writes its set whole
  # before the other starts, so the folder ends with one restyle's set, not a mix.
  writes, real_write_all = [], render.write_all

  def write_all(melody, out_dir, stem, **keywords):
    started = time.monotonic()
    written = real_write_all(melody, out_dir, stem, **keywords)
    writes.append((keywords['tempo'], started, time.monotonic()))
    return written
  monkeypatch.setattr(render, 'write_all', write_all)
  out = tmp_path / 'restyled'

  def restyle_at(tempo):
    flag_values = flags.FlagValues()
    restyle.define_flags(flag_values)
    flag_values(['program', f'--input={tune}', '--to=jazz', f'--models_dir={model_dir}',
                 f'--out={out}', f'--tempo={tempo}', '--synthesizer=pluck'])
    restyle.restyle_file(flag_values, out=io.StringIO(), err=io.StringIO())

  runs = [threading.Thread(target=restyle_at, args=(tempo,)) for tempo in (90, 150)]
  for run in runs:
    run.start()
  for run in runs:
    run.join()
  assert sorted(tempo for tempo, _, _ in writes) == [90, 90, 150, 150]
  spans = {tempo: (min(s for t, s, _ in writes if t == tempo),
                   max(e for t, _, e in writes if t == tempo)) for tempo in (90, 150)}
  (_, first_end), (second_start, _) = sorted(spans.values())
  assert first_end <= second_start
  # The fixture tune is a jig: its tempo is written in dotted quarters (150 is 100).
  last = round(max(spans, key=lambda tempo: spans[tempo][1]) / 1.5)
  for name in os.listdir(out):
    if name.endswith('.abc'):
      assert f'Q:3/8={last}' in (out / name).read_text(), name
    elif name.endswith('.musicxml'):
      assert f'<per-minute>{last}</per-minute>' in (out / name).read_text(), name
