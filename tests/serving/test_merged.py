"""Tests of merging two exported genres: the pitch model's tones, the rhythm model's durations.

Two tiny untrained models with different weights stand for two genres; they are exported,
merged by the command-line program, and the merge must give exactly what calling the
two exports by hand gives.
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary
from stylexfer.dataset import windows
import fixtures
from stylexfer.serving import client
from stylexfer.serving import genre as genre_lib
from stylexfer.serving import merged as merged_lib

NOTES = 10


def _controls(seed, strength=None, style='', tempo=0.0):
  controls = {'temperature': np.float32(1.0), 'top_p': np.float32(0.9),
              'seed': np.int64(seed), 'style': np.bytes_(style), 'tempo': np.float32(tempo)}
  if strength is not None:
    controls['strength'] = np.float32(strength)
  return controls


def _melody():
  pitches = np.array([fixtures.JIG_PITCHES[:NOTES], fixtures.JIG_PITCHES[5:5 + NOTES]],
                     np.int32)
  quarters = np.array([fixtures.JIG_DURATIONS[:NOTES], fixtures.JIG_DURATIONS[5:5 + NOTES]],
                      np.float32)
  encoded = [vocabulary.encode(list(p), list(q)) for p, q in zip(pitches, quarters)]
  return (pitches, quarters, np.array([e.intervals for e in encoded], np.int32),
          np.array([e.durations for e in encoded], np.int32))


PITCHES, QUARTERS, INTERVALS, DURATIONS = _melody()


BARS, BAR_LENGTHS, PICKUP = fixtures.jig_forms(NOTES, (0, 5))
FORM = {'bars': BARS, 'bar_lengths': BAR_LENGTHS, 'pickup': PICKUP, 'push': np.float32(0)}
_FRAMED = [windows.frame(i, d, metre.rhythm_ids(q, lengths, pickup))
           for i, d, q, lengths, pickup in zip(INTERVALS, DURATIONS, QUARTERS, BAR_LENGTHS,
                                               PICKUP)]
SIZE = {'batch_size': np.int32(2), 'length': np.int32(8)}
REQUESTS = {
    'generate': {**SIZE, **_controls(5, style='latin', tempo=200)},
    'generate_blended': {**SIZE, **_controls(5, 0.5, style='latin', tempo=200)},
    'generate_notes': {**SIZE, 'first_pitch': np.int32(62),
                       **_controls(6, style='swing', tempo=90)},
    'generate_notes_blended': {**SIZE, 'first_pitch': np.int32(62),
                               **_controls(6, 0.5, style='swing', tempo=90)},
    'restyle': {'intervals': INTERVALS, 'durations': DURATIONS, **FORM,
                **_controls(7, 0.5)},
    'restyle_free': {'intervals': INTERVALS, 'durations': DURATIONS, **_controls(7, 0.5)},
    'restyle_notes': {'pitches': PITCHES, 'quarter_lengths': QUARTERS, **FORM,
                      **_controls(8, 0.5, style='twobeat', tempo=150)},
    'restyle_notes_free': {'pitches': PITCHES, 'quarter_lengths': QUARTERS,
                           **_controls(8, 0.5)},
    'restyle_like': {'intervals': INTERVALS, 'durations': DURATIONS,
                     'like_intervals': np.ascontiguousarray(INTERVALS[::-1]),
                     'like_durations': np.ascontiguousarray(DURATIONS[::-1]), **FORM,
                     **_controls(9, 1.0)},
    'restyle_notes_like': {'pitches': PITCHES, 'quarter_lengths': QUARTERS,
                           'like_pitches': np.ascontiguousarray(PITCHES[::-1]),
                           'like_quarter_lengths': np.ascontiguousarray(QUARTERS[::-1]),
                           **FORM, **_controls(10, 1.0)},
    'serving_default': {name: np.stack([f[name].numpy() for f in _FRAMED])
                        for name in windows.FEATURES},
}
REQUESTS['generate_compiled'] = REQUESTS['generate']
REQUESTS['restyle_compiled'] = REQUESTS['restyle']


def _call(signature_fn, inputs):
  outputs = signature_fn(**{name: tf.constant(value) for name, value in inputs.items()})
  return {name: value.numpy() for name, value in outputs.items()}


def _without(inputs, *names):
  return {name: value for name, value in inputs.items() if name not in names}


@pytest.fixture(scope='module')
def exports(tiny_genres, tmp_path_factory):
  # The shared tiny genres, linked into a folder of this module's own: merges go there.
  folder = str(tmp_path_factory.mktemp('exports'))
  for genre in ('folk', 'jazz'):
    os.symlink(os.path.join(tiny_genres, genre), os.path.join(folder, genre))
  return {'folk': os.path.join(folder, 'folk', '1'), 'jazz': os.path.join(folder, 'jazz', '1'),
          'folder': folder}


@pytest.fixture(scope='module')
def merged_path(exports):
  """The merge written by the command-line program, with its default name and version."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  done = subprocess.run(
      [sys.executable, '-m', 'stylexfer.programs.merge', f'--pitch_model={exports["folk"]}',
       f'--rhythm_model={exports["jazz"]}', f'--models_dir={exports["folder"]}'],
      capture_output=True, text=True, env=env, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  path = os.path.join(exports['folder'], 'folk_jazz', '1')
  assert done.stdout.strip().endswith(path)
  return path


