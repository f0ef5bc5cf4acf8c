"""A merge of two exported genres in one SavedModel: one genre's tones, another's rhythm.

`merge` writes <models_dir>/<name>/<version>/ (name: <pitch genre>_<rhythm genre>; version:
the next free integer); the program is stylexfer-merge (stylexfer.programs.merge). The merge
is built from the two SavedModels alone, as TF Serving or a Colab without this package's
model code would hold them: their step functions, state sizes and vocabulary tables. It
refuses two models whose vocabularies differ, since a token of one would then mean another
interval or duration in the other.

Signatures (dtypes as in stylexfer.serving.genre; the inputs of `generate`,
`generate_notes`, the restyle family and `serving_default` are those of a genre export, so
a client can take either; a style is one of the rhythm model's, which its `traits` list):
  generate        batch_size, length, temperature, top_p, seed, style, tempo
                  -> intervals [B, L-1], durations [B, L]
      What stylexfer-generate writes with the two genres' models
      (stylexfer.serving.client.generate_melodies), in the graph: the pitch model's own
      `generate` (its tones drawn with its own rhythm, which its pitch head listens to);
      those notes laid into bars (4/4, or 6/8 for a folk rhythm whose onsets fall on
      dotted quarters); melody n's rhythm redrawn by the rhythm model's `restyle` in those
      bars with seed + n and strength 1.
  generate_blended  as generate, plus strength: a blend of the pitch model's own rhythm
                  and the rhythm model's (see stylexfer.serving.sampling.restyle)
  generate_notes  batch_size, length, first_pitch, temperature, top_p, seed, style, tempo
                  -> pitches [B, L] (MIDI, folded into 36..96 as the library folds them),
                  quarter_lengths, sounding_lengths [B, L] (the last note lasting to the
                  bar line), time_signatures [B] ('4/4' or '6/8'): the same melodies as
                  client.generate_melodies for the same seed
  generate_notes_blended  as generate_notes, plus strength
  restyle, restyle_notes, restyle_like, restyle_notes_like, restyle_free,
  restyle_notes_free   the rhythm model's, with the rhythm model's rests (see
                  stylexfer.serving.signatures)
  serving_default intervals_in, durations_in, intervals_out, the metrical ids and the
                  style and tempo ids [B, T]
                  -> pitch_log_probs (the pitch model's, of any style), duration_log_probs
                  (the rhythm model's): how likely the merged model finds a melody
The merged SavedModel keeps the pitch model's pitch head (`pitch_tables`, `pitch_cell`,
`pitch_step`) and the rhythm model's duration head (`duration_tables`, `duration_cell`,
`duration_step`), their state sizes and the vocabulary tables, so it can be merged again.
`generate_compiled` and `restyle_compiled` are as in stylexfer.serving.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from stylexfer.model import melody_model
from stylexfer.serving import client
from stylexfer.serving import saving
from stylexfer.serving import signatures
from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import generate as generate_lib
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import heads

# What an exported genre must hold to be merged.
_NEEDED = ('pitch_tables', 'pitch_cell', 'duration_tables', 'duration_cell',
           'pitch_step', 'duration_step', 'pitch_state_size', 'duration_state_size',
           'interval_values', 'duration_values', 'sounding_values', 'genre', 'score')


class MergeError(ValueError):
  """Two SavedModels that cannot be merged, with the reason."""


def check_mergeable(pitch_model, rhythm_model):
  """Raises MergeError unless both are stylexfer exports with one and the same vocabulary."""
  for role, loaded in (('pitch', pitch_model), ('rhythm', rhythm_model)):
    missing = [name for name in _NEEDED if not hasattr(loaded, name)]
    if missing:
      raise MergeError(f'the {role} model is not a stylexfer genre export of this version: '
                       f'it lacks {", ".join(missing)} (export it again)')
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


class MergedModule(signatures.MelodyModule):
  """Tones sampled by one exported genre, durations by another, from SavedModels alone."""

  def __init__(self, pitch_model, rhythm_model):
    check_mergeable(pitch_model, rhythm_model)
    pitch_genre = pitch_model.genre.numpy().decode()
    rhythm_genre = rhythm_model.genre.numpy().decode()
    super().__init__(pitch_model.interval_values.numpy(),
                     pitch_model.duration_values.numpy(),
                     rhythm_model.sounding_values.numpy(),
                     name=f'{pitch_genre}_{rhythm_genre}_melodies')
    self.pitch_model = pitch_model
    self.rhythm_model = rhythm_model
    self.genre = tf.Variable(f'{pitch_genre}_{rhythm_genre}', trainable=False, name='genre')
    self.pitch_genre = tf.Variable(pitch_genre, trainable=False, name='pitch_genre')
    self.rhythm_genre = tf.Variable(rhythm_genre, trainable=False, name='rhythm_genre')
    pitch_traits, rhythm_traits = client.traits_of(pitch_model), client.traits_of(rhythm_model)
    # The tones' first pitch; the rhythm's swing and time signatures (chosen at trace time).
    self.genre_traits = dataclasses.replace(rhythm_traits, first_pitch=pitch_traits.first_pitch)
    # State sizes fix the shapes of the loop's zero states: Python ints at trace time.
    self._pitch_heads = (heads.Head.of(pitch_model, 'pitch'),
                         heads.Head.of(pitch_model, 'duration'))
    self.duration_head = heads.Head.of(rhythm_model, 'duration')
    self.pitch_state_size = tf.Variable(self._pitch_heads[0].state_size, trainable=False,
                                        name='pitch_state_size')
    self.duration_state_size = tf.Variable(self.duration_head.state_size, trainable=False,
                                           name='duration_state_size')
    self.pitch_tables = pitch_model.pitch_tables
    self.pitch_cell = pitch_model.pitch_cell
    self.pitch_step = pitch_model.pitch_step
    self.duration_tables = rhythm_model.duration_tables
    self.duration_cell = rhythm_model.duration_cell
    self.duration_step = rhythm_model.duration_step

  def _generate(self, batch_size, length, controls, compiled=False):
    # Tokens need no first pitch; the middle of the folded range moves fewest notes.
    middle = (client.LOWEST + client.HIGHEST) // 2
    drawn = self._generate_in_bars(batch_size, length, middle, controls, compiled)
    return drawn['intervals'], drawn['durations']

  def _generate_in_bars(self, batch_size, length, first_pitch, controls, compiled=False):
    """stylexfer.serving.client.generate_melodies in the graph: the same melodies.

    The pitch model draws tones and a rhythm; the rhythm lays the notes into bars (a time
    signature chosen as client.choose_time_signature does, the last note lasting to the
    bar line); melody n's rhythm is then redrawn by the rhythm model in those bars with
    seed + n, and its last note lasts to the same bar line. `controls` is a draws.Controls.
    """
    # The tones at the tempo asked for, of any style: the style is the rhythm model's.
    intervals, durations = generate_lib.generate(
        *self._pitch_heads, batch_size, length, dataclasses.replace(controls, style=0),
        compiled=compiled)
    pitches, quarters = self.tokens_to_notes(tf.fill([tf.shape(durations)[0]], first_pitch),
                                             intervals, durations)
    pitches = fold_pitches(pitches)
    units = _grid_units(quarters)
    onsets = tf.cumsum(units, axis=1, exclusive=True)
    natural_ends = onsets[:, -1] + units[:, -1]
    bar = self._bar_units(units, onsets)
    ends = (natural_ends + bar - 1) // bar * bar
    units = tf.concat([units[:, :-1], (ends - onsets[:, -1])[:, None]], 1)
    bars = tf.cast(onsets // bar[:, None], tf.int32)
    drawn_quarters = _quarters(units)

    def restyle_one(n, written_quarters, written_sounding):
      bar_count = bars[n, -1] + 1
      restyled = self._restyle_notes(
          pitches[n:n + 1], drawn_quarters[n:n + 1],
          dataclasses.replace(controls, seed=controls.seed + tf.cast(n, tf.int64)),
          form_lib.Form(bars[n:n + 1],
                        tf.fill([1, bar_count], tf.cast(bar[n], tf.float32) / GRID),
                        tf.zeros([1], tf.float32)))
      return (n + 1, written_quarters.write(n, restyled['quarter_lengths'][0]),
              written_sounding.write(n, restyled['sounding_lengths'][0]))

    arrays = [tf.TensorArray(tf.float32, size=tf.shape(durations)[0]) for _ in range(2)]
    _, *arrays = tf.while_loop(lambda n, *_: n < tf.shape(durations)[0], restyle_one,
                               [tf.constant(0)] + arrays)
    new_quarters, sounding = (array.stack() for array in arrays)
    _, new_durations = self.notes_to_tokens(pitches, new_quarters)
    # The last note lasts, and sounds at least as long as the drawn one did, to the bar
    # line (stylexfer.reading.melody.Melody.with_rhythm).
    new_units = _grid_units(new_quarters)
    last_onsets = tf.reduce_sum(new_units[:, :-1], axis=1)
    last = _quarters(ends - last_onsets)
    last_sounding = tf.minimum(tf.maximum(tf.minimum(_quarters(natural_ends - last_onsets),
                                                     last), sounding[:, -1]), last)
    signatures_ = tf.where(tf.equal(bar, FOUR_FOUR), '4/4', '6/8')
    return {'pitches': pitches, 'intervals': intervals, 'durations': new_durations,
            'quarter_lengths': tf.concat([new_quarters[:, :-1], last[:, None]], 1),
            'sounding_lengths': tf.concat([sounding[:, :-1], last_sounding[:, None]], 1),
            'time_signatures': signatures_}

  def _bar_units(self, units, onsets):
    """Each melody's bar in grid units: client.choose_time_signature's choice."""
    four_four = tf.fill(tf.shape(units)[:1], tf.constant(FOUR_FOUR, tf.int64))
    if not self.genre_traits.compound_meter:
      return four_four
    dotted = tf.reduce_sum(tf.where(onsets % (3 * GRID // 2) == 0, units, 0), axis=1)
    plain = tf.reduce_sum(tf.where(onsets % GRID == 0, units, 0), axis=1)
    return tf.where(6 * dotted > 5 * plain, tf.constant(SIX_EIGHT, tf.int64), four_four)

  @tf.function(input_signature=[signatures._tokens(n) for n in melody_model.SEQUENCE_INPUTS])
  def score(self, intervals_in, durations_in, intervals_out, positions, bar_lengths,
            notes_left, styles, tempi):
    inputs = (intervals_in, durations_in, intervals_out, positions, bar_lengths, notes_left)
    pitch = self.pitch_model.score(*inputs, tf.zeros_like(styles), tempi)
    rhythm = self.rhythm_model.score(*inputs, styles, tempi)
    return {'pitch_log_probs': pitch['pitch_log_probs'],
            'duration_log_probs': rhythm['duration_log_probs']}

  @tf.function(input_signature=signatures.SIZE + signatures.CONTROLS)
  def generate(self, batch_size, length, temperature, top_p, seed, style, tempo):
    return self._generate_tokens(batch_size, length,
                                 self._controls(temperature, top_p, seed, style, tempo))

  @tf.function(input_signature=signatures.SIZE + signatures.STRENGTH + signatures.CONTROLS)
  def generate_blended(self, batch_size, length, strength, temperature, top_p, seed, style,
                       tempo):
    return self._generate_tokens(
        batch_size, length, self._controls(temperature, top_p, seed, style, tempo, strength))

  @tf.function(input_signature=signatures.SIZE + [signatures._scalar(tf.int32, 'first_pitch')]
               + signatures.STRENGTH + signatures.CONTROLS)
  def generate_notes_blended(self, batch_size, length, first_pitch, strength, temperature,
                             top_p, seed, style, tempo):
    return self._notes_in_bars(
        batch_size, length, first_pitch,
        self._controls(temperature, top_p, seed, style, tempo, strength))

  @tf.function(input_signature=signatures.SIZE + [signatures._scalar(tf.int32, 'first_pitch')]
               + signatures.CONTROLS)
  def generate_notes(self, batch_size, length, first_pitch, temperature, top_p, seed, style,
                     tempo):
    return self._notes_in_bars(batch_size, length, first_pitch,
                               self._controls(temperature, top_p, seed, style, tempo))

  def _notes_in_bars(self, batch_size, length, first_pitch, controls):
    first_pitch, = checks.after([lambda: signatures.require_midi(first_pitch, 'first_pitch')],
                                first_pitch)
    drawn = self._generate_in_bars(batch_size, length, first_pitch, controls)
    return {name: drawn[name] for name in ('pitches', 'quarter_lengths', 'sounding_lengths',
                                           'time_signatures')}

  def _generate_tokens(self, batch_size, length, controls):
    intervals, durations = self._generate(batch_size, length, controls)
    return {'intervals': intervals, 'durations': durations}

  def signatures(self):
    return {'serving_default': self.score, 'generate': self.generate,
            'generate_blended': self.generate_blended,
            'generate_notes_blended': self.generate_notes_blended, **super().signatures()}


# Durations in 24ths of a quarter note are whole numbers (stylexfer.tokens.vocabulary).
GRID = 24
FOUR_FOUR, SIX_EIGHT = 4 * GRID, 3 * GRID  # bar lengths in grid units


def _grid_units(quarters):
  return tf.cast(tf.round(tf.cast(quarters, tf.float64) * GRID), tf.int64)


def _quarters(units):
  # Through float64, as a Fraction of the grid becomes a Python float, then float32.
  return tf.cast(tf.cast(units, tf.float64) / GRID, tf.float32)


def fold_pitches(pitches):
  """Pitches moved by octaves into client.LOWEST..HIGHEST, as client.fold_pitches."""
  low, high = client.LOWEST, client.HIGHEST
  pitches = tf.where(pitches < low, pitches + 12 * ((low - pitches + 11) // 12), pitches)
  return tf.where(pitches > high, pitches - 12 * ((pitches - high + 11) // 12), pitches)


def merge(pitch_model_dir, rhythm_model_dir, models_dir, name=None, version=None):
  """Writes the merge of two exported SavedModels to <models_dir>/<name>/<version>/; its path."""
  module = MergedModule(tf.saved_model.load(pitch_model_dir),
                        tf.saved_model.load(rhythm_model_dir))
  return saving.save_versioned(module, models_dir, name or module.genre.numpy().decode(), version)

