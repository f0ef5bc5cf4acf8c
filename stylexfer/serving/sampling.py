"""Sampling melodies inside the graph: LSTM cells stepped in a tf.while_loop.

Each random draw takes a stateless seed folded from the request's seed, the note index
and the stream (pitch, duration, keep), so the same seed gives the same melody in Python,
in a reloaded SavedModel and in TF Serving, and a step-by-step loop in eager mode
(`reference_generate`, `reference_restyle`) gives it too.

The loops take the two heads as `Head`s: each input's share of layer 0's gates as a table
(so in the loop the inputs cost a gather, and what restyle knows in advance, every interval
and the bars, is summed for all notes before the loop starts) and a cell that runs the LSTM
layers from there with one matmul per layer. The same code samples one genre's model and a
merge of two exported SavedModels. `Head.step` is one note over a flat state:

  step(token [B], previous_duration [B], metre [B, 3], state [B, S]) -> logits, state

where the token is the previous interval for the pitch head and the next interval for the
duration head.

`metre` holds the stylexfer.tokens.metre ids (position, bar length, notes left) of the note the
step predicts; zeros where there are no bars to hear (`generate`, `restyle_free`).

Restyling keeps the tune's form (see `restyle`): every note stays in the bar it had and
starts where a score writes an onset (stylexfer.tokens.beats), repeated bars come back with
one rhythm, and strength blends the melody's own rhythm with the genre's at every note.

Bad requests meet graph assertions that every later op depends on, so the error a caller
sees is the assertion that says what is wrong, never a shape error from deeper down.
"""

import functools

import tensorflow as tf

from stylexfer.serving import controls
from stylexfer.tokens import beats
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary

MAX_LENGTH = controls.MAX_LENGTH
MAX_BATCH = 65_536  # melodies per request; 2**17 rows of memory would kill a server
MAX_NOTES = 2 ** 22  # notes per request (batch_size * length): about 100 MB of tokens
MAX_PUSH = controls.MAX_PUSH
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


# Keras keeps an LSTM's gates in the order (input, forget, candidate, output); the heads
# keep them as (input, forget, output, candidate), so one sigmoid covers three gates.
_GATE_ORDER = (0, 1, 3, 2)


def _gates_reordered(weights):
  parts = tf.split(tf.convert_to_tensor(weights), 4, axis=-1)
  return tf.concat([parts[k] for k in _GATE_ORDER], axis=-1)


class Head:
  """One head as the loops step it: layer 0's input projection as tables, then the cell.

  `tables()` returns one table [V_k, G] per input the head reads: the token (previous
  interval for the pitch head, next interval for the duration head), the previous
  duration, and the metre ids (position, bar length, notes left). Each is that input's
  embedding times its rows of layer 0's input kernel, layer 0's bias added to the token
  table, so layer 0's input projection is a sum of table rows. `cell(projected [B, G],
  state [B, S])` -> (logits [B, V], state) runs the LSTM layers from there, one matmul per
  layer. G is 4 * units, the gates in the order (input, forget, output, candidate).
  """

  def __init__(self, tables, cell, state_size):
    self.tables = tables
    self.cell = cell
    self.state_size = state_size

  @classmethod
  def of(cls, owner, name):
    """The `name` head ('pitch' or 'duration') of an export or a merge, from its functions."""
    return cls(getattr(owner, f'{name}_tables'), getattr(owner, f'{name}_cell'),
               int(getattr(owner, f'{name}_state_size')))

  def step(self, token, previous_duration, metre_ids, state):
    """One note: (token [B], previous_duration [B], metre_ids [B, 3], state) -> logits, state.

    The same sums in the same order as the loops, so a loop of steps gives their melody.
    """
    tables = self.tables()
    known = known_inputs(tables, token, metre_ids[:, 1], metre_ids[:, 2])
    return self.cell(known + drawn_inputs(tables, previous_duration, metre_ids[:, 0]), state)


def known_inputs(tables, tokens, bar_length_ids, notes_left_ids):
  """Layer 0's share of what restyle knows before its loop: token, bar length, notes left."""
  token, _, _, bar_length, notes_left = tables
  return ((tf.gather(token, tokens) + tf.gather(bar_length, bar_length_ids))
          + tf.gather(notes_left, notes_left_ids))


