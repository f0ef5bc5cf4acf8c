"""Sampling melodies inside the graph: LSTM cells stepped in a tf.while_loop.

Each random draw takes a stateless seed folded from the request's seed, the note index
and the stream (pitch, duration, keep), so the same seed gives the same melody in Python,
in a reloaded SavedModel and in TF Serving, and a step-by-step loop in eager mode
(`reference_generate`, `reference_restyle`) gives it too.

The loops take the two heads as step functions over a flat state, so the same code samples
one genre's model and a merge of two exported SavedModels:

  pitch_step(previous_interval [B], previous_duration [B], metre [B, 3], state [B, S])
      -> logits, state
  duration_step(next_interval [B], previous_duration [B], metre [B, 3], state [B, S])
      -> logits, state

`metre` holds the stylexfer.tokens.metre ids (position, bar length, notes left) of the note the
step predicts; zeros where there are no bars to hear (`generate`, `restyle_free`).

Restyling keeps the tune's form (see `restyle`): every note stays in the bar it had,
repeated bars come back with one rhythm, and strength blends the melody's own rhythm with
the genre's at every note.

Bad requests meet graph assertions that every later op depends on, so the error a caller
sees is the assertion that says what is wrong, never a shape error from deeper down.
"""

import tensorflow as tf

from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary

MAX_LENGTH = 4096  # notes per melody; a request above it is refused, not run for hours
MAX_BATCH = 65_536  # melodies per request; 2**17 rows of memory would kill a server
MAX_NOTES = 2 ** 22  # notes per request (batch_size * length): about 100 MB of tokens
MAX_PUSH = 0.5     # quarter notes a bar's first note may anticipate its bar line (an eighth)
_NEGATIVE = -1e9   # a logit that no draw can pick, yet finite (no NaN in softmax)
# Philox on every device: 'auto_select' would pick another generator on TPU, and the
# same seed would no longer give the same melody there.
_ALG = 'philox'

# Streams of randomness folded into each note's seed.
_PITCH, _DURATION = 0, 1

# Strength blends two experts at every note: log p = s log p_genre + (1 - s) log q_own.
_OWN_PENALTY = 4.0  # nats q_own takes for leaving the own duration at all
_OWN_SLOPE = 4.0    # and per octave further from it
_RESERVE = 0.25     # quarter notes kept for each note still to come in a bar, at most
_EPS = 1e-3         # quarter notes: onsets on the grid lie 1/24 apart


class HeadSteps(tf.Module):
  """One genre model's two heads as single-note steps over flat [batch, size] states.

  The state is [h_0, c_0, h_1, c_1, ...] of the head's LSTM layers, concatenated.
  """

  def __init__(self, model, name=None):
    super().__init__(name=name)
    self.model = model
    self.units = model.lstm_units
    self.layers = model.lstm_layers
    self.state_size = 2 * self.units * self.layers

  def _run(self, cells, dense, intervals, durations, metre_ids, state):
    heard = [self.model.interval_embedding(intervals),
             self.model.duration_embedding(durations)]
    heard += [self.model.metre_embeddings[name](metre_ids[:, k])
              for k, name in enumerate(metre.INPUTS) if self.model.metre_width]
    x = tf.concat(heard, axis=-1)
    pieces = tf.split(state, 2 * self.layers, axis=-1)
    new_state = []
    for k, cell in enumerate(cells):
      x, (h, c) = cell(x, [pieces[2 * k], pieces[2 * k + 1]], training=False)
      new_state += [h, c]
    return dense(x), tf.concat(new_state, axis=-1)

  def pitch_step(self, previous_interval, previous_duration, metre_ids, state):
    return self._run([l.cell for l in self.model.pitch_lstms], self.model.pitch_dense,
                     previous_interval, previous_duration, metre_ids, state)

  def duration_step(self, next_interval, previous_duration, metre_ids, state):
    return self._run([l.cell for l in self.model.duration_lstms], self.model.duration_dense,
                     next_interval, previous_duration, metre_ids, state)


def unknown_metre(batch_size):
  """Metre ids [B, 3] for a step with no bars to hear."""
  return tf.zeros([batch_size, len(metre.INPUTS)], tf.int32)


def note_seed(seed, note, stream):
  """The stateless seed of one draw: request seed, note index, stream (pitch/duration/keep)."""
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
  fold_in = tf.random.experimental.stateless_fold_in
  return fold_in(fold_in(base, tf.cast(note, tf.int64), alg=_ALG), stream, alg=_ALG)