@pytest.fixture(scope='module')
def loaded(exports, merged_path):
  return {'folk': tf.saved_model.load(exports['folk']),
          'jazz': tf.saved_model.load(exports['jazz']),
          'merged': tf.saved_model.load(merged_path)}


@pytest.fixture(scope='module')
def merged_outputs(loaded):
  merged = loaded['merged']
  return {name: _call(merged.signatures[name], inputs) for name, inputs in REQUESTS.items()}


def _library(folk, jazz, inputs, first_pitch):
  """The melodies stylexfer-generate writes with the folk and jazz exports: the folk
  model's draw laid into bars, its rhythm redrawn by the jazz model in them."""
  controls = _without(inputs, 'batch_size', 'length', 'first_pitch', 'strength')
  return client.generate_melodies(
      folk, jazz, int(inputs['batch_size']), int(inputs['length']), first_pitch,
      float(controls['temperature']), float(controls['top_p']), int(controls['seed']),
      style=controls['style'].decode(), tempo=float(controls['tempo']))


def test_merged_signatures(loaded):
  assert sorted(loaded['merged'].signatures) == sorted([*REQUESTS, 'traits'])


def test_a_merge_has_the_tones_first_pitch_and_the_rhythms_swing_and_meters(loaded):
  traits = client.traits_of(loaded['merged'])
  assert traits.first_pitch == fixtures.TRAITS['folk'].first_pitch
  assert traits.swing_ratio == pytest.approx(fixtures.TRAITS['jazz'].swing_ratio)
  assert traits.compound_meter == fixtures.TRAITS['jazz'].compound_meter
  assert traits.style_set == fixtures.TRAITS['jazz'].style_set


def test_generate_is_the_librarys_generation_in_the_graph(loaded, merged_outputs):
  """The folk model's own draw, its notes in bars, the jazz model's restyle in them."""
  # The tones of any style at the tempo asked for: the style is the rhythm model's.
  tones = _call(loaded['folk'].signatures['generate'],
                {**REQUESTS['generate'], 'style': np.bytes_('')})
  middle = (client.LOWEST + client.HIGHEST) // 2  # the merge's `generate` has no pitch
  library = _library(loaded['folk'], loaded['jazz'], REQUESTS['generate'], middle)
  outputs = merged_outputs['generate']
  np.testing.assert_array_equal(outputs['intervals'], tones['intervals'])
  # Every duration the jazz model drew; the library's last note then lasts to the bar line.
  np.testing.assert_array_equal(
      vocabulary.duration_table()[outputs['durations'][:, :-1]],
      np.array([[float(d) for d in melody.durations()[:-1]] for melody in library],
               np.float32))
  # The jazz head chose another rhythm than the folk model's own...
  assert not np.array_equal(outputs['durations'], tones['durations'])
  # ... and at strength 0.5 it kept some of the folk durations, but not all of them.
  blended = merged_outputs['generate_blended']['durations']
  assert (blended == tones['durations']).any()
  assert not np.array_equal(blended, outputs['durations'])


