"""Melodies drawn note by note, from nothing or from a primer: pitch, then duration."""

import functools

import tensorflow as tf

from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import heads
from stylexfer.tokens import vocabulary


def generate(pitch_head, duration_head, batch_size, length, controls, primer=None,
             compiled=False, guidance=0.0):
  """Samples `batch_size` melodies of `length` notes: intervals [B, L-1], durations [B, L].

  Note 0's interval is START (no previous note); each later note draws its interval from
  the pitch head, then its duration from the duration head given that interval, with the
  temperature, top-p and seed of `controls` (a draws.Controls). A primer (intervals
  [B, P-1], durations [B, P]; P may be 0) fixes the first P notes, and the heads read them.
  The steps follow stylexfer.dataset.windows.frame: at note t the pitch head reads note
  t-1's interval and duration, the duration head note t's interval and note t-1's
  duration, START standing in before note 0. `compiled` runs the loop under XLA.
  `guidance` pushes the rhythm of a style asked for away from any style's (heads.guided);
  the tones hear the style unpushed.
  """
  batch_size = tf.convert_to_tensor(batch_size, tf.int32)
  length = tf.convert_to_tensor(length, tf.int32)
  request = checks.check_controls(controls.temperature, controls.top_p) + _check_size(
      batch_size, length)
  if primer is None:
    batch_size, length = checks.after(request, batch_size, length)
    primer_intervals = tf.zeros([batch_size, 0], tf.int32)
    primer_durations = tf.zeros([batch_size, 0], tf.int32)
  else:
    primer_intervals = tf.convert_to_tensor(primer[0], tf.int32)
    primer_durations = tf.convert_to_tensor(primer[1], tf.int32)
    request += _check_primer(primer_intervals, primer_durations, batch_size, length)
    batch_size, length, primer_intervals, primer_durations = checks.after(
        request, batch_size, length, primer_intervals, primer_durations)
  primed = tf.shape(primer_durations)[1]
  start = tf.fill([batch_size], vocabulary.START)
  # Row t is what note t must be (a dummy row past the primer's end, never read).
  forced_intervals = tf.transpose(tf.concat(
      [start[:, None], primer_intervals, tf.fill([batch_size, 1], vocabulary.START)], 1))
  forced_durations = tf.transpose(tf.concat(
      [primer_durations, tf.fill([batch_size, 1], vocabulary.START)], 1))

  loop = _compiled_generate_loop if compiled else _generate_loop
  tables = (pitch_head.tables(), duration_head.tables())
  duration_rows, guide = batch_size, None
  if guidance:
    # A second stream of the duration head, hearing any style: rows B.. of its state.
    duration_rows = 2 * batch_size
    guide = (heads.unstyled_condition(tables[1], controls),
             heads.guidance_weight(guidance, controls))
  intervals, durations = loop(
      (pitch_head.cell, duration_head.cell), tables,
      tuple(heads.request_condition(table, controls) for table in tables),
      (tf.zeros([batch_size, pitch_head.state_size]),
       tf.zeros([duration_rows, duration_head.state_size])),
      (forced_intervals, forced_durations), primed, tf.zeros([length, batch_size], tf.int32),
      (controls.temperature, controls.top_p, draws.seed_key(controls.seed)), guide)
  return tf.transpose(intervals)[:, 1:], tf.transpose(durations)


def _check_size(batch_size, length):
  return [
      lambda: checks.require(batch_size > 0, 'batch_size must be > 0'),
      lambda: checks.require(batch_size <= checks.MAX_BATCH,
                             f'batch_size must be <= {checks.MAX_BATCH}'),
      lambda: checks.require(length > 0, 'length must be > 0'),
      lambda: checks.require(
          tf.cast(batch_size, tf.int64) * tf.cast(length, tf.int64) <= checks.MAX_NOTES,
          f'batch_size * length must be <= {checks.MAX_NOTES} notes'),
      lambda: checks.require(length <= checks.MAX_LENGTH,
                             f'length must be <= {checks.MAX_LENGTH}'),
  ]