def drawn_inputs(tables, previous_durations, position_ids):
  """Layer 0's share of what is drawn in the loop: the previous duration and the position."""
  _, duration, position, _, _ = tables
  return tf.gather(duration, previous_durations) + tf.gather(position, position_ids)


def _no_metre_tables(tables):
  """(token, previous duration) tables with the metre ids 0 folded in (no bars to hear).

  Row for row the same sums as known_inputs and drawn_inputs with metre ids 0.
  """
  token, duration, position, bar_length, notes_left = tables
  return (token + bar_length[0]) + notes_left[0], duration + position[0]


class _HeadWeights(tf.Module):
  """One head of a Keras MelodyModel as the tables and kernels `Head` steps over.

  Computed once from the Keras weights (the SavedModel stores them beside those): the
  tables, layer 0's recurrent kernel, and for every later layer its input and recurrent
  kernels stacked, so a step multiplies [input, h] by one matrix.
  """

  def __init__(self, model, lstms, dense, name=None):
    super().__init__(name=name)
    self.units = model.lstm_units
    first = lstms[0].cell
    kernel = _gates_reordered(first.kernel.value)
    embeddings = [model.interval_embedding, model.duration_embedding]
    widths = [model.embedding_width] * 2
    if model.metre_width:
      embeddings += [model.metre_embeddings[name] for name in metre.INPUTS]
      widths += [model.metre_width] * len(metre.INPUTS)
    tables = [tf.matmul(layer.embeddings.value, rows)
              for layer, rows in zip(embeddings, tf.split(kernel, widths, axis=0))]
    if not model.metre_width:  # a model that hears no metre: its rows add nothing
      tables += [tf.zeros([size, 4 * self.units]) for size in (
          metre.NUM_POSITIONS, metre.NUM_BAR_LENGTHS, metre.NUM_NOTES_LEFT)]
    tables[0] = tables[0] + _gates_reordered(first.bias.value)
    self.tables = [tf.Variable(table, trainable=False, name=f'table_{k}')
                   for k, table in enumerate(tables)]
    self.recurrent = tf.Variable(_gates_reordered(first.recurrent_kernel.value),
                                 trainable=False, name='recurrent_kernel')
    self.kernels = [tf.Variable(_gates_reordered(tf.concat(
        [layer.cell.kernel.value, layer.cell.recurrent_kernel.value], axis=0)),
                                trainable=False, name=f'kernel_{k + 1}')
                    for k, layer in enumerate(lstms[1:])]
    self.biases = [tf.Variable(_gates_reordered(layer.cell.bias.value), trainable=False,
                               name=f'bias_{k + 1}') for k, layer in enumerate(lstms[1:])]
    self.dense_kernel = dense.kernel.value
    self.dense_bias = dense.bias.value

  def read_tables(self):
    return tuple(tf.convert_to_tensor(table) for table in self.tables)

  def cell(self, projected, state):
    units = self.units
    pieces = tf.split(state, 2 * (len(self.kernels) + 1), axis=-1)
    z = projected + tf.matmul(pieces[0], self.recurrent)
    new_state = []
    for k in range(len(self.kernels) + 1):
      if k:
        z = tf.matmul(tf.concat([h, pieces[2 * k]], axis=-1), self.kernels[k - 1])
        z = z + self.biases[k - 1]
      input_gate, forget_gate, output_gate = tf.split(tf.sigmoid(z[:, :3 * units]), 3,
                                                      axis=-1)
      c = forget_gate * pieces[2 * k + 1] + input_gate * tf.tanh(z[:, 3 * units:])
      h = output_gate * tf.tanh(c)
      new_state += [h, c]
    return tf.matmul(h, self.dense_kernel) + self.dense_bias, tf.concat(new_state, axis=-1)


class HeadSteps(tf.Module):
  """One genre model's two heads as `Head`s over flat [batch, size] states.

  The state is [h_0, c_0, h_1, c_1, ...] of the head's LSTM layers, concatenated.
  """

  def __init__(self, model, name=None):
    super().__init__(name=name)
    self.model = model
    self.units = model.lstm_units
    self.layers = model.lstm_layers
    self.state_size = 2 * self.units * self.layers
    self.pitch = _HeadWeights(model, model.pitch_lstms, model.pitch_dense, name='pitch')
    self.duration = _HeadWeights(model, model.duration_lstms, model.duration_dense,
                                 name='duration')
    self.pitch_head = Head(self.pitch.read_tables, self.pitch.cell, self.state_size)
    self.duration_head = Head(self.duration.read_tables, self.duration.cell,
                              self.state_size)

  def pitch_step(self, previous_interval, previous_duration, metre_ids, state):
    return self.pitch_head.step(previous_interval, previous_duration, metre_ids, state)

  def duration_step(self, next_interval, previous_duration, metre_ids, state):
    return self.duration_head.step(next_interval, previous_duration, metre_ids, state)


