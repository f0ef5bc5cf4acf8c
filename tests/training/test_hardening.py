"""Bad inputs and bad disks: damaged checkpoints and models, full or unwritable folders,
out-of-range flags, oversized or truncated melody files.

Each case is one that once gave a traceback, a crash or a silently wrong result; fixture
files are written here. A full disk is simulated by raising ENOSPC at the narrowest place,
and, where the machine allows a private mount namespace, by a real 1-page tmpfs.
"""

import dataclasses
import errno
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import breakage
import fixtures
from stylexfer import atomic
from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.reading import score_reader
from stylexfer.model import melody_model
from stylexfer.dataset import windows
from stylexfer.training import checkpoints
from stylexfer.training import config as config_lib
from stylexfer.training import files
from stylexfer.training import loop
from stylexfer.training import task as task_lib

TINY = melody_model.preset('tiny')
QUICK = config_lib.TrainingConfig(
    epochs=3, batch_size=8, learning_rate=1e-2, lr_schedule='constant', patience=0)
MELODIES = windows.synthetic_melodies(8, seed=0, max_notes=60)
VALIDATION = windows.synthetic_melodies(2, seed=1, max_notes=60)


# Training: damaged checkpoints.

@pytest.fixture(scope='module')
def trained_run(tmp_path_factory):
  """A finished 3-epoch run: checkpoints ckpt-2 and ckpt-3."""
  folder = tmp_path_factory.mktemp('run')
  loop.train(TINY, MELODIES, VALIDATION, str(folder), QUICK, verbose=0)
  return folder


DAMAGE = {
    'garbled data': lambda d: breakage.garble(d / 'ckpt-3.data-00000-of-00001'),
    'truncated data': lambda d: breakage.truncate(d / 'ckpt-3.data-00000-of-00001'),
    'empty data': lambda d: breakage.empty(d / 'ckpt-3.data-00000-of-00001'),
    'missing data': lambda d: os.remove(d / 'ckpt-3.data-00000-of-00001'),
    'garbled index': lambda d: breakage.garble(d / 'ckpt-3.index'),
    'empty index': lambda d: breakage.empty(d / 'ckpt-3.index'),
}


@pytest.mark.parametrize('damage', sorted(DAMAGE))
def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(trained_run, tmp_path,
                                                                  damage, caplog):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  DAMAGE[damage](run / 'checkpoints')
  epochs_run = []
  with caplog.at_level(logging.WARNING):
    model, metrics = loop.train(
        TINY, MELODIES, VALIDATION, str(run), dataclasses.replace(QUICK, epochs=4),
        on_epoch_end=lambda epoch, logs: epochs_run.append(epoch), verbose=0)
  assert epochs_run == [3, 4]  # one epoch lost, not the run
  assert [entry['epoch'] for entry in metrics['epochs']] == [1, 2, 3, 4]
  warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
  assert any('ckpt-3 is damaged' in w for w in warnings), warnings
  assert any('Fell back' in w and 'ckpt-2' in w for w in warnings), warnings
  del model
  # The checkpoints left behind read back.
  for prefix in checkpoints.newest_first(str(run / 'checkpoints')):
    tf.train.load_checkpoint(prefix)


def test_the_fallback_restores_the_older_checkpoint_whole(trained_run, tmp_path):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  breakage.garble(run / 'checkpoints' / 'ckpt-3.data-00000-of-00001')
  # Nothing left to train: the returned model is the restored one.
  two_epochs = dataclasses.replace(QUICK, epochs=2)
  model, metrics = loop.train(TINY, MELODIES, VALIDATION, str(run), two_epochs,
                              verbose=0)
  assert metrics['completed_epochs'] == 2
  expected = melody_model.build_model(TINY)
  tf.train.Checkpoint(model=expected).restore(
      str(run / 'checkpoints' / 'ckpt-2')).expect_partial()
  for restored, saved in zip(model.get_weights(), expected.get_weights()):
    np.testing.assert_array_equal(restored, saved)