def sample(logits, temperature, top_p, seed, allowed=None):
  """Draws one token per row: temperature, then nucleus (top-p), special tokens excluded.

  `allowed` [B, V] (bool) leaves only those tokens to draw from; a row must allow one.
  """
  logits = tf.cast(logits, tf.float32) / temperature
  special = tf.range(tf.shape(logits)[-1]) < vocabulary.NUM_SPECIAL
  logits = tf.where(special, _NEGATIVE, logits)
  if allowed is not None:
    logits = tf.where(allowed, logits, _NEGATIVE)
  # Keep the smallest set of most likely tokens whose probability reaches top_p (always
  # at least the most likely one): the long tail of rare durations drifts off the beat.
  ordered = tf.sort(logits, direction='DESCENDING', axis=-1)
  mass_before = tf.math.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
  kept = tf.where(mass_before < top_p, ordered, tf.float32.max)
  threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
  logits = tf.where(logits >= threshold, logits, _NEGATIVE)
  return tf.cast(tf.random.stateless_categorical(logits, 1, seed)[:, 0], tf.int32)


def check_controls(temperature, top_p):
  """Assertions (to pass to `after`) on the sampling controls of any request."""
  return [
      lambda: tf.debugging.assert_positive(temperature, message='temperature must be > 0'),
      lambda: tf.debugging.assert_positive(top_p, message='top_p must be in (0, 1]'),
      lambda: tf.debugging.assert_less_equal(top_p, 1.0, message='top_p must be in (0, 1]'),
  ]


def after(checks, *tensors):
  """`tensors` behind assertions: nothing computed from them runs when one fails.

  `checks` are callables that make assertion ops. They are made in order, each behind the
  one before, so when a request breaks several rules the first broken one is reported,
  the same one on every run (an empty melody says so, not that its shapes disagree).
  """
  made = []
  for check in checks:
    with tf.control_dependencies(made[-1:]):
      made.append(check())
  with tf.control_dependencies(made[-1:]):
    return tuple(tf.identity(t) for t in tensors)


def generate(pitch_step, duration_step, pitch_state_size, duration_state_size, batch_size,
             length, temperature, top_p, seed, primer_intervals=None, primer_durations=None):
  """Samples `batch_size` melodies of `length` notes: intervals [B, L-1], durations [B, L].

  Note 0's interval is START (no previous note); each later note draws its interval from
  the pitch head, then its duration from the duration head given that interval. A primer
  (intervals [B, P-1], durations [B, P]; P may be 0) fixes the first P notes, and the
  heads read them. The steps follow stylexfer.dataset.windows.frame: at note t the pitch head reads
  note t-1's interval and duration, the duration head note t's interval and note t-1's
  duration, START standing in before note 0.
  """
  batch_size = tf.convert_to_tensor(batch_size, tf.int32)
  length = tf.convert_to_tensor(length, tf.int32)
  checks = check_controls(temperature, top_p) + [
      lambda: tf.debugging.assert_positive(batch_size, message='batch_size must be > 0'),
      lambda: tf.debugging.assert_less_equal(
          batch_size, MAX_BATCH, message=f'batch_size must be <= {MAX_BATCH}'),
      lambda: tf.debugging.assert_positive(length, message='length must be > 0'),
      lambda: tf.debugging.assert_less_equal(
          tf.cast(batch_size, tf.int64) * tf.cast(length, tf.int64),
          tf.constant(MAX_NOTES, tf.int64),
          message=f'batch_size * length must be <= {MAX_NOTES} notes'),
      lambda: tf.debugging.assert_less_equal(length, MAX_LENGTH,
                                             message=f'length must be <= {MAX_LENGTH}'),
  ]
  if primer_durations is None:
    batch_size, length = after(checks, batch_size, length)
    primer_intervals = tf.zeros([batch_size, 0], tf.int32)
    primer_durations = tf.zeros([batch_size, 0], tf.int32)
  else:
    primer_intervals = tf.convert_to_tensor(primer_intervals, tf.int32)
    primer_durations = tf.convert_to_tensor(primer_durations, tf.int32)
    primed = tf.shape(primer_durations)[1]
    checks += [
        lambda: tf.debugging.assert_equal(
            tf.shape(primer_durations)[0], batch_size,
            message='primer_durations must have batch_size rows'),
        lambda: tf.debugging.assert_equal(
            tf.shape(primer_intervals)[0], batch_size,
            message='primer_intervals must have batch_size rows'),
        lambda: tf.debugging.assert_equal(
            tf.shape(primer_intervals)[1], tf.maximum(primed - 1, 0),
            message='primer_durations must hold one more note than primer_intervals'),
        lambda: tf.debugging.assert_less_equal(
            primed, length, message='the primer must not be longer than length'),
        lambda: _assert_tokens(primer_intervals, vocabulary.NUM_INTERVALS, 'primer interval'),
        lambda: _assert_tokens(primer_durations, vocabulary.NUM_DURATIONS, 'primer duration'),
    ]
    batch_size, length, primer_intervals, primer_durations = after(
        checks, batch_size, length, primer_intervals, primer_durations)
  primed = tf.shape(primer_durations)[1]
  start = tf.fill([batch_size], vocabulary.START)
  # Row t is what note t must be (a dummy row past the primer's end, never read).
  forced_intervals = tf.transpose(tf.concat(
      [start[:, None], primer_intervals, tf.fill([batch_size, 1], vocabulary.START)], 1))
  forced_durations = tf.transpose(tf.concat(
      [primer_durations, tf.fill([batch_size, 1], vocabulary.START)], 1))

  no_metre = unknown_metre(batch_size)

  def body(t, interval, duration, pitch_state, duration_state, intervals, durations):
    pitch_logits, pitch_state = pitch_step(interval, duration, no_metre, pitch_state)
    drawn = sample(pitch_logits, temperature, top_p, note_seed(seed, t, _PITCH))
    at = tf.minimum(t, primed)
    interval = tf.where(t < primed, forced_intervals[at], drawn)
    interval = tf.where(t > 0, interval, start)
    duration_logits, duration_state = duration_step(interval, duration, no_metre,
                                                    duration_state)
    drawn = sample(duration_logits, temperature, top_p, note_seed(seed, t, _DURATION))
    duration = tf.where(t < primed, forced_durations[at], drawn)
    return (t + 1, interval, duration, pitch_state, duration_state,
            intervals.write(t, interval), durations.write(t, duration))

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), start, start, tf.zeros([batch_size, pitch_state_size]),
       tf.zeros([batch_size, duration_state_size]),
       tf.TensorArray(tf.int32, size=length, element_shape=[None]),
       tf.TensorArray(tf.int32, size=length, element_shape=[None])),
      maximum_iterations=MAX_LENGTH)
  intervals = tf.transpose(loop[5].stack())[:, 1:]
  durations = tf.transpose(loop[6].stack())
  return intervals, durations


