"""Exports one genre's trained model as a SavedModel for TF Serving, Colab and merging.

  python -m stylexfer.export --model_dir=runs/folk --export_dir=exports --name=folk

writes exports/folk/<version>/ (the next free integer unless --version is given).

Signatures (flat dicts of tensors, batch first; token ids int32; scalars batch_size,
length, first_pitch int32, seed int64, temperature, top_p, strength float32):
  serving_default  intervals_in, durations_in, intervals_out [B, T]
                   -> pitch_log_probs [B, T, 52], duration_log_probs [B, T, 59] (float32)
  generate         batch_size, length, temperature, top_p, seed
                   -> intervals [B, L-1], durations [B, L]
  generate_primed  as generate, plus primer_intervals [B, P-1], primer_durations [B, P]
                   -> intervals [B, L-1], durations [B, L] (starting with the primer)
  restyle          intervals [B, N-1], durations [B, N], strength, temperature, top_p, seed
                   -> durations [B, N]
  generate_notes   batch_size, length, first_pitch, temperature, top_p, seed
                   -> pitches [B, L] (MIDI, int32), quarter_lengths [B, L] (float32)
  restyle_notes    pitches [B, N] (MIDI), quarter_lengths [B, N] (float32), strength,
                   temperature, top_p, seed -> pitches [B, N], quarter_lengths [B, N]
A bad request (a token out of range, length <= 0 or > sampling.MAX_LENGTH, temperature
<= 0, top_p outside (0, 1], strength outside [0, 1], shapes that do not fit) fails with
InvalidArgumentError naming what is wrong.

Besides the signatures the SavedModel keeps what `stylexfer.merge` needs to combine two
exports without this package: the functions `pitch_step` and `duration_step` (one note of
each head, see stylexfer.sampling), the variables `pitch_state_size`,
`duration_state_size`, `interval_values`, `duration_values` (the vocabulary) and `genre`.
"""

import os

from absl import app
from absl import flags
import keras
import tensorflow as tf

from stylexfer import merge
from stylexfer import model as model_lib  # registers MelodyModel for loading
from stylexfer import sampling
from stylexfer import vocabulary
# Shared with merge, which builds SavedModels without importing any model code.

_scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
_tokens = lambda name: tf.TensorSpec([None, None], tf.int32, name=name)
_floats = lambda name: tf.TensorSpec([None, None], tf.float32, name=name)
_CONTROLS = [_scalar(tf.float32, 'temperature'), _scalar(tf.float32, 'top_p'),
             _scalar(tf.int64, 'seed')]


class VocabularyModule(tf.Module):
  """The shared vocabulary as tensors: token ids to and from MIDI pitches and quarter notes."""

  def __init__(self, name=None):
    super().__init__(name=name)
    self.interval_values = tf.Variable(vocabulary.interval_table(), trainable=False,
                                       name='interval_values')
    self.duration_values = tf.Variable(vocabulary.duration_table(), trainable=False,
                                       name='duration_values')

  def notes_to_tokens(self, pitches, quarter_lengths):
    """Intervals [B, N-1] folded by octaves, durations [B, N] snapped to the grid."""
    return sampling.notes_to_tokens(pitches, quarter_lengths, self.interval_values,
                                    self.duration_values)

  def tokens_to_notes(self, first_pitch, intervals, durations):
    """MIDI pitches [B, N] from a first pitch [B] and intervals; quarter lengths [B, N]."""
    return sampling.tokens_to_notes(first_pitch, intervals, durations, self.interval_values,
                                    self.duration_values)