def unknown_metre(batch_size):
  """Metre ids [B, 3] for a step with no bars to hear."""
  return tf.zeros([batch_size, len(metre.INPUTS)], tf.int32)


def note_seed(seed, note, stream, key=None):
  """The stateless seed of one draw: request seed, note index, stream (pitch/duration/keep).

  Two stateless_fold_in steps, as the melodies have always been drawn: fold_in(s, x) is
  [a random number seeded by s, x], so the first one's random number is the same for every
  note of a request: pass it as `key` (see `seed_key`) to draw it once, not at each note.
  """
  key = seed_key(seed) if key is None else key
  folded = tf.stack([key, tf.cast(note, tf.int64)])
  note_key = tf.random.stateless_uniform([], folded, minval=None, maxval=None,
                                         dtype=tf.int32, alg=_ALG)
  return tf.stack([note_key, tf.constant(stream, tf.int32)])


def seed_key(seed):
  """The part of every note_seed of a request that depends on its seed alone."""
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
  return tf.random.stateless_uniform([], base, minval=None, maxval=None, dtype=tf.int64,
                                     alg=_ALG)


def sample(logits, temperature, top_p, seed, allowed=None, compiled=False):
  """Draws one token per row: temperature, then nucleus (top-p), special tokens excluded.

  `allowed` [B, V] (bool) leaves only those tokens to draw from; a row must allow one.
  `compiled`: the code runs under XLA (see `categorical`).
  """
  logits = tf.cast(logits, tf.float32) / temperature
  special = tf.range(tf.shape(logits)[-1]) < vocabulary.NUM_SPECIAL
  logits = tf.where(special, _NEGATIVE, logits)
  if allowed is not None:
    logits = tf.where(allowed, logits, _NEGATIVE)
  # Keep the smallest set of most likely tokens whose probability reaches top_p (always
  # at least the most likely one): the long tail of rare durations drifts off the beat.
  logits = tf.where(nucleus(logits, top_p, compiled), logits, _NEGATIVE)
  return categorical(logits, seed, compiled)


def nucleus(logits, top_p, compiled=False):
  """The tokens [B, V] (bool) that nucleus sampling keeps.

  In the order of decreasing logits, a token is kept while the probability before it is
  below top_p; tokens tied with a kept one are kept too. `compiled`: the code runs under
  XLA, whose CPU sort is slow (see `sorted_descending`).
  """
  if compiled:
    ordered = sorted_descending(logits)
  else:
    ordered = tf.sort(logits, direction='DESCENDING', axis=-1)
  mass_before = tf.math.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
  kept = tf.where(mass_before < top_p, ordered, tf.float32.max)
  threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
  return logits >= threshold