def check_melody(intervals, durations, prefix=''):
  """Assertions (to pass to `after`) on a melody: intervals [B, N-1], durations [B, N].

  `prefix` names which melody of a request the messages are about.
  """
  notes = tf.shape(durations)[1]
  return [
      lambda: tf.debugging.assert_positive(
          notes, message=f'{prefix}a melody needs at least one note'),
      lambda: tf.debugging.assert_less_equal(
          notes, MAX_LENGTH, message=f'{prefix}a melody must have at most {MAX_LENGTH} notes'),
      lambda: tf.debugging.assert_equal(
          tf.shape(intervals)[1] + 1, notes,
          message=f'{prefix}durations must hold one more note than intervals'),
      lambda: tf.debugging.assert_equal(
          tf.shape(intervals)[0], tf.shape(durations)[0],
          message=f'{prefix}intervals and durations must have the same batch'),
      lambda: _assert_tokens(intervals, vocabulary.NUM_INTERVALS, f'{prefix}interval'),
      lambda: _assert_tokens(durations, vocabulary.NUM_DURATIONS, f'{prefix}duration'),
  ]


def check_strength(strength):
  """Assertions (to pass to `after`) on restyle's strength."""
  return [
      lambda: tf.debugging.assert_greater_equal(strength, 0.0,
                                                message='strength must be in [0, 1]'),
      lambda: tf.debugging.assert_less_equal(strength, 1.0,
                                             message='strength must be in [0, 1]'),
  ]


def listen(duration_step, duration_state_size, intervals, durations):
  """The duration head's state after hearing a melody, and that melody's last duration.

  The head reads the melody teacher forced, as in training. Restyling from this state
  instead of silence carries the melody's rhythmic habits into the new rhythm: the way to
  restyle "like" one particular target melody rather than like the genre as a whole.
  """
  batch_size, length = tf.shape(durations)[0], tf.shape(durations)[1]
  start = tf.fill([batch_size, 1], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start, intervals], axis=1))
  previous = tf.transpose(tf.concat([start, durations[:, :-1]], axis=1))

  no_metre = unknown_metre(batch_size)

  def body(t, state):
    return t + 1, duration_step(next_intervals[t], previous[t], no_metre, state)[1]

  _, state = tf.while_loop(
      lambda t, _: t < length, body,
      (tf.constant(0), tf.zeros([batch_size, duration_state_size])),
      maximum_iterations=MAX_LENGTH)
  return state, durations[:, -1]


def check_like(durations, like_intervals, like_durations):
  """Assertions (to pass to `after`) on the target melody of a restyle "like" it."""
  return check_melody(like_intervals, like_durations, prefix='like: ') + [
      lambda: tf.debugging.assert_equal(
          tf.shape(like_durations)[0], tf.shape(durations)[0],
          message='like: the target melodies must have the batch of the melodies')]