@pytest.mark.parametrize('damage', ['garbled', 'missing'])
def test_a_damaged_checkpoint_state_file_resumes_from_the_newest_checkpoint(
    trained_run, tmp_path, damage):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  state = run / 'checkpoints' / 'checkpoint'
  breakage.garble(state) if damage == 'garbled' else os.remove(state)
  epochs_run = []
  four = dataclasses.replace(QUICK, epochs=4)
  loop.train(TINY, MELODIES, VALIDATION, str(run), four,
             on_epoch_end=lambda epoch, logs: epochs_run.append(epoch), verbose=0)
  assert epochs_run == [4]  # before: started over from epoch 1, silently
  # The state file was rewritten, so the manager keeps two checkpoints, not every one.
  assert tf.train.get_checkpoint_state(str(run / 'checkpoints')) is not None
  assert sorted(p.name for p in (run / 'checkpoints').glob('*.index')) == [
      'ckpt-3.index', 'ckpt-4.index']


def test_no_intact_checkpoint_is_a_clear_error(trained_run, tmp_path):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  for number in (2, 3):
    breakage.truncate(run / 'checkpoints' / f'ckpt-{number}.data-00000-of-00001')
  with pytest.raises(files.TrainingError,
                     match='no checkpoint in .* reads back .*move that folder away'):
    loop.train(TINY, MELODIES, VALIDATION, str(run), QUICK, verbose=0)


# Training: folders that cannot be written, full disks.