def test_generate_notes_are_the_librarys_melodies(loaded, merged_outputs):
  inputs = REQUESTS['generate_notes']
  notes = merged_outputs['generate_notes']
  library = _library(loaded['folk'], loaded['jazz'], inputs, int(inputs['first_pitch']))
  np.testing.assert_array_equal(notes['pitches'][:, 0], [62, 62])
  for n, melody in enumerate(library):
    assert notes['pitches'][n].tolist() == melody.pitches
    np.testing.assert_array_equal(notes['quarter_lengths'][n],
                                  np.array(melody.durations(), np.float32))
    np.testing.assert_array_equal(notes['sounding_lengths'][n],
                                  np.array(melody.lengths, np.float32))
    assert notes['time_signatures'][n].decode() == melody.time_signature == '4/4'
  blended = merged_outputs['generate_notes_blended']
  np.testing.assert_array_equal(blended['pitches'], notes['pitches'])
  assert not np.array_equal(blended['quarter_lengths'], notes['quarter_lengths'])


def test_restyle_is_rhythm_models_restyle(loaded, merged_outputs):
  for name, key in (('restyle', 'durations'), ('restyle_notes', 'quarter_lengths'),
                    ('restyle_like', 'durations'), ('restyle_notes_like', 'quarter_lengths'),
                    ('restyle_free', 'durations'),
                    ('restyle_notes_free', 'quarter_lengths')):
    jazz = _call(loaded['jazz'].signatures[name], REQUESTS[name])
    assert sorted(merged_outputs[name]) == sorted(jazz)
    for output, value in jazz.items():
      np.testing.assert_array_equal(merged_outputs[name][output], value)
    # Strength blends the genre with the melody's own rhythm, and two untrained heads
    # weigh little against it: at full strength the rhythm is the genre's alone, and it
    # is the jazz head's, not the folk head's.
    full = {**REQUESTS[name], 'strength': np.float32(1.0)}
    merged = _call(loaded['merged'].signatures[name], full)
    for output, value in _call(loaded['jazz'].signatures[name], full).items():
      np.testing.assert_array_equal(merged[output], value)
    folk = _call(loaded['folk'].signatures[name], {**full, 'style': np.bytes_('')})
    assert not np.array_equal(merged[key], folk[key]), name


def test_serving_default_scores_tones_by_pitch_model_and_rhythm_by_rhythm_model(
    loaded, merged_outputs):
  folk = _call(loaded['folk'].signatures['serving_default'], REQUESTS['serving_default'])
  jazz = _call(loaded['jazz'].signatures['serving_default'], REQUESTS['serving_default'])
  scores = merged_outputs['serving_default']
  np.testing.assert_allclose(scores['pitch_log_probs'], folk['pitch_log_probs'], atol=1e-6)
  np.testing.assert_allclose(scores['duration_log_probs'], jazz['duration_log_probs'],
                             atol=1e-6)


def test_fresh_tensorflow_only_python_gives_the_same(merged_path, merged_outputs,
                                                     fresh_tensorflow):
  outputs = fresh_tensorflow(merged_path, REQUESTS)
  for signature, values in merged_outputs.items():
    for name, value in values.items():
      if value.dtype == object:  # time signatures
        np.testing.assert_array_equal(outputs[signature][name], value.astype(bytes))
      else:
        np.testing.assert_allclose(outputs[signature][name], value, rtol=1e-6, atol=1e-6)


