"""Notes to tokens and back inside the graph, from the tables a SavedModel stores.
"""

import tensorflow as tf

from stylexfer.serving.sampling import checks
from stylexfer.tokens import vocabulary


def notes_to_tokens(pitches, quarter_lengths, interval_values, duration_values, prefix=''):
  """Interval ids [B, N-1] folded by octaves and duration ids [B, N] snapped to the grid.

  Like stylexfer.tokens.vocabulary.encode, but in the graph and from the tables a SavedModel
  stores (`interval_values`, `duration_values`: the value of every id, 0 for the special
  ones), so a SavedModel alone can read notes. `prefix` names the melody in messages.
  """
  pitches = tf.convert_to_tensor(pitches, tf.int32)
  quarter_lengths = tf.convert_to_tensor(quarter_lengths, tf.float32)
  request = [
      checks.check_ranks(f'{prefix}pitches and quarter_lengths must be matrices [batch, notes]',
                         (pitches, 2), (quarter_lengths, 2)),
      checks.check_batch(pitches, prefix),
      lambda: checks.require(tf.shape(pitches) == tf.shape(quarter_lengths),
                      f'{prefix}pitches and quarter_lengths must have one shape'),
      lambda: checks.require(tf.shape(pitches)[1] > 0, f'{prefix}a melody needs at least one note'),
      lambda: checks.require(tf.shape(pitches)[1] <= checks.MAX_LENGTH,
                      f'{prefix}a melody must have at most {checks.MAX_LENGTH} notes',
                      tf.shape(pitches)[1]),
      lambda: checks.require((pitches >= 0) & (pitches <= 127),
                      f'{prefix}pitches must be MIDI pitches in [0, 127]'),
      lambda: checks.require(tf.math.is_finite(quarter_lengths) & (quarter_lengths > 0),
                      f'{prefix}quarter_lengths must be finite and > 0'),
  ]
  pitches, quarter_lengths = checks.after(request, pitches, quarter_lengths)
  low = interval_values[vocabulary.NUM_SPECIAL]
  high = interval_values[-1]
  steps = pitches[:, 1:] - pitches[:, :-1]
  steps = tf.where(steps > high, steps - 12 * ((steps - high + 11) // 12), steps)
  steps = tf.where(steps < low, steps + 12 * ((low - steps + 11) // 12), steps)
  intervals = steps - low + vocabulary.NUM_SPECIAL
  # Distances in units of the finest grid step (every grid value is a multiple of it):
  # float64 holds them exactly, so a true tie (a 64th note lies halfway between 1/24 and
  # 1/12) stays a tie, and argmin gives it to the shorter value, as the vocabulary says.
  grid = tf.cast(duration_values[vocabulary.NUM_SPECIAL:], tf.float64)
  steps_per_quarter = tf.round(1.0 / grid[0])
  grid = tf.round(grid * steps_per_quarter)
  distance = tf.abs(tf.cast(quarter_lengths, tf.float64)[..., None] * steps_per_quarter
                    - grid)
  durations = tf.argmin(distance, axis=-1, output_type=tf.int32) + vocabulary.NUM_SPECIAL
  return intervals, durations


def tokens_to_notes(first_pitch, intervals, durations, interval_values, duration_values):
  """MIDI pitches [B, N] from first pitches [B] and interval ids; quarter lengths [B, N].

  A long run of leaps one way can leave the MIDI range; such pitches are moved by octaves
  back into 0..127, so every pitch a signature returns is a MIDI pitch.
  """
  steps = tf.gather(interval_values, intervals)
  first_pitch = tf.cast(first_pitch, tf.int32)[:, None]
  pitches = tf.concat([first_pitch, first_pitch + tf.cumsum(steps, axis=1)], axis=1)
  pitches = tf.where(pitches > 127, pitches - 12 * ((pitches - 127 + 11) // 12), pitches)
  pitches = tf.where(pitches < 0, pitches + 12 * ((11 - pitches) // 12), pitches)
  return pitches, tf.gather(duration_values, durations)