def sorted_descending(values):
  """tf.sort(values [B, V], 'DESCENDING') as a bitonic sorting network of min and max.

  The sorted values do not depend on how a sort orders ties, so this gives tf.sort's
  values exactly. Under XLA the network's 21 stages (V <= 64) fuse into elementwise work:
  about 3.4x faster than XLA's CPU sort at batch 64, which calls a comparator per
  comparison; outside XLA each stage costs ops, so the plain loops keep tf.sort. V must be
  known when the graph is built.
  """
  batch_size, size = tf.shape(values)[0], values.shape[-1]
  width = 1 << max(size - 1, 0).bit_length()  # the next power of two
  padded = tf.concat([values, tf.fill([batch_size, width - size], tf.float32.min)], -1)
  run = 2
  while run <= width:  # merge sorted runs of run // 2 into bitonic runs of `run`
    gap = run // 2
    while gap:
      pairs = tf.reshape(padded, [batch_size, width // (2 * gap), 2, gap])
      first, second = pairs[:, :, 0], pairs[:, :, 1]
      high, low = tf.maximum(first, second), tf.minimum(first, second)
      # Alternate runs sort down and up, so that two neighbours make a bitonic run.
      down = tf.constant([[block * 2 * gap & run == 0] for block in range(width // (2 * gap))])
      padded = tf.reshape(tf.stack([tf.where(down, high, low), tf.where(down, low, high)], 2),
                          [batch_size, width])
      gap //= 2
    run *= 2
  return padded[:, :size]


def categorical(logits, seed, compiled=False):
  """One draw per row [B] from softmax(logits), from stateless uniform random bits.

  The arithmetic of TensorFlow's CPU kernel of tf.random.stateless_categorical (a float64
  running sum of exp(logit - max), a float64 uniform from two 32-bit Philox words, the
  first sum above it), so it draws what that op drew for the same seed where that kernel
  ran as one shard, and row b always reads words 2b and 2b + 1, however many threads run.
  Written in plain ops, it compiles with XLA to the same draws.

  TensorFlow's own float64 uniform makes the kernel's uniform from those two words in one
  op; XLA makes its float64 uniforms from the bits another way, so `compiled` code makes
  the kernel's uniform from the words itself (the tests check that the two agree).
  """
  batch_size = tf.shape(logits)[0]
  if compiled:
    words = tf.random.stateless_uniform([batch_size, 2], seed, minval=None, maxval=None,
                                        dtype=tf.uint32, alg=_ALG)
    high = tf.cast(tf.bitwise.bitwise_and(words[:, 0], 0xfffff), tf.float64)
    uniform = (high * 2.0 ** 32 + tf.cast(words[:, 1], tf.float64)) * 2.0 ** -52
  else:
    uniform = tf.random.stateless_uniform([batch_size], seed, dtype=tf.float64, alg=_ALG)
  logits = tf.cast(logits, tf.float64)
  totals = tf.math.cumsum(tf.exp(logits - tf.reduce_max(logits, -1, keepdims=True)), -1)
  found = uniform * totals[:, -1]
  drawn = tf.reduce_sum(tf.cast(totals <= found[:, None], tf.int32), -1)
  return tf.minimum(drawn, tf.shape(logits)[-1] - 1)  # u * total rounded up to total


def check_controls(temperature, top_p):
  """Assertions (to pass to `after`) on the sampling controls of any request."""
  return [
      lambda: require(temperature > 0, 'temperature must be > 0'),
      lambda: require((top_p > 0) & (top_p <= 1), 'top_p must be in (0, 1]'),
  ]


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


def generate(pitch_head, duration_head, batch_size, length, temperature, top_p, seed,
             primer_intervals=None, primer_durations=None, compiled=False):
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
      lambda: require(batch_size > 0, 'batch_size must be > 0'),
      lambda: require(batch_size <= MAX_BATCH, f'batch_size must be <= {MAX_BATCH}'),
      lambda: require(length > 0, 'length must be > 0'),
      lambda: require(tf.cast(batch_size, tf.int64) * tf.cast(length, tf.int64) <= MAX_NOTES,
                      f'batch_size * length must be <= {MAX_NOTES} notes'),
      lambda: require(length <= MAX_LENGTH, f'length must be <= {MAX_LENGTH}'),
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
        lambda: require(tf.shape(primer_durations)[0] == batch_size,
                        'primer_durations must have batch_size rows'),
        lambda: require(tf.shape(primer_intervals)[0] == batch_size,
                        'primer_intervals must have batch_size rows'),
        lambda: require(tf.shape(primer_intervals)[1] == tf.maximum(primed - 1, 0),
                        'primer_durations must hold one more note than primer_intervals'),
        lambda: require(primed <= length, 'the primer must not be longer than length'),
        lambda: _require_tokens(primer_intervals, vocabulary.NUM_INTERVALS, 'primer interval'),
        lambda: _require_tokens(primer_durations, vocabulary.NUM_DURATIONS, 'primer duration'),
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

  loop = _compiled_generate_loop if compiled else _generate_loop
  intervals, durations = loop(
      pitch_head.cell, duration_head.cell, pitch_head.tables(), duration_head.tables(),
      tf.zeros([batch_size, pitch_head.state_size]),
      tf.zeros([batch_size, duration_head.state_size]), forced_intervals, forced_durations,
      primed, tf.zeros([length, batch_size], tf.int32), temperature, top_p, seed_key(seed))
  return tf.transpose(intervals)[:, 1:], tf.transpose(durations)


def _generate_loop(pitch_cell, duration_cell, pitch_tables, duration_tables, pitch_state,
                   duration_state, forced_intervals, forced_durations, primed, notes,
                   temperature, top_p, key, compiled=False):
  """generate's loop: intervals and durations [L, B], L and B the shape of `notes`.

  `key` is the request's seed_key.
  """
  length, batch_size = tf.shape(notes)[0], tf.shape(notes)[1]
  start = tf.fill([batch_size], vocabulary.START)
  # Generated melodies have no bars: every metrical id is 0, folded into the tables once.
  pitch_tokens, pitch_previous = _no_metre_tables(pitch_tables)
  duration_tokens, duration_previous = _no_metre_tables(duration_tables)

  def body(t, interval, duration, pitch_state, duration_state, intervals, durations):
    heard = tf.gather(pitch_tokens, interval) + tf.gather(pitch_previous, duration)
    pitch_logits, pitch_state = pitch_cell(heard, pitch_state)
    drawn = sample(pitch_logits, temperature, top_p, note_seed(None, t, _PITCH, key),
                   compiled=compiled)
    at = tf.minimum(t, primed)
    interval = tf.where(t < primed, forced_intervals[at], drawn)
    interval = tf.where(t > 0, interval, start)
    heard = tf.gather(duration_tokens, interval) + tf.gather(duration_previous, duration)
    duration_logits, duration_state = duration_cell(heard, duration_state)
    drawn = sample(duration_logits, temperature, top_p, note_seed(None, t, _DURATION, key),
                   compiled=compiled)
    duration = tf.where(t < primed, forced_durations[at], drawn)
    return (t + 1, interval, duration, pitch_state, duration_state,
            tf.tensor_scatter_nd_update(intervals, [[t]], interval[None]),
            tf.tensor_scatter_nd_update(durations, [[t]], duration[None]))

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), start, start, pitch_state, duration_state, notes, notes),
      maximum_iterations=MAX_LENGTH)
  return loop[5], loop[6]


# The loops under XLA. Shapes come from the tensors passed in (each new batch size and
# length compiles once); the request's checks run before, outside the compiled code.
_compiled_generate_loop = tf.function(functools.partial(_generate_loop, compiled=True),
                                      jit_compile=True)


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
      lambda: _require_tokens(intervals, vocabulary.NUM_INTERVALS, f'{prefix}interval'),
      lambda: _require_tokens(durations, vocabulary.NUM_DURATIONS, f'{prefix}duration'),
  ]


def check_strength(strength):
  """Assertions (to pass to `after`) on restyle's strength."""
  return [
      lambda: require((strength >= 0) & (strength <= 1), 'strength must be in [0, 1]'),
  ]


def listen(duration_head, intervals, durations):
  """The duration head's state after hearing a melody, and that melody's last duration.

  The head reads the melody teacher forced, as in training. Restyling from this state
  instead of silence carries the melody's rhythmic habits into the new rhythm: the way to
  restyle "like" one particular target melody rather than like the genre as a whole.
  Every input is known, so layer 0's input projection is summed for all notes at once.
  """
  batch_size, length = tf.shape(durations)[0], tf.shape(durations)[1]
  start = tf.fill([batch_size, 1], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start, intervals], axis=1))
  previous = tf.transpose(tf.concat([start, durations[:, :-1]], axis=1))
  tables = duration_head.tables()
  no_metre = tf.zeros_like(previous)
  heard = (known_inputs(tables, next_intervals, no_metre, no_metre)
           + drawn_inputs(tables, previous, no_metre))

  def body(t, state):
    return t + 1, duration_head.cell(heard[t], state)[1]

  _, state = tf.while_loop(
      lambda t, _: t < length, body,
      (tf.constant(0), tf.zeros([batch_size, duration_head.state_size])),
      maximum_iterations=MAX_LENGTH)
  return state, durations[:, -1]