def test_saved_model_cli_runs_the_merge(merged_path, merged_outputs, saved_model_cli_run):
  outputs = saved_model_cli_run(merged_path, 'generate', REQUESTS['generate'])
  for name in ('intervals', 'durations'):
    np.testing.assert_array_equal(outputs[name], merged_outputs['generate'][name])


def test_merge_keeps_what_a_further_merge_needs(loaded):
  merged, folk, jazz = loaded['merged'], loaded['folk'], loaded['jazz']
  assert merged.genre.numpy() == b'folk_jazz'
  assert int(merged.pitch_state_size) == int(folk.pitch_state_size)
  assert int(merged.duration_state_size) == int(jazz.duration_state_size)
  np.testing.assert_array_equal(merged.duration_values.numpy(), vocabulary.duration_table())
  np.testing.assert_array_equal(merged.sounding_values.numpy(), jazz.sounding_values.numpy())
  state = tf.zeros([2, int(merged.duration_state_size)])
  heard = tf.constant([[1, 12, 3], [7, 12, 2]])  # metre ids: position, bar length, left
  asked = tf.constant([[2, 5], [0, 0]])  # style and tempo ids
  args = (tf.constant([10, 20]), tf.constant([5, 6]), heard, asked, state)
  np.testing.assert_array_equal(merged.duration_step(*args)[0], jazz.duration_step(*args)[0])


def test_compiled_signatures_give_the_plain_ones_melodies(merged_outputs):
  for name in ('generate', 'restyle'):
    for output, value in merged_outputs[name].items():
      np.testing.assert_array_equal(merged_outputs[f'{name}_compiled'][output], value)


@pytest.mark.parametrize('signature,changes,phrase', [
    ('generate_blended', {'strength': np.float32(1.5)}, 'strength must be in [0, 1]'),
    ('generate_compiled', {'length': np.int32(0)}, 'length must be > 0'),
    ('generate', {'length': np.int32(0)}, 'length must be > 0'),
    ('restyle', {'intervals': INTERVALS[:, :3]},
     'durations must hold one more note than intervals'),
    ('generate_notes', {'first_pitch': np.int32(-1)}, 'first_pitch must be a MIDI pitch'),
    # The merge plays the rhythm model's styles: a folk tune type is not one of them.
    ('generate', {'style': np.bytes_('reel')},
     'its styles (rhythm feels) are swing, latin, twobeat'),
])
def test_bad_request_says_what_is_wrong(loaded, signature, changes, phrase):
  with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(phrase)):
    _call(loaded['merged'].signatures[signature], {**REQUESTS[signature], **changes})


@pytest.fixture(scope='module')
def odd_vocabulary_export(tiny_model, tmp_path_factory):
  """An export whose duration table was changed: its tokens mean other durations."""
  module = genre_lib.GenreModule(tiny_model(3), 'odd')
  table = vocabulary.duration_table()
  table[vocabulary.NUM_SPECIAL:] *= 2
  module.duration_values.assign(table)
  path = str(tmp_path_factory.mktemp('odd') / 'odd' / '1')
  tf.saved_model.save(module, path, signatures=module.signatures())
  return path


def test_merge_refuses_different_vocabularies(exports, odd_vocabulary_export, tmp_path):
  with pytest.raises(merged_lib.MergeError, match=re.escape(
      'the vocabularies differ: duration_values[3] is 0.0416')):
    merged_lib.merge(exports['folk'], odd_vocabulary_export, str(tmp_path))
  assert not os.path.exists(tmp_path / 'folk_odd')


def test_merge_refuses_what_is_not_a_genre_export(exports, tmp_path):
  other = tf.Module()
  other.interval_values = tf.Variable(vocabulary.interval_table())
  tf.saved_model.save(other, str(tmp_path / 'other'))
  with pytest.raises(merged_lib.MergeError, match='the rhythm model is not a stylexfer genre '
                     'export of this version: it lacks pitch_tables'):
    merged_lib.merge(exports['folk'], str(tmp_path / 'other'), str(tmp_path))