def check_form(durations, bars, bar_lengths, pickup, push):
  """Assertions (to pass to `after`) on the bar structure of a restyle request."""
  def first_bar_length():
    first = tf.clip_by_value(bars[:, :1], 0, tf.shape(bar_lengths)[1] - 1)
    return tf.gather(bar_lengths, first, batch_dims=1)[:, 0]

  return [
      lambda: tf.debugging.assert_equal(tf.shape(bars), tf.shape(durations),
                                        message='bars must hold one bar index per note'),
      lambda: tf.debugging.assert_equal(
          tf.shape(bar_lengths)[0], tf.shape(durations)[0],
          message='bar_lengths must have the batch of the melodies'),
      lambda: tf.debugging.assert_equal(
          tf.shape(pickup)[0], tf.shape(durations)[0],
          message='pickup must hold one value per melody'),
      lambda: tf.debugging.assert_non_negative(bars, message='bars must be >= 0'),
      lambda: tf.debugging.assert_less(
          bars, tf.shape(bar_lengths)[1],
          message='bars must index bar_lengths (each < the number of bars)'),
      lambda: tf.debugging.assert_equal(
          tf.reduce_all(bars[:, 1:] >= bars[:, :-1]), True,
          message='bars must never decrease along a melody'),
      lambda: tf.debugging.assert_equal(
          tf.reduce_all(tf.math.is_finite(bar_lengths) & (bar_lengths > 0)), True,
          message='bar_lengths must be finite and > 0'),
      lambda: tf.debugging.assert_equal(
          tf.reduce_all((pickup >= 0) & (pickup < first_bar_length())), True,
          message="pickup must be in [0, the first note's bar length)"),
      lambda: tf.debugging.assert_equal((push >= 0) & (push <= MAX_PUSH), True,
                                        message=f'push must be in [0, {MAX_PUSH}]'),
  ]


def own_log_probs(own_quarters, grid):
  """log q_own [B, V]: the melody's own rhythm as an expert, peaked on each own duration.

  0 on the own duration; elsewhere a penalty for leaving it plus a slope per octave of
  distance, so that at middling strengths the genre pulls towards near values first.
  """
  grid, own_quarters = tf.cast(grid, tf.float32), tf.cast(own_quarters, tf.float32)
  safe = tf.maximum(grid, 1e-6)[None]
  octaves = tf.abs(tf.math.log(safe / own_quarters[:, None])) / tf.math.log(2.0)
  same = tf.abs(grid[None] - own_quarters[:, None]) < _EPS
  return tf.where(same, 0.0, -(_OWN_PENALTY + _OWN_SLOPE * octaves))