def check_like(durations, like_intervals, like_durations):
  """Assertions (to pass to `after`) on the target melody of a restyle "like" it."""
  return check_melody(like_intervals, like_durations, prefix='like: ') + [
      lambda: require(tf.shape(like_durations)[0] == tf.shape(durations)[0],
                      'like: the target melodies must have the batch of the melodies')]


def check_form(durations, bars, bar_lengths, pickup, push):
  """Assertions (to pass to `after`) on the bar structure of a restyle request."""
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
      lambda: require(tf.math.is_finite(bar_lengths) & (bar_lengths > 0),
                      'bar_lengths must be finite and > 0'),
      lambda: require((pickup >= 0) & (pickup < first_bar_length()),
                      "pickup must be in [0, the first note's bar length)"),
      lambda: require((push >= 0) & (push <= MAX_PUSH), f'push must be in [0, {MAX_PUSH}]'),
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


def _restyle_step(step, form, grid, own_ids, own_quarters, strength, temperature, top_p,
                  seed, t, carried, key=None, compiled=False):
  """One note of `restyle`: (onset, previous, state, chosen, positions, beat_kind) -> the
  same, next.

  `step(t, previous_duration, metre_ids, state)` -> (logits, state) is the duration head
  at note t, which knows the note's interval. `beat_kind` is the stylexfer.tokens.beats kind
  of the notes before t in the beat note t starts in.
  """
  onset, previous, state, chosen, positions, beat_kind = carried
  batch_size = tf.shape(onset)[0]
  length = tf.shape(own_ids)[1]
  if form is None:
    position = onset
    metre_ids = unknown_metre(batch_size)
  else:
    position = onset - form['bar_start'][:, t]
    metre_ids = tf.stack([metre.position_ids(position), form['length_ids'][:, t],
                          form['left_ids'][:, t]], 1)
  logits, state = step(t, previous, metre_ids, state)
  blended = (strength * tf.nn.log_softmax(logits) +
             (1.0 - strength) * own_log_probs(own_quarters[:, t], grid))
  allowed = None
  if form is not None:
    beat_kind = beat_kind | place_kinds(position)
    beat = form['bar_start'][:, t] + tf.floor(position + _EPS)
    allowed = _allowed(form, grid, onset, t, length, positions, beat, beat_kind)
  drawn = sample(blended, temperature, top_p, note_seed(seed, t, _DURATION, key), allowed,
                 compiled)
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
  if form is not None:
    following = tf.minimum(t + 1, length - 1)
    next_beat = form['bar_start'][:, following] + tf.floor(
        onset - form['bar_start'][:, following] + _EPS)
    beat_kind = tf.where(tf.abs(next_beat - beat) < _EPS, beat_kind, beats.BOTH)
  return onset, duration, state, chosen, positions, beat_kind


