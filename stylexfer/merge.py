"""Merges two exported genres into one SavedModel: one genre's tones, another's rhythm.

  python -m stylexfer.merge --pitch_model=exports/folk/1 --rhythm_model=exports/jazz/1 \\
      --out=exports [--name=folk_jazz] [--version=1]

writes <out>/<name>/<version>/ (name: <pitch genre>_<rhythm genre>; version: the next
free integer). The merge is built from the two SavedModels alone, as TF Serving or a Colab
without this package's model code would hold them: their step functions, state sizes and
vocabulary tables. It refuses two models whose vocabularies differ, since a token of one
would then mean another interval or duration in the other.

Signatures (dtypes as in stylexfer.export; the inputs of `generate`, `generate_notes`,
`restyle`, `restyle_notes` and `serving_default` are those of a genre export, so a client
can take either):
  generate        batch_size, length, temperature, top_p, seed
                  -> intervals [B, L-1], durations [B, L]
      The pitch model's own `generate` (its tones are sampled with its own rhythm, which
      its pitch head listens to), then the rhythm model's `restyle` of those intervals
      and durations with the same seed and strength 1.
  generate_blended  as generate, plus strength: each note keeps the pitch model's own
                  duration with probability 1 - strength
  generate_notes  batch_size, length, first_pitch, temperature, top_p, seed
                  -> pitches [B, L] (MIDI), quarter_lengths [B, L]: generate, as notes
  generate_notes_blended  as generate_notes, plus strength
  restyle         intervals [B, N-1], durations [B, N], strength, temperature, top_p,
                  seed -> durations [B, N]: the rhythm model's restyle
  restyle_notes   pitches [B, N], quarter_lengths [B, N], strength, temperature, top_p,
                  seed -> pitches [B, N], quarter_lengths [B, N]: the same on notes
  serving_default intervals_in, durations_in, intervals_out [B, T]
                  -> pitch_log_probs (the pitch model's), duration_log_probs (the rhythm
                  model's): how likely the merged model finds a melody
The merged SavedModel keeps `pitch_step` (the pitch model's), `duration_step` (the rhythm
model's), their state sizes and the vocabulary tables, so it can be merged again.
"""

import os
import sys

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from stylexfer import sampling

_scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
_tokens = lambda name: tf.TensorSpec([None, None], tf.int32, name=name)
_floats = lambda name: tf.TensorSpec([None, None], tf.float32, name=name)
_SIZE = [_scalar(tf.int32, 'batch_size'), _scalar(tf.int32, 'length')]
_BLEND = [_scalar(tf.float32, 'strength')]
_CONTROLS = [_scalar(tf.float32, 'temperature'), _scalar(tf.float32, 'top_p'),
             _scalar(tf.int64, 'seed')]
# What an exported genre must hold to be merged.
_NEEDED = ('pitch_step', 'duration_step', 'pitch_state_size', 'duration_state_size',
           'interval_values', 'duration_values', 'genre', 'score')


class MergeError(ValueError):
  """Two SavedModels that cannot be merged, with the reason."""


def check_mergeable(pitch_model, rhythm_model):
  """Raises MergeError unless both are stylexfer exports with one and the same vocabulary."""
  for role, loaded in (('pitch', pitch_model), ('rhythm', rhythm_model)):
    missing = [name for name in _NEEDED if not hasattr(loaded, name)]
    if missing:
      raise MergeError(f'the {role} model is not a stylexfer genre export: it lacks '
                       f'{", ".join(missing)}')
  for table in ('interval_values', 'duration_values'):
    ours = getattr(pitch_model, table).numpy()
    theirs = getattr(rhythm_model, table).numpy()
    if ours.shape != theirs.shape:
      raise MergeError(f'the vocabularies differ: {table} has {ours.shape[0]} ids in the '
                       f'pitch model and {theirs.shape[0]} in the rhythm model')
    if not np.array_equal(ours, theirs):
      token = int(np.flatnonzero(ours != theirs)[0])
      raise MergeError(f'the vocabularies differ: {table}[{token}] is {ours[token]:g} in the '
                       f'pitch model and {theirs[token]:g} in the rhythm model')