class GenreModule(VocabularyModule):
  """A trained genre model with its sampling signatures."""

  def __init__(self, model, genre):
    super().__init__(name=f'{genre}_melodies')
    self.model = model
    # The tf.Variables under the Keras 3 variables, tracked here too: without them the
    # SavedModel loads in TF2 Python but TF Serving and saved_model_cli (the TF1 loader)
    # fail with "Could not find variable" (keras-team/keras#20095).
    self.model_variables = [v.value for v in model.weights]
    self.steps = sampling.HeadSteps(model)
    self.genre = tf.Variable(genre, trainable=False, name='genre')
    self.pitch_state_size = tf.Variable(self.steps.state_size, trainable=False,
                                        name='pitch_state_size')
    self.duration_state_size = tf.Variable(self.steps.state_size, trainable=False,
                                           name='duration_state_size')
    step_spec = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
                 tf.TensorSpec([None, self.steps.state_size], tf.float32)]
    self.pitch_step = tf.function(self.steps.pitch_step, input_signature=step_spec)
    self.duration_step = tf.function(self.steps.duration_step, input_signature=step_spec)

  def _generate(self, batch_size, length, temperature, top_p, seed, primer=(None, None)):
    return sampling.generate(self.pitch_step, self.duration_step, self.steps.state_size,
                             self.steps.state_size, batch_size, length, temperature,
                             top_p, seed, *primer)

  def _restyle(self, intervals, durations, strength, temperature, top_p, seed, like=(None, None)):
    return sampling.restyle(self.duration_step, self.steps.state_size, intervals, durations,
                            strength, temperature, top_p, seed, *like)

  @tf.function(input_signature=[_tokens('intervals_in'), _tokens('durations_in'),
                                _tokens('intervals_out')])
  def score(self, intervals_in, durations_in, intervals_out):
    checks = [
        lambda: tf.debugging.assert_positive(tf.size(intervals_in),
                                             message='the token sequences are empty'),
        lambda: tf.debugging.assert_equal(
            tf.shape(intervals_in), tf.shape(durations_in),
            message='intervals_in and durations_in must have one shape'),
        lambda: tf.debugging.assert_equal(
            tf.shape(intervals_in), tf.shape(intervals_out),
            message='intervals_in and intervals_out must have one shape'),
        lambda: _assert_ids(intervals_in, vocabulary.NUM_INTERVALS, 'intervals_in'),
        lambda: _assert_ids(durations_in, vocabulary.NUM_DURATIONS, 'durations_in'),
        lambda: _assert_ids(intervals_out, vocabulary.NUM_INTERVALS, 'intervals_out'),
    ]
    features = dict(zip(('intervals_in', 'durations_in', 'intervals_out'), sampling.after(
        checks, intervals_in, durations_in, intervals_out)))
    outputs = self.model(features, training=False)
    return {'pitch_log_probs': tf.nn.log_softmax(outputs['pitch_logits']),
            'duration_log_probs': tf.nn.log_softmax(outputs['duration_logits'])}

  @tf.function(input_signature=[_scalar(tf.int32, 'batch_size'),
                                _scalar(tf.int32, 'length')] + _CONTROLS)
  def generate(self, batch_size, length, temperature, top_p, seed):
    intervals, durations = self._generate(batch_size, length, temperature, top_p, seed)
    return {'intervals': intervals, 'durations': durations}

  @tf.function(input_signature=[_scalar(tf.int32, 'batch_size'), _scalar(tf.int32, 'length')]
               + _CONTROLS + [_tokens('primer_intervals'), _tokens('primer_durations')])
  def generate_primed(self, batch_size, length, temperature, top_p, seed, primer_intervals,
                      primer_durations):
    intervals, durations = self._generate(batch_size, length, temperature, top_p, seed,
                                          (primer_intervals, primer_durations))
    return {'intervals': intervals, 'durations': durations}

  @tf.function(input_signature=[_tokens('intervals'), _tokens('durations'),
                                _scalar(tf.float32, 'strength')] + _CONTROLS)
  def restyle(self, intervals, durations, strength, temperature, top_p, seed):
    return {'durations': self._restyle(intervals, durations, strength, temperature, top_p,
                                       seed)}

  @tf.function(input_signature=[_scalar(tf.int32, 'batch_size'), _scalar(tf.int32, 'length'),
                                _scalar(tf.int32, 'first_pitch')] + _CONTROLS)
  def generate_notes(self, batch_size, length, first_pitch, temperature, top_p, seed):
    first_pitch, = sampling.after([lambda: _assert_midi(first_pitch)], first_pitch)
    intervals, durations = self._generate(batch_size, length, temperature, top_p, seed)
    pitches, quarter_lengths = self.tokens_to_notes(
        tf.fill([batch_size], first_pitch), intervals, durations)
    return {'pitches': pitches, 'quarter_lengths': quarter_lengths}

  @tf.function(input_signature=[_tokens('pitches'), _floats('quarter_lengths'),
                                _scalar(tf.float32, 'strength')] + _CONTROLS)
  def restyle_notes(self, pitches, quarter_lengths, strength, temperature, top_p, seed):
    return self._restyle_notes(pitches, quarter_lengths, strength, temperature, top_p, seed)

  def _restyle_notes(self, pitches, quarter_lengths, strength, temperature, top_p, seed,
                     like_notes=None):
    intervals, durations = self.notes_to_tokens(pitches, quarter_lengths)
    like = self.notes_to_tokens(*like_notes) if like_notes else (None, None)
    durations = self._restyle(intervals, durations, strength, temperature, top_p, seed, like)
    return {'pitches': tf.identity(pitches),
            'quarter_lengths': tf.gather(self.duration_values, durations)}

  @tf.function(input_signature=[_tokens('intervals'), _tokens('durations'),
                                _tokens('like_intervals'), _tokens('like_durations'),
                                _scalar(tf.float32, 'strength')] + _CONTROLS)
  def restyle_like(self, intervals, durations, like_intervals, like_durations, strength,
                   temperature, top_p, seed):
    return {'durations': self._restyle(intervals, durations, strength, temperature, top_p,
                                       seed, (like_intervals, like_durations))}

  @tf.function(input_signature=[_tokens('pitches'), _floats('quarter_lengths'),
                                _tokens('like_pitches'), _floats('like_quarter_lengths'),
                                _scalar(tf.float32, 'strength')] + _CONTROLS)
  def restyle_notes_like(self, pitches, quarter_lengths, like_pitches, like_quarter_lengths,
                         strength, temperature, top_p, seed):
    return self._restyle_notes(pitches, quarter_lengths, strength, temperature, top_p, seed,
                               (like_pitches, like_quarter_lengths))

  def signatures(self):
    return {'serving_default': self.score, 'generate': self.generate,
            'generate_primed': self.generate_primed, 'restyle': self.restyle,
            'generate_notes': self.generate_notes, 'restyle_notes': self.restyle_notes,
            'restyle_like': self.restyle_like, 'restyle_notes_like': self.restyle_notes_like}