def place_kinds(places):
  """stylexfer.tokens.beats kinds (int32) of onsets `places` quarter notes (float64) after
  their bar lines: beats.place_kinds in the graph, with the loop's tolerance."""
  steps = places * beats.STEPS_PER_BEAT
  rounded = tf.round(steps)
  kinds = tf.gather(tf.constant(beats.KINDS, tf.int32), tf.cast(
      tf.math.floormod(rounded, beats.STEPS_PER_BEAT), tf.int32))
  return tf.where(tf.abs(steps - rounded) < _EPS * beats.STEPS_PER_BEAT, kinds,
                  beats.UNWRITTEN)


def _allowed(form, grid, onset, t, length, positions, beat, beat_kind):
  """Durations [B, V] that keep the next note in its bar with room for the bar's rest,
  and land it where a score writes an onset (stylexfer.tokens.beats).

  `beat` [B] is where the beat of note t starts, `beat_kind` the kind of its notes so far.
  """
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
  # Where a score writes the next onset: on a written place, and in a beat of one kind
  # with the notes of note t's beat before it. Where no landing that fits is written (a
  # bar of the input's 64ths, a twin's onset off the places), the bar comes first.
  bar_line = form['bar_start'][:, following][:, None]
  lands_in_beat = tf.abs(bar_line + tf.floor(landing - bar_line + _EPS)
                         - beat[:, None]) < _EPS
  kinds = place_kinds(landing - bar_line) | tf.where(lands_in_beat, beat_kind[:, None],
                                                     beats.BOTH)
  writes = allowed & (kinds != beats.UNWRITTEN)
  allowed = tf.where(tf.reduce_any(writes, -1, keepdims=True), writes, allowed)
  # Nothing fits (a held note longer than the grid's longest value, say): the nearest.
  gap = tf.maximum(tf.maximum(low[:, None] - landing, landing - high[:, None]), 0.0)
  gap = tf.where(real[None], gap, tf.float64.max)
  nearest = tf.one_hot(tf.argmin(gap, -1, output_type=tf.int32), tf.shape(grid)[0],
                       on_value=True, off_value=False)
  return tf.where(tf.reduce_any(allowed, -1, keepdims=True), allowed, nearest)