def plan_form(relative_pitches, durations, own_quarters, bars, bar_lengths, pickup, push):
  """What the restyle loop needs to keep the tune's form, per note [B, N].

  Returns a dict: `bar_start`, `bar_end` (quarter notes from the start of the first bar),
  `earliest`, `latest` (where the note may start: inside its bar, leaving room for the
  bar's notes after it), `first` (first note of its bar), `length_ids`, `left_ids`
  (stylexfer.tokens.metre ids) and `copy_from` (the note of an earlier identical bar this note
  repeats, or -1).
  """
  batch, notes = tf.shape(durations)[0], tf.shape(durations)[1]
  num_bars = tf.shape(bar_lengths)[1]
  # Quarter notes in float64: onsets summed over thousands of notes stay exact enough
  # to tell a note on a bar line from one a 24th before it.
  bar_lengths, pickup = tf.cast(bar_lengths, tf.float64), tf.cast(pickup, tf.float64)
  own_quarters = tf.cast(own_quarters, tf.float64)
  starts = tf.concat([tf.zeros([batch, 1], tf.float64), tf.cumsum(bar_lengths, axis=1)], 1)
  bar_start = tf.gather(starts, bars, batch_dims=1)
  bar_end = tf.gather(starts, bars + 1, batch_dims=1)
  left = metre.notes_left(bars)
  first = tf.concat([tf.ones([batch, 1], tf.bool), bars[:, 1:] != bars[:, :-1]], 1)
  # One segment per (melody, bar), for per-bar sums and minima.
  segments = tf.reshape(bars + num_bars * tf.range(batch)[:, None], [-1])
  num_segments = batch * num_bars
  per_bar = lambda op, x: tf.reshape(op(tf.reshape(x, [-1]), segments, num_segments),
                                     [batch, num_bars])
  # Room kept for each note still to come: the bar's shortest own note, at most a 16th,
  # so the input's own rhythm always fits and a bar never has to end in a rush.
  shortest = per_bar(tf.math.unsorted_segment_min, own_quarters)
  reserve = tf.minimum(tf.constant(_RESERVE, tf.float64),
                       tf.gather(shortest, bars, batch_dims=1))
  earliest = bar_start - tf.cast(push, tf.float64) * tf.cast(first, tf.float64)
  latest = (bar_end - tf.cast(left - 1, tf.float64) * reserve
            - float(vocabulary.MIN_DURATION))

  # Repeated bars: an earlier bar with the same notes (pitches relative to the first
  # note, durations, onsets in the bar) and the same length.
  index = tf.broadcast_to(tf.range(notes)[None], [batch, notes])
  first_index = per_bar(tf.math.unsorted_segment_min, index)
  in_bar = tf.cast(index - tf.gather(first_index, bars, batch_dims=1), tf.int64)
  own_onsets = pickup[:, None] + tf.cumsum(own_quarters, axis=1, exclusive=True)
  steps = tf.cast(tf.round((own_onsets - bar_start) * 24), tf.int64) % 4096
  key = (tf.cast(relative_pitches, tf.int64) % 1024 + 1024 * (
      tf.cast(durations, tf.int64) + 64 * (steps + 4096 * in_bar)))
  sums = per_bar(tf.math.unsorted_segment_sum, key)
  squares = per_bar(tf.math.unsorted_segment_sum, (key % 1_000_003) ** 2)
  counts = per_bar(tf.math.unsorted_segment_sum, tf.ones_like(bars))
  lengths = tf.cast(tf.round(bar_lengths * 96), tf.int64)
  same = lambda x: tf.equal(x[:, :, None], x[:, None, :])
  earlier = tf.range(num_bars)[None, :] < tf.range(num_bars)[:, None]
  repeats = (same(sums) & same(squares) & same(counts) & same(lengths) & earlier[None]
             & (counts > 0)[:, :, None])
  source = tf.where(tf.reduce_any(repeats, -1),
                    tf.argmax(tf.cast(repeats, tf.int32), -1, output_type=tf.int32), -1)
  note_source = tf.gather(source, bars, batch_dims=1)
  copy_from = tf.where(
      note_source >= 0,
      tf.gather(first_index, tf.maximum(note_source, 0), batch_dims=1)
      + tf.cast(in_bar, tf.int32), -1)
  # Where each note must start: its twin's onset in a repeated bar; for a bar's first note,
  # the first onset of the earliest bar of its class (see first_onset_classes).
  leader = tf.gather(first_onset_classes(source, counts, steps_by_bar(steps, bars, first,
                                                                      num_bars)),
                     bars, batch_dims=1)
  leader_note = tf.gather(first_index, leader, batch_dims=1)
  aim_from = tf.where(first, tf.where(leader < bars, leader_note, -1), copy_from)
  return {
      'bar_start': bar_start, 'bar_end': bar_end, 'earliest': earliest, 'latest': latest,
      'first': first, 'copy_from': copy_from, 'aim_from': aim_from,
      'length_ids': metre.bar_length_ids(tf.gather(bar_lengths, bars, batch_dims=1)),
      'left_ids': metre.notes_left_ids(left),
  }


def steps_by_bar(steps, bars, first, num_bars):
  """The first note's onset in its bar (24ths) of every bar [B, M]; -1 for an empty bar."""
  batch = tf.shape(bars)[0]
  rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(bars))
  where = tf.boolean_mask(tf.stack([rows, bars], -1), first)
  return tf.tensor_scatter_nd_update(tf.fill([batch, num_bars], tf.constant(-1, tf.int64)),
                                     where, tf.boolean_mask(steps, first))


def first_onset_classes(source, counts, first_steps):
  """For every bar [B, M], the earliest bar whose first onset it must share.

  A repeated bar keeps its twin's rhythm only if it starts where the twin started (its
  twin is in its class) and if the bar after it starts where the bar after the twin did
  (the last note's duration is part of the rhythm): so bar b + 1 and bar source[b] + 1 are
  in one class too. Classes join along both links until nothing changes; a bar without
  notes, or whose first onset in the input differs, stays out.
  """
  batch, num_bars = tf.shape(source)[0], tf.shape(source)[1]
  bars = tf.broadcast_to(tf.range(num_bars)[None], [batch, num_bars])
  rows = tf.broadcast_to(tf.range(batch)[:, None], [batch, num_bars])
  has = source >= 0
  twin = tf.maximum(source, 0)
  after = tf.minimum(bars + 1, num_bars - 1)
  after_twin = tf.minimum(twin + 1, num_bars - 1)
  linked_after = has & (bars + 1 < num_bars) & (twin + 1 < num_bars)
  left = tf.concat([bars, after], 1)
  right = tf.concat([twin, after_twin], 1)
  valid = tf.concat([has, linked_after], 1)
  rows2 = tf.concat([rows, rows], 1)
  notes_in = lambda b: tf.gather(counts, b, batch_dims=1) > 0
  onset_of = lambda b: tf.gather(first_steps, b, batch_dims=1)
  valid &= notes_in(left) & notes_in(right) & tf.equal(onset_of(left), onset_of(right))

  def join(label, _):
    lowest = tf.minimum(tf.gather(label, left, batch_dims=1),
                        tf.gather(label, right, batch_dims=1))
    lowest = tf.where(valid, lowest, num_bars)
    at = lambda b: tf.reshape(tf.stack([rows2, b], -1), [-1, 2])
    joined = tf.tensor_scatter_nd_min(label, at(left), tf.reshape(lowest, [-1]))
    joined = tf.tensor_scatter_nd_min(joined, at(right), tf.reshape(lowest, [-1]))
    return joined, tf.reduce_any(joined != label)

  label, _ = tf.while_loop(lambda _, changed: changed, join, (bars, tf.constant(True)),
                           maximum_iterations=MAX_LENGTH)
  return label


