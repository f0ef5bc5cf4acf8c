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
EPS = 1e-3  # quarter notes: how far an onset may lie off a bar line and still be on it


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


def check_ranks(message, *tensors_and_ranks):
  """An assertion (to pass to `after`) that each (tensor, rank) has that rank.

  First in its list: later checks index the shapes, and a tensor of another rank meets
  them with an error about their own ops.
  """
  return lambda: require(tf.stack([tf.equal(runtime_rank(x), rank)
                                   for x, rank in tensors_and_ranks]), message)


def runtime_rank(tensor):
  """The rank `tensor` has when the graph runs (int32).

  A signature's graph believes its input specs: tf.rank, and the size of tf.shape, are
  folded into the spec's rank. A served request may have another, which only the Shape
  op itself sees: the rank is where a -1 put after the dimensions lies.
  """
  dims = tf.concat([tf.shape(tensor, out_type=tf.int64), tf.constant([-1], tf.int64)], 0)
  return tf.argmin(dims, output_type=tf.int32)


def check_batch(tensor, prefix=''):
  """An assertion (to pass to `after`) that a request holds at least one melody."""
  return lambda: require(tf.shape(tensor)[0] > 0,
                         f'{prefix}a request needs at least one melody (batch > 0)')


def check_melody(intervals, durations, prefix=''):
  """Assertions (to pass to `after`) on a melody: intervals [B, N-1], durations [B, N].

  `prefix` names which melody of a request the messages are about.
  """
  notes = lambda: tf.shape(durations)[1]
  return [
      check_ranks(f'{prefix}intervals and durations must be matrices [batch, notes]',
                  (intervals, 2), (durations, 2)),
      check_batch(durations, prefix),
      lambda: require(notes() > 0, f'{prefix}a melody needs at least one note'),
      lambda: require(notes() <= MAX_LENGTH,
                      f'{prefix}a melody must have at most {MAX_LENGTH} notes', notes()),
      lambda: require(tf.shape(intervals)[1] + 1 == notes(),
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

  def room():
    # Notes a bar holds, each at least the grid's shortest value after the one before:
    # more could not all start inside it (the first note's bar from the pickup on).
    batch, num_bars = tf.shape(bar_lengths)[0], tf.shape(bar_lengths)[1]
    segments = tf.reshape(bars + num_bars * tf.range(batch)[:, None], [-1])
    counts = tf.reshape(tf.math.unsorted_segment_sum(tf.ones_like(segments), segments,
                                                     batch * num_bars), [batch, num_bars])
    free = bar_lengths - tf.one_hot(bars[:, 0], num_bars) * pickup[:, None]
    return tf.cast(counts, tf.float32) * MIN_BAR <= free + EPS

  return [
      check_ranks('bars and bar_lengths must be matrices [batch, notes] and [batch, bars], '
                  'pickup a vector [batch]', (bars, 2), (bar_lengths, 2), (pickup, 1)),
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
      lambda: require(room(), 'a bar must have room for its notes: at most 24 a quarter '
                              'note of its length (after the pickup in the first)'),
  ]


def require_tokens(tokens, vocab_size, name):
  """Every token must be a real value: neither special nor beyond the vocabulary."""
  return require((tokens >= vocabulary.NUM_SPECIAL) & (tokens < vocab_size),
                 f'{name} token ids must be in [{vocabulary.NUM_SPECIAL}, {vocab_size})')