def restyle(duration_head, intervals, durations, strength, temperature, top_p, seed,
            interval_values, duration_values, form=None, push=0.0, like_intervals=None,
            like_durations=None, compiled=False):
  """New durations [B, N] for fixed intervals [B, N-1] from a duration head.

  At every note the duration is drawn from a blend of two experts: the head's genre
  (weight `strength`) and the melody's own duration in `durations` [B, N] (weight
  1 - strength); strength 0 gives the melody back, 1 the genre's rhythm. The head hears
  what was chosen. With `form`, (bars [B, N], bar_lengths [B, M], pickup [B]): each note's
  bar index (never decreasing), each bar's length in quarter notes and the first note's
  onset in its bar; then every note stays in its bar (the first note of a bar may start
  up to `push` quarter notes early) on a place a score writes where one fits
  (stylexfer.tokens.beats), the head hears each note's metre, and bars that repeat an
  earlier bar take its rhythm. Without it the rhythm is drawn free, as from a
  head that hears no bars. With a target melody (`like_intervals` [B, C-1],
  `like_durations` [B, C]) the head first listens to it. `compiled` runs the loop under
  XLA (see `generate`).
  """
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  strength = tf.convert_to_tensor(strength, tf.float32)
  push = tf.convert_to_tensor(push, tf.float32)
  checks = (check_controls(temperature, top_p) + check_strength(strength)
            + check_melody(intervals, durations))
  # Every input behind the checks, made once: a request's graph holds each assertion once.
  gated = {'intervals': intervals, 'durations': durations}
  if form is not None:
    gated.update(bars=tf.convert_to_tensor(form[0], tf.int32),
                 bar_lengths=tf.convert_to_tensor(form[1], tf.float32),
                 pickup=tf.convert_to_tensor(form[2], tf.float32))
    checks += check_form(durations, gated['bars'], gated['bar_lengths'], gated['pickup'],
                         push)
  if like_durations is not None:
    gated.update(like_intervals=tf.convert_to_tensor(like_intervals, tf.int32),
                 like_durations=tf.convert_to_tensor(like_durations, tf.int32))
    checks += check_like(durations, gated['like_intervals'], gated['like_durations'])
  gated = dict(zip(gated, after(checks, *gated.values())))
  intervals, durations = gated['intervals'], gated['durations']
  batch_size = tf.shape(durations)[0]
  grid = tf.cast(duration_values, tf.float64)
  own_quarters = tf.gather(grid, durations)
  if form is not None:
    relative_pitches = tf.concat([tf.zeros([batch_size, 1], tf.int32), tf.cumsum(
        tf.gather(interval_values, intervals), axis=1)], 1)
    form = plan_form(relative_pitches, durations, own_quarters, gated['bars'],
                     gated['bar_lengths'], gated['pickup'], push)
    onset = tf.cast(gated['pickup'], tf.float64)
  else:
    onset = tf.zeros([batch_size], tf.float64)
  start = tf.fill([batch_size], vocabulary.START)
  if like_durations is None:
    state, previous = tf.zeros([batch_size, duration_head.state_size]), start
  else:
    state, previous = listen(duration_head, gated['like_intervals'], gated['like_durations'])
  # What the head hears of every note that is known before the loop (its interval, its
  # bar's length and notes left), summed for all notes at once: [N, B, G].
  next_intervals = tf.transpose(tf.concat([start[:, None], intervals], axis=1))
  tables = duration_head.tables()
  if form is None:
    known = known_inputs(tables, next_intervals, tf.zeros_like(next_intervals),
                         tf.zeros_like(next_intervals))
  else:
    known = known_inputs(tables, next_intervals, tf.transpose(form['length_ids']),
                         tf.transpose(form['left_ids']))
  loop = _compiled_restyle_loop if compiled else _restyle_loop
  return tf.transpose(loop(duration_head.cell, tables, known, form, grid, durations,
                           own_quarters, strength, temperature, top_p, seed_key(seed),
                           onset, previous, state))


