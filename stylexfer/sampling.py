"""Sampling melodies inside the graph: LSTM cells stepped in a tf.while_loop.

Each random draw takes a stateless seed folded from the request's seed, the note index
and the stream (pitch, duration, keep), so the same seed gives the same melody in Python,
in a reloaded SavedModel and in TF Serving, and a step-by-step loop in eager mode
(`reference_generate`, `reference_restyle`) gives it too.

The loops take the two heads as step functions over a flat state, so the same code samples
one genre's model and a merge of two exported SavedModels:

  pitch_step(previous_interval [B], previous_duration [B], state [B, S]) -> logits, state
  duration_step(next_interval [B], previous_duration [B], state [B, S]) -> logits, state

Bad requests meet graph assertions that every later op depends on, so the error a caller
sees is the assertion that says what is wrong, never a shape error from deeper down.
"""

import tensorflow as tf

from stylexfer import vocabulary

MAX_LENGTH = 4096  # notes per melody; a request above it is refused, not run for hours
_NEGATIVE = -1e9   # a logit that no draw can pick, yet finite (no NaN in softmax)
# Philox on every device: 'auto_select' would pick another generator on TPU, and the
# same seed would no longer give the same melody there.
_ALG = 'philox'

# Streams of randomness folded into each note's seed.
_PITCH, _DURATION, _KEEP = 0, 1, 2


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

  def _run(self, cells, dense, intervals, durations, state):
    x = tf.concat([self.model.interval_embedding(intervals),
                   self.model.duration_embedding(durations)], axis=-1)
    pieces = tf.split(state, 2 * self.layers, axis=-1)
    new_state = []
    for k, cell in enumerate(cells):
      x, (h, c) = cell(x, [pieces[2 * k], pieces[2 * k + 1]], training=False)
      new_state += [h, c]
    return dense(x), tf.concat(new_state, axis=-1)

  def pitch_step(self, previous_interval, previous_duration, state):
    return self._run([l.cell for l in self.model.pitch_lstms], self.model.pitch_dense,
                     previous_interval, previous_duration, state)

  def duration_step(self, next_interval, previous_duration, state):
    return self._run([l.cell for l in self.model.duration_lstms], self.model.duration_dense,
                     next_interval, previous_duration, state)


def note_seed(seed, note, stream):
  """The stateless seed of one draw: request seed, note index, stream (pitch/duration/keep)."""
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
  fold_in = tf.random.experimental.stateless_fold_in
  return fold_in(fold_in(base, tf.cast(note, tf.int64), alg=_ALG), stream, alg=_ALG)


def sample(logits, temperature, top_p, seed):
  """Draws one token per row: temperature, then nucleus (top-p), special tokens excluded."""
  logits = tf.cast(logits, tf.float32) / temperature
  special = tf.range(tf.shape(logits)[-1]) < vocabulary.NUM_SPECIAL
  logits = tf.where(special, _NEGATIVE, logits)
  # Keep the smallest set of most likely tokens whose probability reaches top_p (always
  # at least the most likely one): the long tail of rare durations drifts off the beat.
  ordered = tf.sort(logits, direction='DESCENDING', axis=-1)
  mass_before = tf.math.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
  kept = tf.where(mass_before < top_p, ordered, tf.float32.max)
  threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
  logits = tf.where(logits >= threshold, logits, _NEGATIVE)
  return tf.cast(tf.random.stateless_categorical(logits, 1, seed)[:, 0], tf.int32)