def _row_gather(buffer, rows):
  """buffer [N, B] at row rows[b] of each column b (rows >= 0)."""
  columns = tf.range(tf.shape(rows)[0])
  return tf.gather_nd(buffer, tf.stack([rows, columns], 1))


def _restyle_step(duration_step, form, grid, own_ids, own_quarters, next_intervals,
                  strength, temperature, top_p, seed, t, carried):
  """One note of `restyle`: (onset, previous, state, chosen, positions) -> the same, next."""
  onset, previous, state, chosen, positions = carried
  batch_size = tf.shape(onset)[0]
  length = tf.shape(own_ids)[1]
  if form is None:
    position = onset
    metre_ids = unknown_metre(batch_size)
  else:
    position = onset - form['bar_start'][:, t]
    metre_ids = tf.stack([metre.position_ids(position), form['length_ids'][:, t],
                          form['left_ids'][:, t]], 1)
  logits, state = duration_step(next_intervals[t], previous, metre_ids, state)
  blended = (strength * tf.nn.log_softmax(logits) +
             (1.0 - strength) * own_log_probs(own_quarters[:, t], grid))
  allowed = None
  if form is not None:
    allowed = _allowed(form, grid, onset, t, length, positions)
  drawn = sample(blended, temperature, top_p, note_seed(seed, t, _DURATION), allowed)
  duration = drawn
  if form is not None:
    # The last note of a repeated bar (no aim for the note after it) takes the duration
    # its twin took, where that fits.
    source = form['copy_from'][:, t]
    copied = _row_gather(chosen, tf.maximum(source, 0))
    fits = tf.gather(allowed, copied, batch_dims=1)
    duration = tf.where((source >= 0) & fits, copied, drawn)
  duration = tf.where(strength <= 0.0, own_ids[:, t], duration)  # strength 0: the input
  chosen = tf.tensor_scatter_nd_update(chosen, [[t]], duration[None])
  positions = tf.tensor_scatter_nd_update(positions, [[t]], position[None])
  onset = onset + tf.gather(grid, duration)
  return onset, duration, state, chosen, positions


def _allowed(form, grid, onset, t, length, positions):
  """Durations [B, V] that keep the next note in its bar with room for the bar's rest."""
  landing = onset[:, None] + grid[None]
  last = t + 1 >= length
  following = tf.minimum(t + 1, length - 1)
  # The last note ends inside its bar; any other lands the next one inside the next's.
  low = tf.where(last, onset, form['earliest'][:, following])
  high = tf.where(last, form['bar_end'][:, t], form['latest'][:, following])
  real = grid > 0
  allowed = ((landing >= low[:, None] - _EPS) & (landing <= high[:, None] + _EPS)
             & real[None])
  # A note of a repeated bar starts where its twin started in the bar repeated, and the
  # first note of a bar where the first of its class started (plan_form).
  source = form['aim_from'][:, following]
  aims = (~last) & (source >= 0)
  aim = form['bar_start'][:, following] + _row_gather(positions, tf.maximum(source, 0))
  on_aim = allowed & aims[:, None] & (tf.abs(landing - aim[:, None]) < _EPS)
  allowed = tf.where(tf.reduce_any(on_aim, -1, keepdims=True), on_aim, allowed)
  # Long values lie on a coarser grid, so a twin's onset may be out of reach of the note
  # before it: one note ahead, land where that onset can be reached in one duration.
  after_next = tf.minimum(t + 2, length - 1)
  source = form['aim_from'][:, after_next]
  aims = ((t + 2 < length) & (source >= 0) & (source <= t)
          & (form['aim_from'][:, following] < 0))
  aim = form['bar_start'][:, after_next] + _row_gather(positions, tf.maximum(source, 0))
  needed = aim[:, None, None] - landing[:, :, None] - grid[None, None]
  reachable = tf.reduce_any((tf.abs(needed) < _EPS) & real[None, None], -1)
  ready = allowed & aims[:, None] & reachable
  allowed = tf.where(tf.reduce_any(ready, -1, keepdims=True), ready, allowed)
  # Nothing fits (a held note longer than the grid's longest value, say): the nearest.
  gap = tf.maximum(tf.maximum(low[:, None] - landing, landing - high[:, None]), 0.0)
  gap = tf.where(real[None], gap, tf.float64.max)
  nearest = tf.one_hot(tf.argmin(gap, -1, output_type=tf.int32), tf.shape(grid)[0],
                       on_value=True, off_value=False)
  return tf.where(tf.reduce_any(allowed, -1, keepdims=True), allowed, nearest)