class MergedModule(tf.Module):
  """Tones sampled by one exported genre, durations by another, from SavedModels alone."""

  def __init__(self, pitch_model, rhythm_model):
    check_mergeable(pitch_model, rhythm_model)
    pitch_genre = pitch_model.genre.numpy().decode()
    rhythm_genre = rhythm_model.genre.numpy().decode()
    super().__init__(name=f'{pitch_genre}_{rhythm_genre}_melodies')
    self.pitch_model = pitch_model
    self.rhythm_model = rhythm_model
    self.genre = tf.Variable(f'{pitch_genre}_{rhythm_genre}', trainable=False, name='genre')
    self.pitch_genre = tf.Variable(pitch_genre, trainable=False, name='pitch_genre')
    self.rhythm_genre = tf.Variable(rhythm_genre, trainable=False, name='rhythm_genre')
    self.interval_values = tf.Variable(pitch_model.interval_values.numpy(), trainable=False,
                                       name='interval_values')
    self.duration_values = tf.Variable(pitch_model.duration_values.numpy(), trainable=False,
                                       name='duration_values')
    # State sizes fix the shapes of the loop's zero states: Python ints at trace time.
    self._sizes = {
        'pitch': (int(pitch_model.pitch_state_size.numpy()),
                  int(pitch_model.duration_state_size.numpy())),
        'rhythm': int(rhythm_model.duration_state_size.numpy()),
    }
    self.pitch_state_size = tf.Variable(self._sizes['pitch'][0], trainable=False,
                                        name='pitch_state_size')
    self.duration_state_size = tf.Variable(self._sizes['rhythm'], trainable=False,
                                           name='duration_state_size')
    self.pitch_step = pitch_model.pitch_step
    self.duration_step = rhythm_model.duration_step

  def _generate(self, batch_size, length, strength, temperature, top_p, seed):
    pitch_size, own_duration_size = self._sizes['pitch']
    intervals, durations = sampling.generate(
        self.pitch_model.pitch_step, self.pitch_model.duration_step, pitch_size,
        own_duration_size, batch_size, length, temperature, top_p, seed)
    return intervals, self._restyle(intervals, durations, strength, temperature, top_p, seed)

  def _restyle(self, intervals, durations, strength, temperature, top_p, seed,
               like=(None, None)):
    return sampling.restyle(self.rhythm_model.duration_step, self._sizes['rhythm'],
                            intervals, durations, strength, temperature, top_p, seed, *like)

  @tf.function(input_signature=[_tokens('intervals_in'), _tokens('durations_in'),
                                _tokens('intervals_out')])
  def score(self, intervals_in, durations_in, intervals_out):
    pitch = self.pitch_model.score(intervals_in, durations_in, intervals_out)
    rhythm = self.rhythm_model.score(intervals_in, durations_in, intervals_out)
    return {'pitch_log_probs': pitch['pitch_log_probs'],
            'duration_log_probs': rhythm['duration_log_probs']}

  @tf.function(input_signature=_SIZE + _CONTROLS)
  def generate(self, batch_size, length, temperature, top_p, seed):
    return self._generate_tokens(batch_size, length, 1.0, temperature, top_p, seed)

  @tf.function(input_signature=_SIZE + _BLEND + _CONTROLS)
  def generate_blended(self, batch_size, length, strength, temperature, top_p, seed):
    return self._generate_tokens(batch_size, length, strength, temperature, top_p, seed)

  @tf.function(input_signature=_SIZE + [_scalar(tf.int32, 'first_pitch')] + _CONTROLS)
  def generate_notes(self, batch_size, length, first_pitch, temperature, top_p, seed):
    return self._generate_notes(batch_size, length, first_pitch, 1.0, temperature, top_p,
                                seed)

  @tf.function(input_signature=_SIZE + [_scalar(tf.int32, 'first_pitch')] + _BLEND
               + _CONTROLS)
  def generate_notes_blended(self, batch_size, length, first_pitch, strength, temperature,
                             top_p, seed):
    return self._generate_notes(batch_size, length, first_pitch, strength, temperature,
                                top_p, seed)

  def _generate_tokens(self, batch_size, length, strength, temperature, top_p, seed):
    intervals, durations = self._generate(batch_size, length, strength, temperature, top_p,
                                          seed)
    return {'intervals': intervals, 'durations': durations}

  def _generate_notes(self, batch_size, length, first_pitch, strength, temperature, top_p,
                      seed):
    first_pitch, = sampling.after([lambda: tf.debugging.assert_equal(
        (first_pitch >= 0) & (first_pitch <= 127), True,
        message='first_pitch must be a MIDI pitch in [0, 127]')], first_pitch)
    intervals, durations = self._generate(batch_size, length, strength, temperature, top_p,
                                          seed)
    pitches, quarter_lengths = sampling.tokens_to_notes(
        tf.fill([batch_size], first_pitch), intervals, durations, self.interval_values,
        self.duration_values)
    return {'pitches': pitches, 'quarter_lengths': quarter_lengths}

  @tf.function(input_signature=[_tokens('intervals'), _tokens('durations')] + _BLEND
               + _CONTROLS)
  def restyle(self, intervals, durations, strength, temperature, top_p, seed):
    return {'durations': self._restyle(intervals, durations, strength, temperature, top_p,
                                       seed)}

  @tf.function(input_signature=[_tokens('pitches'),
                                tf.TensorSpec([None, None], tf.float32, name='quarter_lengths')]
               + _BLEND + _CONTROLS)
  def restyle_notes(self, pitches, quarter_lengths, strength, temperature, top_p, seed):
    return self._restyle_notes(pitches, quarter_lengths, strength, temperature, top_p, seed)

  def _restyle_notes(self, pitches, quarter_lengths, strength, temperature, top_p, seed,
                     like_notes=None):
    to_tokens = lambda p, q: sampling.notes_to_tokens(p, q, self.interval_values,
                                                      self.duration_values)
    like = to_tokens(*like_notes) if like_notes else (None, None)
    durations = self._restyle(*to_tokens(pitches, quarter_lengths), strength, temperature,
                              top_p, seed, like)
    return {'pitches': tf.identity(pitches),
            'quarter_lengths': tf.gather(self.duration_values, durations)}

  @tf.function(input_signature=[_tokens('intervals'), _tokens('durations'),
                                _tokens('like_intervals'), _tokens('like_durations')]
               + _BLEND + _CONTROLS)
  def restyle_like(self, intervals, durations, like_intervals, like_durations, strength,
                   temperature, top_p, seed):
    return {'durations': self._restyle(intervals, durations, strength, temperature, top_p,
                                       seed, (like_intervals, like_durations))}

  @tf.function(input_signature=[_tokens('pitches'), _floats('quarter_lengths'),
                                _tokens('like_pitches'), _floats('like_quarter_lengths')]
               + _BLEND + _CONTROLS)
  def restyle_notes_like(self, pitches, quarter_lengths, like_pitches, like_quarter_lengths,
                         strength, temperature, top_p, seed):
    return self._restyle_notes(pitches, quarter_lengths, strength, temperature, top_p, seed,
                               (like_pitches, like_quarter_lengths))

  def signatures(self):
    return {'serving_default': self.score, 'generate': self.generate,
            'generate_blended': self.generate_blended, 'generate_notes': self.generate_notes,
            'generate_notes_blended': self.generate_notes_blended, 'restyle': self.restyle,
            'restyle_notes': self.restyle_notes, 'restyle_like': self.restyle_like,
            'restyle_notes_like': self.restyle_notes_like}