def _check_primer(primer_intervals, primer_durations, batch_size, length):
  primed = tf.shape(primer_durations)[1]
  return [
      lambda: checks.require(tf.shape(primer_durations)[0] == batch_size,
                             'primer_durations must have batch_size rows'),
      lambda: checks.require(tf.shape(primer_intervals)[0] == batch_size,
                             'primer_intervals must have batch_size rows'),
      lambda: checks.require(tf.shape(primer_intervals)[1] == tf.maximum(primed - 1, 0),
                             'primer_durations must hold one more note than primer_intervals'),
      lambda: checks.require(primed <= length, 'the primer must not be longer than length'),
      lambda: checks.require_tokens(primer_intervals, vocabulary.NUM_INTERVALS,
                                    'primer interval'),
      lambda: checks.require_tokens(primer_durations, vocabulary.NUM_DURATIONS,
                                    'primer duration'),
  ]


def _generate_loop(cells, tables, conditions, states, forced, primed, notes, draw,
                   guide=None, compiled=False):
  """generate's loop: intervals and durations [L, B], L and B the shape of `notes`.

  `cells`, `tables`, `conditions` (heads.condition of the request), `states` and `forced`
  (the primer's rows) are (pitch, duration) pairs; `draw` is (temperature, top_p, the
  request's seed_key); `guide` None or (the duration head's condition of any style, the
  guidance weight), its state then holding both streams (heads.guided).
  """
  pitch_cell, duration_cell = cells
  forced_intervals, forced_durations = forced
  temperature, top_p, key = draw
  length, batch_size = tf.shape(notes)[0], tf.shape(notes)[1]
  start = tf.fill([batch_size], vocabulary.START)
  # Generated melodies have no bars: every metrical id is 0, folded into the tables once.
  pitch_tokens, pitch_previous = heads.no_metre_tables(tables[0])
  duration_tokens, duration_previous = heads.no_metre_tables(tables[1])
  pitch_condition, duration_condition = conditions

  def body(t, interval, duration, pitch_state, duration_state, intervals, durations):
    heard = ((tf.gather(pitch_tokens, interval) + pitch_condition)
             + tf.gather(pitch_previous, duration))
    pitch_logits, pitch_state = pitch_cell(heard, pitch_state)
    drawn = draws.sample(pitch_logits, temperature, top_p,
                         draws.note_seed(None, t, draws.PITCH, key), compiled=compiled)
    at = tf.minimum(t, primed)
    interval = tf.where(t < primed, forced_intervals[at], drawn)
    interval = tf.where(t > 0, interval, start)
    token, previous = tf.gather(duration_tokens, interval), tf.gather(duration_previous, duration)
    heard = (token + duration_condition) + previous
    if guide is None:
      duration_logits, duration_state = duration_cell(heard, duration_state)
    else:
      duration_logits, duration_state = heads.guided(
          duration_cell, heard, (token + guide[0]) + previous, guide[1], duration_state)
    drawn = draws.sample(duration_logits, temperature, top_p,
                         draws.note_seed(None, t, draws.DURATION, key), compiled=compiled)
    duration = tf.where(t < primed, forced_durations[at], drawn)
    return (t + 1, interval, duration, pitch_state, duration_state,
            tf.tensor_scatter_nd_update(intervals, [[t]], interval[None]),
            tf.tensor_scatter_nd_update(durations, [[t]], duration[None]))

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), start, start, *states, notes, notes),
      maximum_iterations=checks.MAX_LENGTH)
  return loop[5], loop[6]


# The loop under XLA. Shapes come from the tensors passed in (each new batch size and
# length compiles once); the request's checks run before, outside the compiled code.
_compiled_generate_loop = tf.function(functools.partial(_generate_loop, compiled=True),
                                      jit_compile=True)