def restyle(duration_step, duration_state_size, intervals, durations, strength,
            temperature, top_p, seed, interval_values, duration_values, form=None,
            push=0.0, like_intervals=None, like_durations=None):
  """New durations [B, N] for fixed intervals [B, N-1] from a duration head.

  At every note the duration is drawn from a blend of two experts: the head's genre
  (weight `strength`) and the melody's own duration in `durations` [B, N] (weight
  1 - strength); strength 0 gives the melody back, 1 the genre's rhythm. The head hears
  what was chosen. With `form`, (bars [B, N], bar_lengths [B, M], pickup [B]): each note's
  bar index (never decreasing), each bar's length in quarter notes and the first note's
  onset in its bar; then every note stays in its bar (the first note of a bar may start
  up to `push` quarter notes early), the head hears each note's metre, and bars that
  repeat an earlier bar take its rhythm. Without it the rhythm is drawn free, as from a
  head that hears no bars. With a target melody (`like_intervals` [B, C-1],
  `like_durations` [B, C]) the head first listens to it.
  """
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  strength = tf.convert_to_tensor(strength, tf.float32)
  push = tf.convert_to_tensor(push, tf.float32)
  checks = (check_controls(temperature, top_p) + check_strength(strength)
            + check_melody(intervals, durations))
  if form is not None:
    bars, bar_lengths, pickup = (tf.convert_to_tensor(form[0], tf.int32),
                                 tf.convert_to_tensor(form[1], tf.float32),
                                 tf.convert_to_tensor(form[2], tf.float32))
    checks += check_form(durations, bars, bar_lengths, pickup, push)
  if like_durations is not None:
    like_intervals = tf.convert_to_tensor(like_intervals, tf.int32)
    like_durations = tf.convert_to_tensor(like_durations, tf.int32)
    checks += check_like(durations, like_intervals, like_durations)
  intervals, durations = after(checks, intervals, durations)
  batch_size, length = tf.shape(durations)[0], tf.shape(durations)[1]
  grid = tf.cast(duration_values, tf.float64)
  own_quarters = tf.gather(grid, durations)
  if form is not None:
    relative_pitches = tf.concat([tf.zeros([batch_size, 1], tf.int32), tf.cumsum(
        tf.gather(interval_values, intervals), axis=1)], 1)
    form = plan_form(relative_pitches, durations, own_quarters,
                     *after(checks, bars, bar_lengths, pickup), push)
    onset = tf.cast(pickup, tf.float64)
  else:
    onset = tf.zeros([batch_size], tf.float64)
  start = tf.fill([batch_size], vocabulary.START)
  if like_durations is None:
    state, previous = tf.zeros([batch_size, duration_state_size]), start
  else:
    state, previous = listen(duration_step, duration_state_size,
                             *after(checks, like_intervals, like_durations))
  next_intervals = tf.transpose(tf.concat([start[:, None], intervals], axis=1))

  def body(t, *carried):
    return (t + 1,) + _restyle_step(duration_step, form, grid, durations, own_quarters,
                                    next_intervals, strength, temperature, top_p, seed, t,
                                    carried)

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), onset, previous, state, tf.zeros([length, batch_size], tf.int32),
       tf.zeros([length, batch_size], tf.float64)),
      maximum_iterations=MAX_LENGTH)
  return tf.transpose(loop[4])


def reference_generate(pitch_step, duration_step, pitch_state_size, duration_state_size,
                       batch_size, length, temperature, top_p, seed, primer_intervals=None,
                       primer_durations=None):
  """`generate` as a plain eager loop, one note per Python step (for tests and timing)."""
  primed = 0 if primer_durations is None else len(primer_durations[0])
  start = tf.fill([batch_size], vocabulary.START)
  no_metre = unknown_metre(batch_size)
  interval, duration = start, start
  pitch_state = tf.zeros([batch_size, pitch_state_size])
  duration_state = tf.zeros([batch_size, duration_state_size])
  intervals, durations = [], []
  for t in range(length):
    logits, pitch_state = pitch_step(interval, duration, no_metre, pitch_state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _PITCH))
    if t == 0:
      interval = start
    elif t < primed:
      interval = tf.constant([row[t - 1] for row in primer_intervals], tf.int32)
    else:
      interval = drawn
    logits, duration_state = duration_step(interval, duration, no_metre, duration_state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _DURATION))
    if t < primed:
      duration = tf.constant([row[t] for row in primer_durations], tf.int32)
    else:
      duration = drawn
    intervals.append(interval)
    durations.append(duration)
  if length == 1:
    return tf.zeros([batch_size, 0], tf.int32), tf.stack(durations, axis=1)
  return tf.stack(intervals[1:], axis=1), tf.stack(durations, axis=1)