def next_version(folder):
  """The next free integer version under `folder` (1 for a new folder)."""
  if not tf.io.gfile.exists(folder):
    return 1
  # Some file systems list folders with a trailing slash.
  names = [n.rstrip('/') for n in tf.io.gfile.listdir(folder)]
  return max((int(n) for n in names if n.isdigit()), default=0) + 1


def save_versioned(module, root, name, version=None):
  """Saves a module with its signatures to <root>/<name>/<version>/ (TF Serving's layout).

  The version defaults to the next free integer; returns the folder written.
  """
  version = version or next_version(os.path.join(root, name))
  path = os.path.join(root, name, str(int(version)))
  tf.saved_model.save(module, path, signatures=module.signatures())
  return path


def merge(pitch_model_dir, rhythm_model_dir, out_dir, name=None, version=None):
  """Writes the merge of two exported SavedModels to <out_dir>/<name>/<version>/; its path."""
  module = MergedModule(tf.saved_model.load(pitch_model_dir),
                        tf.saved_model.load(rhythm_model_dir))
  return save_versioned(module, out_dir, name or module.genre.numpy().decode(), version)


def define_flags():
  flags.DEFINE_string('pitch_model', None, 'Exported SavedModel whose tones are kept.')
  flags.DEFINE_string('rhythm_model', None, 'Exported SavedModel whose durations are used.')
  flags.DEFINE_string('out', None, 'Where <name>/<version>/ is written.')
  flags.DEFINE_string('name', None, 'Folder under --out; default: <pitch genre>_<rhythm '
                      'genre>.')
  flags.DEFINE_integer('version', None, 'Version folder; default: the next free integer.')


def main(argv):
  del argv
  f = flags.FLAGS
  try:
    print(merge(f.pitch_model, f.rhythm_model, f.out, name=f.name, version=f.version))
  except MergeError as error:
    sys.exit(f'stylexfer.merge: cannot merge {f.pitch_model} and {f.rhythm_model}: {error}')


def run():
  define_flags()
  flags.mark_flags_as_required(['pitch_model', 'rhythm_model', 'out'])
  app.run(main)


if __name__ == '__main__':
  run()