def keep_own(strength, batch_size, seed, note):
  """True where restyle keeps a row's own duration at `note` (probability 1 - strength)."""
  draw = tf.random.stateless_uniform([batch_size], note_seed(seed, note, _KEEP), alg=_ALG)
  return draw >= strength


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
  heads read them. The steps follow stylexfer.windows.frame: at note t the pitch head reads
  note t-1's interval and duration, the duration head note t's interval and note t-1's
  duration, START standing in before note 0.
  """
  batch_size = tf.convert_to_tensor(batch_size, tf.int32)
  length = tf.convert_to_tensor(length, tf.int32)
  checks = check_controls(temperature, top_p) + [
      lambda: tf.debugging.assert_positive(batch_size, message='batch_size must be > 0'),
      lambda: tf.debugging.assert_positive(length, message='length must be > 0'),
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

  def body(t, interval, duration, pitch_state, duration_state, intervals, durations):
    pitch_logits, pitch_state = pitch_step(interval, duration, pitch_state)
    drawn = sample(pitch_logits, temperature, top_p, note_seed(seed, t, _PITCH))
    at = tf.minimum(t, primed)
    interval = tf.where(t < primed, forced_intervals[at], drawn)
    interval = tf.where(t > 0, interval, start)
    duration_logits, duration_state = duration_step(interval, duration, duration_state)
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

  def body(t, state):
    return t + 1, duration_step(next_intervals[t], previous[t], state)[1]

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


def restyle(duration_step, duration_state_size, intervals, durations, strength,
            temperature, top_p, seed, like_intervals=None, like_durations=None):
  """New durations [B, N] for fixed intervals [B, N-1] from a duration head.

  At each note, with probability `strength` the duration is drawn from the head, else
  the melody's own duration in `durations` [B, N] is kept; either way it is what the head
  hears as the previous duration. Strength 1 rewrites the whole rhythm, 0 keeps it.
  Draws use the same seeds as `generate`'s duration draws, so restyling a model's own
  melody with its generating seed gives that melody back. With a target melody
  (`like_intervals` [B, C-1], `like_durations` [B, C]) the head first listens to it.
  """
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  checks = (check_controls(temperature, top_p) + check_strength(strength)
            + check_melody(intervals, durations))
  if like_durations is not None:
    like_intervals = tf.convert_to_tensor(like_intervals, tf.int32)
    like_durations = tf.convert_to_tensor(like_durations, tf.int32)
    checks += check_like(durations, like_intervals, like_durations)
  intervals, durations = after(checks, intervals, durations)
  batch_size, length = tf.shape(durations)[0], tf.shape(durations)[1]
  start = tf.fill([batch_size], vocabulary.START)
  if like_durations is None:
    state, previous = tf.zeros([batch_size, duration_state_size]), start
  else:
    state, previous = listen(duration_step, duration_state_size,
                             *after(checks, like_intervals, like_durations))
  next_intervals = tf.transpose(tf.concat([start[:, None], intervals], axis=1))
  own_durations = tf.transpose(durations)

  def body(t, duration, state, out):
    logits, state = duration_step(next_intervals[t], duration, state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _DURATION))
    duration = tf.where(keep_own(strength, batch_size, seed, t), own_durations[t], drawn)
    return t + 1, duration, state, out.write(t, duration)

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), previous, state,
       tf.TensorArray(tf.int32, size=length, element_shape=[None])),
      maximum_iterations=MAX_LENGTH)
  return tf.transpose(loop[3].stack())


def reference_generate(pitch_step, duration_step, pitch_state_size, duration_state_size,
                       batch_size, length, temperature, top_p, seed, primer_intervals=None,
                       primer_durations=None):
  """`generate` as a plain eager loop, one note per Python step (for tests and timing)."""
  primed = 0 if primer_durations is None else len(primer_durations[0])
  start = tf.fill([batch_size], vocabulary.START)
  interval, duration = start, start
  pitch_state = tf.zeros([batch_size, pitch_state_size])
  duration_state = tf.zeros([batch_size, duration_state_size])
  intervals, durations = [], []
  for t in range(length):
    logits, pitch_state = pitch_step(interval, duration, pitch_state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _PITCH))
    if t == 0:
      interval = start
    elif t < primed:
      interval = tf.constant([row[t - 1] for row in primer_intervals], tf.int32)
    else:
      interval = drawn
    logits, duration_state = duration_step(interval, duration, duration_state)
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
                      temperature, top_p, seed, like_intervals=None, like_durations=None):
  """`restyle` as a plain eager loop, one note per Python step (for tests and timing)."""
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  batch_size, length = durations.shape
  duration = tf.fill([batch_size], vocabulary.START)
  state = tf.zeros([batch_size, duration_state_size])
  if like_durations is not None:
    like_intervals = tf.convert_to_tensor(like_intervals, tf.int32)
    like_durations = tf.convert_to_tensor(like_durations, tf.int32)
    for t in range(like_durations.shape[1]):
      heard = like_intervals[:, t - 1] if t else tf.fill([batch_size], vocabulary.START)
      before = like_durations[:, t - 1] if t else tf.fill([batch_size], vocabulary.START)
      state = duration_step(heard, before, state)[1]
    duration = like_durations[:, -1]
  out = []
  for t in range(length):
    interval = intervals[:, t - 1] if t else tf.fill([batch_size], vocabulary.START)
    logits, state = duration_step(interval, duration, state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _DURATION))
    duration = tf.where(keep_own(strength, batch_size, seed, t), durations[:, t], drawn)
    out.append(duration)
  return tf.stack(out, axis=1)


def notes_to_tokens(pitches, quarter_lengths, interval_values, duration_values):
  """Interval ids [B, N-1] folded by octaves and duration ids [B, N] snapped to the grid.

  Like stylexfer.vocabulary.encode, but in the graph and from the tables a SavedModel
  stores (`interval_values`, `duration_values`: the value of every id, 0 for the special
  ones), so a SavedModel alone can read notes.
  """
  pitches = tf.convert_to_tensor(pitches, tf.int32)
  quarter_lengths = tf.convert_to_tensor(quarter_lengths, tf.float32)
  checks = [
      lambda: tf.debugging.assert_equal(
          tf.shape(pitches), tf.shape(quarter_lengths),
          message='pitches and quarter_lengths must have one shape'),
      lambda: tf.debugging.assert_positive(tf.shape(pitches)[1],
                                           message='a melody needs at least one note'),
      lambda: tf.debugging.assert_positive(quarter_lengths,
                                           message='quarter_lengths must be > 0'),
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
  """MIDI pitches [B, N] from first pitches [B] and interval ids; quarter lengths [B, N]."""
  steps = tf.gather(interval_values, intervals)
  first_pitch = tf.cast(first_pitch, tf.int32)[:, None]
  pitches = tf.concat([first_pitch, first_pitch + tf.cumsum(steps, axis=1)], axis=1)
  return pitches, tf.gather(duration_values, durations)


def _assert_tokens(tokens, vocab_size, name):
  """Every token must be a real value: neither special nor beyond the vocabulary."""
  return tf.debugging.assert_equal(
      tf.reduce_all((tokens >= vocabulary.NUM_SPECIAL) & (tokens < vocab_size)), True,
      message=f'{name} token ids must be in [{vocabulary.NUM_SPECIAL}, {vocab_size})')