def reference_restyle(duration_step, duration_state_size, intervals, durations, strength,
                      temperature, top_p, seed, interval_values, duration_values, form=None,
                      push=0.0, like_intervals=None, like_durations=None):
  """`restyle` as a plain eager loop, one note per Python step (for tests and timing)."""
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  batch_size, length = durations.shape
  grid = tf.cast(duration_values, tf.float64)
  own_quarters = tf.gather(grid, durations)
  onset = tf.zeros([batch_size], tf.float64)
  if form is not None:
    bars, bar_lengths, pickup = (tf.constant(form[0], tf.int32),
                                 tf.constant(form[1], tf.float32),
                                 tf.constant(form[2], tf.float32))
    relative_pitches = tf.concat([tf.zeros([batch_size, 1], tf.int32), tf.cumsum(
        tf.gather(interval_values, intervals), axis=1)], 1)
    form = plan_form(relative_pitches, durations, own_quarters, bars, bar_lengths, pickup,
                     tf.constant(push, tf.float32))
    onset = tf.cast(pickup, tf.float64)
  start = tf.fill([batch_size], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start[:, None], intervals], axis=1))
  state, previous = tf.zeros([batch_size, duration_state_size]), start
  if like_durations is not None:
    like_durations = tf.convert_to_tensor(like_durations, tf.int32)
    state = tf.zeros([batch_size, duration_state_size])
    no_metre = unknown_metre(batch_size)
    for t in range(like_durations.shape[1]):
      heard = like_intervals[:, t - 1] if t else start
      before = like_durations[:, t - 1] if t else start
      state = duration_step(heard, before, no_metre, state)[1]
    previous = like_durations[:, -1]
  carried = (onset, previous, state, tf.zeros([length, batch_size], tf.int32),
             tf.zeros([length, batch_size], tf.float64))
  for t in range(length):
    carried = _restyle_step(duration_step, form, grid, durations, own_quarters,
                            next_intervals, tf.constant(strength, tf.float32), temperature,
                            top_p, seed, tf.constant(t), carried)
  return tf.transpose(carried[3])


def notes_to_tokens(pitches, quarter_lengths, interval_values, duration_values, prefix=''):
  """Interval ids [B, N-1] folded by octaves and duration ids [B, N] snapped to the grid.

  Like stylexfer.tokens.vocabulary.encode, but in the graph and from the tables a SavedModel
  stores (`interval_values`, `duration_values`: the value of every id, 0 for the special
  ones), so a SavedModel alone can read notes. `prefix` names the melody in messages.
  """
  pitches = tf.convert_to_tensor(pitches, tf.int32)
  quarter_lengths = tf.convert_to_tensor(quarter_lengths, tf.float32)
  checks = [
      lambda: tf.debugging.assert_equal(
          tf.shape(pitches), tf.shape(quarter_lengths),
          message=f'{prefix}pitches and quarter_lengths must have one shape'),
      lambda: tf.debugging.assert_positive(tf.shape(pitches)[1],
                                           message=f'{prefix}a melody needs at least one note'),
      lambda: tf.debugging.assert_less_equal(
          tf.shape(pitches)[1], MAX_LENGTH,
          message=f'{prefix}a melody must have at most {MAX_LENGTH} notes'),
      lambda: tf.debugging.assert_equal(
          tf.reduce_all((pitches >= 0) & (pitches <= 127)), True,
          message=f'{prefix}pitches must be MIDI pitches in [0, 127]'),
      lambda: tf.debugging.assert_equal(
          tf.reduce_all(tf.math.is_finite(quarter_lengths) & (quarter_lengths > 0)), True,
          message=f'{prefix}quarter_lengths must be finite and > 0'),
  ]
  pitches, quarter_lengths = after(checks, pitches, quarter_lengths)
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


def _assert_tokens(tokens, vocab_size, name):
  """Every token must be a real value: neither special nor beyond the vocabulary."""
  return tf.debugging.assert_equal(
      tf.reduce_all((tokens >= vocabulary.NUM_SPECIAL) & (tokens < vocab_size)), True,
      message=f'{name} token ids must be in [{vocabulary.NUM_SPECIAL}, {vocab_size})')
