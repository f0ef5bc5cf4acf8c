"""A request's checks: graph assertions that every later op depends on.

Bad requests meet assertions that every later op depends on, so the error a caller sees is
the assertion that says what is wrong, never a shape error from deeper down.
"""

import tensorflow as tf

from stylexfer.serving import controls
from stylexfer.tokens import vocabulary


MAX_LENGTH = controls.MAX_LENGTH
MAX_BATCH = 65_536  # melodies per request; 2**17 rows of memory would kill a server
MAX_NOTES = 2 ** 22  # notes per request (batch_size * length): about 100 MB of tokens
MAX_PUSH = controls.MAX_PUSH
# Bar lengths in quarter notes: a bar holds at least the shortest duration and at most 16
# whole notes (longer "bars" are a free-time melody: restyle it without bars).
MIN_BAR, MAX_BAR = float(vocabulary.MIN_DURATION), 64.0


def require(condition, message, *values):
  """An assertion op: fails with `message` and `values` unless all of `condition` holds.

  `values` (int32 tensors) are reported after the message. This is one Assert op, where
  each tf.debugging.assert_* also reports its operands and, for operands of other types,
  wraps that in a cond of two branch functions: those were 400 of the 469 functions of a
  genre's SavedModel, and loading spends its time per function.
  """
  return tf.debugging.Assert(tf.reduce_all(condition), [message, *values])


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


def check_controls(temperature, top_p):
  """Assertions (to pass to `after`) on the sampling controls of any request."""
  return [
      lambda: require(temperature >= controls.MIN_TEMPERATURE,
                      f'temperature must be >= {controls.MIN_TEMPERATURE:g}'),
      lambda: require((top_p > 0) & (top_p <= 1), 'top_p must be in (0, 1]'),
  ]


def check_melody(intervals, durations, prefix=''):
  """Assertions (to pass to `after`) on a melody: intervals [B, N-1], durations [B, N].

  `prefix` names which melody of a request the messages are about.
  """
  notes = tf.shape(durations)[1]
  return [
      lambda: require(notes > 0, f'{prefix}a melody needs at least one note'),
      lambda: require(notes <= MAX_LENGTH,
                      f'{prefix}a melody must have at most {MAX_LENGTH} notes', notes),
      lambda: require(tf.shape(intervals)[1] + 1 == notes,
                      f'{prefix}durations must hold one more note than intervals'),
      lambda: require(tf.shape(intervals)[0] == tf.shape(durations)[0],
                      f'{prefix}intervals and durations must have the same batch'),
      lambda: require_tokens(intervals, vocabulary.NUM_INTERVALS, f'{prefix}interval'),
      lambda: require_tokens(durations, vocabulary.NUM_DURATIONS, f'{prefix}duration'),
  ]


def check_strength(strength):
  """Assertions (to pass to `after`) on restyle's strength."""
  return [
      lambda: require((strength >= 0) & (strength <= 1), 'strength must be in [0, 1]'),
  ]


def check_like(durations, like_intervals, like_durations):
  """Assertions (to pass to `after`) on the target melody of a restyle "like" it."""
  return check_melody(like_intervals, like_durations, prefix='like: ') + [
      lambda: require(tf.shape(like_durations)[0] == tf.shape(durations)[0],
                      'like: the target melodies must have the batch of the melodies')]


def check_form(durations, form):
  """Assertions (to pass to `after`) on the bar structure (a form.Form) of a restyle request."""
  bars, bar_lengths, pickup, push = form.bars, form.bar_lengths, form.pickup, form.push

  def first_bar_length():
    first = tf.clip_by_value(bars[:, :1], 0, tf.shape(bar_lengths)[1] - 1)
    return tf.gather(bar_lengths, first, batch_dims=1)[:, 0]

  return [
      lambda: require(tf.shape(bars) == tf.shape(durations),
                      'bars must hold one bar index per note'),
      lambda: require(tf.shape(bar_lengths)[0] == tf.shape(durations)[0],
                      'bar_lengths must have the batch of the melodies'),
      lambda: require(tf.shape(pickup)[0] == tf.shape(durations)[0],
                      'pickup must hold one value per melody'),
      lambda: require(bars >= 0, 'bars must be >= 0'),
      lambda: require(bars < tf.shape(bar_lengths)[1],
                      'bars must index bar_lengths (each < the number of bars)'),
      lambda: require(bars[:, 1:] >= bars[:, :-1], 'bars must never decrease along a melody'),
      lambda: require(tf.shape(bar_lengths)[1] <= MAX_LENGTH,
                      f'a melody must have at most {MAX_LENGTH} bars'),
      lambda: require((bar_lengths >= MIN_BAR) & (bar_lengths <= MAX_BAR),
                      f'bar_lengths must be in [{MIN_BAR:g}, {MAX_BAR:g}] quarter notes'),
      lambda: require((pickup >= 0) & (pickup < first_bar_length()),
                      "pickup must be in [0, the first note's bar length)"),
      lambda: require((push >= 0) & (push <= MAX_PUSH), f'push must be in [0, {MAX_PUSH}]'),
  ]


def require_tokens(tokens, vocab_size, name):
  """Every token must be a real value: neither special nor beyond the vocabulary."""
  return require((tokens >= vocabulary.NUM_SPECIAL) & (tokens < vocab_size),
                 f'{name} token ids must be in [{vocabulary.NUM_SPECIAL}, {vocab_size})')