def test_a_model_dir_that_is_a_file_or_under_one_fails_cleanly(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  with pytest.raises(files.TrainingError, match=f'{blocker}: it is a file'):
    loop.train(TINY, MELODIES, None, str(blocker), QUICK, verbose=0)
  with pytest.raises(files.TrainingError,
                     match=f'cannot write to the run folder {blocker}/run: '):
    loop.train(TINY, MELODIES, None, str(blocker / 'run'), QUICK, verbose=0)


def test_a_model_dir_without_permission_fails_cleanly(tmp_path, monkeypatch):
  # Root ignores file modes, so refuse the write where TensorFlow makes the folder.
  def refuse(path):
    raise tf.errors.PermissionDeniedError(None, None, f'{path}; Permission denied')
  monkeypatch.setattr(tf.io.gfile, 'makedirs', refuse)
  with pytest.raises(files.TrainingError,
                     match=f'cannot write to the run folder {tmp_path}/run: '
                           'Permission denied$'):
    loop.train(TINY, MELODIES, None, str(tmp_path / 'run'), QUICK, verbose=0)


class _FullDiskGFile(tf.io.gfile.GFile):
  """A GFile whose writes to one file name fail as on a full disk."""
  victim = None

  def write(self, data):
    if os.path.basename(self.name).startswith(self.victim):
      raise tf.errors.ResourceExhaustedError(
          None, None, f'{self.name}; No space left on device')
    return super().write(data)


@pytest.mark.parametrize('victim', ['model.keras', 'best.weights.h5', 'metrics.json'])
def test_a_full_disk_keeps_the_last_good_checkpoint_and_no_partial_file(
    trained_run, tmp_path, monkeypatch, victim):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  before = {name: (run / name).read_bytes() for name in ('model.keras', 'best.weights.h5')}
  monkeypatch.setattr(_FullDiskGFile, 'victim', victim)
  monkeypatch.setattr(tf.io.gfile, 'GFile', _FullDiskGFile)
  four = dataclasses.replace(QUICK, epochs=4)
  with pytest.raises(files.TrainingError) as raised:
    loop.train(TINY, MELODIES, VALIDATION, str(run), four, verbose=0)
  message = str(raised.value)
  assert f'cannot write {run}/{victim}' in message and 'No space left on device' in message
  assert 'checkpoint' in message  # says what is kept
  assert not breakage.leftovers(run) and not breakage.leftovers(run / 'checkpoints')
  # The old files are whole: the failed write went to a temporary name.
  for name, data in before.items():
    if name == victim:
      assert (run / name).read_bytes() == data
  latest = tf.train.latest_checkpoint(str(run / 'checkpoints'))
  tf.train.load_checkpoint(latest)


def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(
    trained_run, tmp_path, monkeypatch):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  def full(self, checkpoint_number=None, **kwargs):
    os.makedirs(os.path.join(self.directory, f'ckpt-{checkpoint_number}_temp'))
    raise tf.errors.ResourceExhaustedError(
        None, None, '{{function_node SaveV2}} ckpt-4_temp/part-00000; No space left on '
        'device [Op:SaveV2]')
  monkeypatch.setattr(tf.train.CheckpointManager, 'save', full)
  four = dataclasses.replace(QUICK, epochs=4)
  with pytest.raises(files.TrainingError,
                     match=r'cannot write the epoch 4 checkpoint in .*: No space left on '
                           r'device; the last good checkpoint, .*ckpt-3, is kept'):
    loop.train(TINY, MELODIES, VALIDATION, str(run), four, verbose=0)
  assert not breakage.leftovers(run / 'checkpoints')
  assert tf.train.latest_checkpoint(str(run / 'checkpoints')).endswith('ckpt-3')


def _poison(model):
  weight = model.trainable_variables[0]
  weight.assign(np.full(weight.shape, np.nan, np.float32))


@pytest.mark.parametrize('where', ['loss', 'weights'])
def test_nan_stops_training_and_keeps_the_last_good_checkpoint(trained_run, tmp_path,
                                                               monkeypatch, where):
  run = tmp_path / 'run'
  shutil.copytree(trained_run, run)
  before = {name: (run / name).read_bytes() for name in ('model.keras', 'best.weights.h5')}
  if where == 'loss':  # NaN weights before epoch 4's first step: its loss is NaN
    train_step = task_lib.Task.train_step
    def poisoned(task, iterator):
      _poison(task.model)
      return train_step(task, iterator)
    monkeypatch.setattr(task_lib.Task, 'train_step', poisoned)
    match = r'the loss became nan at step 1 in epoch 4'
  else:  # after its last step: the losses are finite, and no validation sees them
    train_epoch = loop._train_epoch  # pylint: disable=protected-access
    def poisoned(task, *args):
      logs = train_epoch(task, *args)
      _poison(task.model)
      return logs
    monkeypatch.setattr(loop, '_train_epoch', poisoned)
    match = r'the weights of .* became NaN or infinite in epoch 4'
  with pytest.raises(files.TrainingError,
                     match=match + r', so training stopped .*nothing of epoch 4 is saved; '
                           r'the last good checkpoint, .*ckpt-3, is kept'):
    loop.train(TINY, MELODIES, VALIDATION if where == 'loss' else None, str(run),
               dataclasses.replace(QUICK, epochs=5), verbose=0)
  # Before, epochs 4 and 5 were saved with NaN weights, and model.keras with them.
  assert tf.train.latest_checkpoint(str(run / 'checkpoints')).endswith('ckpt-3')
  assert not (run / 'checkpoints' / 'ckpt-4.index').exists()
  for name, data in before.items():
    assert (run / name).read_bytes() == data


def test_final_and_best_weights_are_written_whole(trained_run):
  final = keras.models.load_model(trained_run / 'model.keras')
  assert zipfile.is_zipfile(trained_run / 'model.keras')
  best = melody_model.build_model(TINY)
  best.load_weights(trained_run / 'best.weights.h5')
  # With a falling validation loss the best epoch is the last: both hold its weights.
  for a, b in zip(final.get_weights(), best.get_weights()):
    np.testing.assert_array_equal(a, b)
  assert not breakage.leftovers(trained_run)


def _train_command(model_dir, epochs=3):
  return (f'{sys.executable} -m stylexfer.programs.train --synthetic=8 --preset=tiny '
          f'--epochs={epochs} --batch_size=8 --run_dir={model_dir}')


@pytest.mark.slow
def test_command_line_training_into_a_file_is_one_line(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('x')
  done = subprocess.run(_train_command(blocker).split(), capture_output=True, text=True,
                        env=breakage.subprocess_env(), cwd=breakage.REPO, timeout=300, check=False)
  assert done.returncode == 1
  errors = [line for line in done.stderr.splitlines() if line.startswith('stylexfer-')]
  assert errors == [f'stylexfer-train: error: cannot write to the run folder {blocker}: '
                    'it is a file'], done.stderr[-3000:]
  assert 'Traceback' not in done.stderr


@pytest.mark.slow
@breakage.needs_tmpfs
@pytest.mark.parametrize('size', ['40k', '300k'])
def test_command_line_training_on_a_full_disk_ends_cleanly(tmp_path, size):
  # 40k fills up inside HDF5's write of best.weights.h5 (once a segmentation fault);
  # 300k while saving the second checkpoint.
  mount = tmp_path / 'disk'
  done = breakage.on_tmpfs(size, _train_command(mount / 'run') + f'; echo rc=$?; '
                           f'ls {mount}/run {mount}/run/checkpoints', mount)
  assert 'rc=1' in done.stdout, done.stdout + done.stderr[-3000:]
  assert 'Segmentation fault' not in done.stderr and 'Traceback' not in done.stderr
  errors = [line for line in done.stderr.splitlines() if line.startswith('stylexfer-train:')]
  assert len(errors) == 1 and 'No space left on device' in errors[0], done.stderr[-3000:]
  assert 'partial' not in done.stdout and '_temp' not in done.stdout
  if size == '300k':
    assert 'the last good checkpoint' in errors[0] and 'ckpt-1' in done.stdout


# Atomic outputs.

def test_atomic_write_replaces_whole_or_leaves_the_old_file(tmp_path):
  path = tmp_path / 'tune.abc'
  atomic.write_text(path, 'X:1\n')
  assert path.read_text() == 'X:1\n'
  assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~atomic._umask())
  with pytest.raises(RuntimeError):
    with atomic.open_for_write(path, 'w') as f:
      f.write('half a tune')
      raise RuntimeError('killed')
  assert path.read_text() == 'X:1\n'
  assert os.listdir(tmp_path) == ['tune.abc']


def test_atomic_write_on_a_full_disk_names_the_file(tmp_path):
  path = tmp_path / 'tune.wav'
  with pytest.raises(atomic.OutputError, match=f'{path}: cannot write '
                                               r'\(no space left on the device\)'):
    with atomic.replace_with(path) as temporary:
      assert temporary.endswith('.wav') and os.path.dirname(temporary) == str(tmp_path)
      raise OSError(errno.ENOSPC, 'No space left on device', temporary)
  assert os.listdir(tmp_path) == []


def test_atomic_write_over_a_folder_and_discard(tmp_path):
  (tmp_path / 'tune.mid').mkdir()
  with pytest.raises(atomic.OutputError, match='a folder of that name is in the way'):
    atomic.write_bytes(tmp_path / 'tune.mid', b'MThd')
  with atomic.replace_with(tmp_path / 'tune.png') as temporary:
    raise atomic.Discard
  assert sorted(os.listdir(tmp_path)) == ['tune.mid'] and not os.path.exists(temporary)


# Readers: files that read back wrong without a word.

@pytest.mark.parametrize('share', [0.6, 0.8, 0.95])
def test_a_truncated_midi_file_warns_how_many_notes_it_read(tmp_path, share):
  whole = fixtures.write_score(str(tmp_path / 'whole.mid'), chords=())
  data = open(whole, 'rb').read()
  assert score_reader.midi_truncation(whole) is None
  assert not score_reader.read_score(whole).warnings
  cut = tmp_path / 'cut.mid'
  cut.write_bytes(data[:int(len(data) * share)])
  melody = score_reader.read_score(str(cut))
  assert 0 < len(melody) < len(fixtures.SCORE_PITCHES)
  assert melody.counts[melody_lib.TRUNCATED_MIDI] == 1
  assert melody.warnings == [
      f'warning: {cut}: the MIDI file is cut short ({score_reader.midi_truncation(str(cut))}); '
      f'read the {len(melody)} notes before the cut, the rest is missing']


def test_a_midi_file_cut_before_its_first_note_says_so(tmp_path):
  data = open(fixtures.write_score(str(tmp_path / 'whole.mid'), chords=()), 'rb').read()
  cut = tmp_path / 'cut.mid'
  cut.write_bytes(data[:int(len(data) * 0.4)])
  with pytest.raises(melody_lib.NoNotesError, match='cut short .* before its first note'):
    score_reader.read_score(str(cut))


@pytest.mark.parametrize('key,unknown', [
    ('Xyz', ['Xyz']), ('H', ['H']), ('Xyz ^f', ['Xyz ^f']),
    ('G', []), ('Dmix', []), ('Am', []), ('F#m', []), ('Bb', []), ('E dorian', []),
    ('Gmajor', []), ('none', []), ('Hp', []), ('C clef=bass', []), ('^f _b', []),
    ('clef=treble', []), ('', []), ('D % a comment', [])])
def test_unknown_abc_keys(key, unknown):
  assert abc_reader.unknown_abc_keys(f'X:1\nT:t\nK:{key}\nabc|\n') == unknown


def test_an_unknown_abc_key_warns(tmp_path):
  path = fixtures.write_abc(str(tmp_path), 'odd.abc',
                            'X:1\nT:Odd\nM:4/4\nL:1/8\nK:Xyz\nABcd efga|[K:Qq]gfed cBAG|]\n')
  melody, = abc_reader.read_abc(path)
  assert melody.counts[melody_lib.UNKNOWN_KEYS] == 2
  assert melody.warnings == [
      f"warning: {path}: tune X:1 'Odd' has an unknown key K:{name} (read as C major, no "
      'sharps or flats)' for name in ('Xyz', 'Qq')]
  well, = abc_reader.read_abc(fixtures.write_abc(
      str(tmp_path), 'fine.abc', 'X:1\nT:Fine\nM:4/4\nL:1/8\nK:Dmix\nABcd efga|]\n'))
  assert not well.warnings and not well.counts[melody_lib.UNKNOWN_KEYS]


def test_a_compressed_musicxml_that_unpacks_too_far_is_refused(tmp_path, monkeypatch):
  score = fixtures.write_score(str(tmp_path / 'waltz.musicxml'))
  container = ('<?xml version="1.0"?><container><rootfiles><rootfile full-path="waltz.xml"/>'
               '</rootfiles></container>')
  members = {'META-INF/container.xml': container, 'waltz.xml': open(score).read()}
  fine = fixtures.write_zip(tmp_path / 'waltz.mxl', members)
  assert len(score_reader.read_score(fine)) == len(fixtures.SCORE_PITCHES)
  # 65 MiB of zeros pack into about 65 kB.
  bomb = fixtures.write_zip(tmp_path / 'bomb.mxl', {**members, 'padding.xml': bytes(65 * 2**20)})
  assert os.path.getsize(bomb) < 2**20
  read = []
  monkeypatch.setattr(score_reader.converter, 'parse', lambda *a, **k: read.append(a))
  with pytest.raises(melody_lib.UnreadableFileError,
                     match=r'bomb.mxl: unpacks to 65 MiB, more than the 64 MiB'):
    score_reader.read_score(bomb)
  assert not read  # refused before music21 unpacked anything


def test_music21_scratch_is_private_and_user_files_load_no_pickle(tmp_path, monkeypatch):
  from music21 import converter, environment  # pylint: disable=g-import-not-at-top
  scratch = melody_files.use_private_scratch()
  info = os.stat(scratch)
  assert info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700
  assert not scratch.startswith(tempfile.gettempdir() + os.sep + 'music21')
  assert str(environment.Environment().getRootTempDir()) == scratch
  # A pickle planted where music21 would look for this file's parse cache is never loaded.
  score = fixtures.write_score(str(tmp_path / 'waltz.mid'), chords=())
  marker = tmp_path / 'pickle-was-loaded'

  class Planted:
    def __reduce__(self):
      return (open, (str(marker), 'w'))
  for folder in {scratch, os.path.join(tempfile.gettempdir(), 'music21')}:
    os.makedirs(folder, exist_ok=True)
    # music21's parse cache: a zlib-compressed pickle named from the file's path.
    planted = converter.PickleFilter(score).getPickleFp(folder, zipType='gz')
    with open(planted, 'wb') as f:
      f.write(zlib.compress(pickle.dumps(Planted())))
    os.utime(planted, (time.time() + 60, time.time() + 60))  # newer than the file
    try:
      assert len(score_reader.read_score(score)) == len(fixtures.SCORE_PITCHES)
    finally:
      os.remove(planted)
  assert not marker.exists()