def _assert_midi(pitch):
  return tf.debugging.assert_equal((pitch >= 0) & (pitch <= 127), True,
                                   message='first_pitch must be a MIDI pitch in [0, 127]')


def _assert_ids(tokens, vocab_size, name):
  return tf.debugging.assert_equal(
      tf.reduce_all((tokens >= 0) & (tokens < vocab_size)), True,
      message=f'{name} token ids must be in [0, {vocab_size})')


def export(model, genre, export_dir, name=None, version=None):
  """Writes the SavedModel to <export_dir>/<name>/<version>/ and returns that path."""
  return merge.save_versioned(GenreModule(model, genre), export_dir, name or genre, version)


def define_flags():
  flags.DEFINE_string('model_dir', None, 'Training folder holding model.keras.')
  flags.DEFINE_string('export_dir', None, 'Where <name>/<version>/ is written.')
  flags.DEFINE_string('genre', None, 'Genre name stored in the SavedModel (default: --name).')
  flags.DEFINE_string('name', None, 'Model name: the folder under --export_dir.')
  flags.DEFINE_integer('version', None, 'Version folder; default: the next free integer.')


def main(argv):
  del argv
  f = flags.FLAGS
  model = keras.saving.load_model(os.path.join(f.model_dir, 'model.keras'))
  genre = f.genre or f.name
  print(export(model, genre, f.export_dir, name=f.name, version=f.version))


def run():
  define_flags()
  flags.mark_flags_as_required(['model_dir', 'export_dir', 'name'])
  app.run(main)


if __name__ == '__main__':
  run()