def _restyle_loop(cell, tables, known, form, grid, durations, own_quarters, strength,
                  temperature, top_p, key, onset, previous, state, compiled=False):
  """restyle's loop: the durations [N, B]; `key` is the request's seed_key."""
  length, batch_size = tf.shape(durations)[1], tf.shape(durations)[0]

  def step(t, previous, metre_ids, state):
    return cell(known[t] + drawn_inputs(tables, previous, metre_ids[:, 0]), state)

  def body(t, *carried):
    return (t + 1,) + _restyle_step(step, form, grid, durations, own_quarters, strength,
                                    temperature, top_p, None, t, carried, key, compiled)

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), onset, previous, state, tf.zeros([length, batch_size], tf.int32),
       tf.zeros([length, batch_size], tf.float64), tf.zeros([batch_size], tf.int32)),
      maximum_iterations=MAX_LENGTH)
  return loop[4]


_compiled_restyle_loop = tf.function(functools.partial(_restyle_loop, compiled=True),
                                     jit_compile=True)


def reference_generate(pitch_head, duration_head, batch_size, length, temperature, top_p,
                       seed, primer_intervals=None, primer_durations=None):
  """`generate` as a plain eager loop of `Head.step`, one note per Python step (for tests
  and timing)."""
  primed = 0 if primer_durations is None else len(primer_durations[0])
  start = tf.fill([batch_size], vocabulary.START)
  no_metre = unknown_metre(batch_size)
  interval, duration = start, start
  pitch_state = tf.zeros([batch_size, pitch_head.state_size])
  duration_state = tf.zeros([batch_size, duration_head.state_size])
  intervals, durations = [], []
  for t in range(length):
    logits, pitch_state = pitch_head.step(interval, duration, no_metre, pitch_state)
    drawn = sample(logits, temperature, top_p, note_seed(seed, t, _PITCH))
    if t == 0:
      interval = start
    elif t < primed:
      interval = tf.constant([row[t - 1] for row in primer_intervals], tf.int32)
    else:
      interval = drawn
    logits, duration_state = duration_head.step(interval, duration, no_metre,
                                                duration_state)
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


def reference_restyle(duration_head, intervals, durations, strength, temperature, top_p,
                      seed, interval_values, duration_values, form=None, push=0.0,
                      like_intervals=None, like_durations=None):
  """`restyle` as a plain eager loop of `Head.step`, one note per Python step (for tests
  and timing)."""
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
  state, previous = tf.zeros([batch_size, duration_head.state_size]), start
  if like_durations is not None:
    like_durations = tf.convert_to_tensor(like_durations, tf.int32)
    no_metre = unknown_metre(batch_size)
    for t in range(like_durations.shape[1]):
      heard = like_intervals[:, t - 1] if t else start
      before = like_durations[:, t - 1] if t else start
      state = duration_head.step(heard, before, no_metre, state)[1]
    previous = like_durations[:, -1]
  carried = (onset, previous, state, tf.zeros([length, batch_size], tf.int32),
             tf.zeros([length, batch_size], tf.float64), tf.zeros([batch_size], tf.int32))

  def step(t, previous, metre_ids, state):
    return duration_head.step(next_intervals[t], previous, metre_ids, state)

  for t in range(length):
    carried = _restyle_step(step, form, grid, durations, own_quarters,
                            tf.constant(strength, tf.float32), temperature, top_p, seed,
                            tf.constant(t), carried)
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
      lambda: require(tf.shape(pitches) == tf.shape(quarter_lengths),
                      f'{prefix}pitches and quarter_lengths must have one shape'),
      lambda: require(tf.shape(pitches)[1] > 0, f'{prefix}a melody needs at least one note'),
      lambda: require(tf.shape(pitches)[1] <= MAX_LENGTH,
                      f'{prefix}a melody must have at most {MAX_LENGTH} notes',
                      tf.shape(pitches)[1]),
      lambda: require((pitches >= 0) & (pitches <= 127),
                      f'{prefix}pitches must be MIDI pitches in [0, 127]'),
      lambda: require(tf.math.is_finite(quarter_lengths) & (quarter_lengths > 0),
                      f'{prefix}quarter_lengths must be finite and > 0'),
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


def _require_tokens(tokens, vocab_size, name):
  """Every token must be a real value: neither special nor beyond the vocabulary."""
  return require((tokens >= vocabulary.NUM_SPECIAL) & (tokens < vocab_size),
                 f'{name} token ids must be in [{vocabulary.NUM_SPECIAL}, {vocab_size})')
