"""Where each note falls in its bar, as the ids of the model's three metrical inputs.

Both heads hear, for the note they predict:

  position    the note's onset within its bar, in twelfths of a quarter note (16ths and
              8th and 16th triplets exactly; 32nds round to the nearest twelfth)
  bar length  the bar's length, in 16ths (any time signature, odd bars, pickups whole)
  notes left  how many notes of the bar are still to come, this one included

Id 0 of each means "unknown": the step after the last note, padding, and melodies drawn
without bars (`generate`). Training hides all three from a share of the windows, so a
head works both with and without them.

The same functions make the ids from the records in tf.data and inside the SavedModel's
sampling loop, so training and sampling hear one encoding.
"""

import numpy as np
import tensorflow as tf

POSITIONS_PER_QUARTER = 12
NUM_POSITIONS = 128        # id 1 + twelfths, so positions up to 10.5 quarters
BAR_LENGTHS_PER_QUARTER = 4
NUM_BAR_LENGTHS = 64       # ids 1..63: 16ths, bars up to 15.75 quarters
NUM_NOTES_LEFT = 33        # ids 1..32; a bar with more notes left reads 32
INPUTS = ('positions', 'bar_lengths', 'notes_left')


def position_ids(positions):
  """Ids of onsets within their bars (quarter notes, float); negative ones read 0 quarters."""
  steps = tf.round(tf.cast(positions, tf.float32) * POSITIONS_PER_QUARTER)
  return 1 + tf.cast(tf.clip_by_value(steps, 0, NUM_POSITIONS - 2), tf.int32)


def bar_length_ids(lengths):
  """Ids of bar lengths (quarter notes, float)."""
  steps = tf.round(tf.cast(lengths, tf.float32) * BAR_LENGTHS_PER_QUARTER)
  return tf.cast(tf.clip_by_value(steps, 1, NUM_BAR_LENGTHS - 1), tf.int32)


def notes_left(bars):
  """Notes of each note's bar from it to the bar's end, itself included: int32 [..., N].

  `bars` [B, N] (or [N]) holds each note's bar number, never decreasing along a row.
  """
  bars = tf.convert_to_tensor(bars)
  rows = bars if bars.shape.rank == 2 else bars[None]
  after = tf.searchsorted(rows, rows, side='right', out_type=tf.int32)
  left = after - tf.range(tf.shape(rows)[1], dtype=tf.int32)[None]
  return left if bars.shape.rank == 2 else left[0]


def notes_left_ids(left):
  return tf.clip_by_value(tf.cast(left, tf.int32), 1, NUM_NOTES_LEFT - 1)


def bar_index(bar_numbers):
  """0-based, never decreasing bar indices [N] from a record's bar numbers [N].

  A new bar starts wherever the number changes, so bar numbers that restart or repeat
  (some MusicXML files number the bars of each section from 1) still group the notes.
  """
  bar_numbers = tf.convert_to_tensor(bar_numbers)
  changed = tf.cast(tf.not_equal(bar_numbers[1:], bar_numbers[:-1]), tf.int32)
  return tf.concat([tf.zeros([1], tf.int32), tf.cumsum(changed)], 0)[:tf.size(bar_numbers)]


def record_ids(record):
  """The three metrical id sequences [N] of a melody record (bars, beats, bar_lengths)."""
  return {
      'positions': position_ids(record['beats']),
      'bar_lengths': bar_length_ids(record['bar_lengths']),
      'notes_left': notes_left_ids(notes_left(bar_index(record['bars']))),
  }


def bars_of(durations, bar_length=4, pickup=0):
  """Bar numbers, onsets within the bar and bar lengths for a rhythm in one meter.

  For melodies that come without bars (synthetic data, tests): `durations` are
  inter-onset intervals in quarter notes, `pickup` the first onset's place in its bar.
  """
  onsets = pickup + np.concatenate([[0.0], np.cumsum(np.asarray(durations, float))[:-1]])
  bars = np.floor(onsets / bar_length + 1e-9).astype(np.int32)
  return bars, (onsets - bars * bar_length).astype(np.float32), np.full(
      len(onsets), bar_length, np.float32)


def rhythm_ids(durations, lengths, pickup):
  """The three metrical id sequences [N] (numpy) of any rhythm laid on a bar grid.

  `durations` are inter-onset intervals in quarter notes, `lengths` the bars' lengths
  (the last one repeats past the end), `pickup` the first onset's place in its bar. Each
  onset is given the bar it falls in, kept there or not, so a rhythm drawn without bars
  is heard as it sounds.
  """
  onsets = pickup + np.concatenate([[0.0], np.cumsum(np.asarray(durations, float))[:-1]])
  lengths = np.asarray(lengths, float)
  end = float(onsets[-1]) + 1.0
  last = lengths[-1] if len(lengths) else 4.0
  extra = max(0, int(np.ceil((end - lengths.sum()) / last)))
  lengths = np.concatenate([lengths, np.full(extra, last)])
  starts = np.concatenate([[0.0], np.cumsum(lengths)])
  bars = np.searchsorted(starts, onsets + 1e-6, side='right') - 1
  return {
      'positions': position_ids(onsets - starts[bars]).numpy(),
      'bar_lengths': bar_length_ids(lengths[bars]).numpy(),
      'notes_left': notes_left_ids(notes_left(bars.astype(np.int32))).numpy(),
  }
