"""The two-headed melody model of one genre: a pitch head and a duration head.

Both heads read the same interval and duration embeddings. The pitch head predicts the
next interval from the intervals and durations so far; the duration head predicts the
next duration from the intervals up to and including that next interval (teacher forced
in training, sampled at generation) and the durations so far. Restyling a melody keeps
its intervals and asks another genre's duration head for the rhythm, which is why the
duration head is conditioned on the interval of the note whose duration it chooses.

Both heads also hear the metre of the note they predict (stylexfer.tokens.metre: its position in
the bar, the bar's length, how many notes of the bar are left), so a restyled rhythm can
be drawn bar by bar and keep the tune's form.

Both heads return logits; `masked_loss` and `masked_accuracy` score them with the masks
described in stylexfer/dataset/windows.py.
"""

import dataclasses
import json

import keras
import tensorflow as tf

from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary

SEQUENCE_INPUTS = ('intervals_in', 'durations_in', 'intervals_out') + metre.INPUTS


@dataclasses.dataclass(frozen=True)
class MelodyConfig:
  """Sizes of one genre's model, and the window length it is trained on."""
  embedding_width: int = 64
  lstm_units: int = 160
  lstm_layers: int = 2
  dropout: float = 0.25
  window: int = 128
  metre_width: int = 16  # width of each metrical input's embedding; 0: no metrical inputs

  def to_json(self):
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text):
    return cls(**json.loads(text))

  def override(self, assignments):
    """A copy with `key=value` strings applied, each value parsed as its field's type."""
    types = {field.name: field.type for field in dataclasses.fields(self)}
    changes = {}
    for assignment in assignments:
      key, sep, value = assignment.partition('=')
      key = key.strip()
      if not sep or key not in types:
        raise ValueError(f'override {assignment!r} is not key=value with a key among '
                         f'{sorted(types)}')
      changes[key] = types[key](value.strip())
    return dataclasses.replace(self, **changes)


# `default` (about 0.8M weights) fits ~300k training tokens per genre (2-3k folk tunes,
# or ~450 jazz solos) without the heavy overfitting a 2M model shows there; `tiny` is
# for tests.
PRESETS = {
    'tiny': MelodyConfig(embedding_width=8, lstm_units=16, lstm_layers=1, dropout=0.0,
                         window=32, metre_width=4),
    'default': MelodyConfig(),
}


def preset(name):
  """The MelodyConfig called `name` (see PRESETS)."""
  try:
    return PRESETS[name]
  except KeyError:
    raise ValueError(f'unknown preset {name!r}; choose one of {sorted(PRESETS)}') from None


MATMUL_DTYPES = ('auto', 'float32', 'bfloat16')


class LSTM(keras.layers.LSTM):
  """keras.layers.LSTM with a faster training pass where there is no GPU.

  Keras steps an LSTM cell per note on CPUs: each step multiplies that step's inputs by the
  kernel, and its gradient adds one [inputs, 4 * units] product per step into the kernel's
  and the recurrent kernel's gradients. Training here does what cuDNN does instead: the
  inputs of all steps go through the kernel in one matmul before the recurrence, each step
  (forward and backward) multiplies only by the recurrent kernel, and the weight
  gradients are one matmul each after the backward recurrence (`lstm_sequence`).

  The weights are the cell's, as in keras.layers.LSTM, so saved models, checkpoints and
  the samplers that step the cell are unchanged. Inference (training=False), and training
  where cuDNN or a TPU may run the layer, take Keras's own path.

  `matmul_dtype` ('float32' or 'bfloat16') is the precision of the training pass's
  matmuls; bfloat16 halves their cost on CPUs with AVX512_BF16 or AMX, while the state,
  the gates and the weights stay float32. It is a training setting, not saved with the
  model (stylexfer.training.task sets it).
  """

  matmul_dtype = 'float32'

  def inner_loop(self, sequences, initial_state, mask, training=False):
    cell = self.cell
    if (not training or mask is not None or not self.return_sequences or self.stateful
        or self.go_backwards or self.unroll or cell.dropout or cell.recurrent_dropout
        or not cell.use_bias or cell.activation is not keras.activations.tanh
        or cell.recurrent_activation is not keras.activations.sigmoid
        or tf.config.list_logical_devices('GPU') or tf.config.list_logical_devices('TPU')):
      return super().inner_loop(sequences, initial_state, mask, training=training)
    outputs, h, c = lstm_sequence(
        sequences, initial_state[0], initial_state[1], cell.kernel.value,
        cell.recurrent_kernel.value, cell.bias.value, matmul_dtype=self.matmul_dtype)
    return h, outputs, [h, c]


class Dropout(keras.layers.Dropout):
  """keras.layers.Dropout with a cheaper draw in training.

  Keras draws a float32 uniform for every value it may drop; here one random byte decides
  each value, so a draw makes a quarter of the random bits and turns none into floats: a
  [64, 128, 160] dropout, forward and backward, takes 3.0 ms instead of 8.6 in the pools
  stylexfer-train sets on a 2-core CPU (benchmarks/dropout_draw.py). A byte decides
  exactly only for a rate of whole 256ths (the default 0.25 is 64 of them); other rates,
  and a noise_shape, take Keras's draw.
  """

  def call(self, inputs, training=False):
    dropped = self.rate * 256  # of the 256 values a byte takes, how many drop
    if (not training or self.noise_shape is not None or dropped != int(dropped)
        or not 0 < dropped < 256):
      return super().call(inputs, training=training)
    # Stateless draws want an int32 seed; the generator's state is int64 (as Keras casts it).
    seed = tf.cast(tf.math.floormod(self.seed_generator.next(), tf.int32.max - 1), tf.int32)
    size = tf.size(inputs)
    words = tf.random.stateless_uniform([(size + 3) // 4], seed, minval=None, maxval=None,
                                        dtype=tf.uint32)
    draws = tf.reshape(tf.reshape(tf.bitcast(words, tf.uint8), [-1])[:size], tf.shape(inputs))
    keep = tf.cast(draws >= int(dropped), inputs.dtype) / (1 - self.rate)
    return inputs * keep


def set_matmul_dtype(model, dtype):
  """Sets the precision of the LSTM layers' training matmuls (see LSTM) of a MelodyModel.

  'auto' is bfloat16 on a CPU that multiplies bfloat16 natively (cpu_has_bfloat16), else
  float32. Returns the dtype set.
  """
  if dtype not in MATMUL_DTYPES:
    raise ValueError(f'unknown matmul dtype {dtype!r}; choose one of {MATMUL_DTYPES}')
  if dtype == 'auto':
    dtype = 'bfloat16' if cpu_has_bfloat16() else 'float32'
  for layer in model.pitch_lstms + model.duration_lstms:
    layer.matmul_dtype = dtype
  return dtype


def cpu_has_bfloat16():
  """Whether this CPU has bfloat16 dot products (AVX512_BF16 or AMX); False if unknown.

  Without them oneDNN converts bfloat16 to float32 and back, and bfloat16 matmuls are
  slower than float32 ones. Read from /proc/cpuinfo, so only Linux says yes.
  """
  try:
    with open('/proc/cpuinfo', encoding='utf-8') as cpuinfo:
      for line in cpuinfo:
        if line.startswith('flags'):
          return bool({'avx512_bf16', 'amx_bf16'} & set(line.split(':', 1)[-1].split()))
  except OSError:
    pass
  return False


def lstm_sequence(inputs, h0, c0, kernel, recurrent_kernel, bias, matmul_dtype='float32'):
  """An LSTM over a whole sequence, with the gradient written out (as cuDNN has it).

  Gates in Keras's order (input, forget, cell, output), sigmoid and tanh activations.
  inputs: float32 [batch, time, features]; h0, c0: [batch, units]. Returns the outputs
  [batch, time, units] and the last h and c. With matmul_dtype='bfloat16' the matmuls
  read and write bfloat16 (oneDNN sums in float32 inside); all else is float32.
  """
  low = tf.as_dtype(matmul_dtype)

  def matmul(a, b, **kwargs):  # a and b already in `low`; a float32 product
    return tf.cast(tf.matmul(a, b, **kwargs), tf.float32)

  @tf.custom_gradient
  def run(inputs, h0, c0, kernel, recurrent_kernel, bias):
    batch, steps, features = tf.unstack(tf.shape(inputs))
    units = tf.shape(recurrent_kernel)[0]
    # Time major, so that a step reads one contiguous [batch, ...] slice. Each operand is
    # cast to `low` once, and kept for the gradient.
    x = tf.cast(tf.reshape(tf.transpose(inputs, [1, 0, 2]), [steps * batch, features]), low)
    kernel_low = tf.cast(kernel, low)
    recurrent = tf.cast(recurrent_kernel, low)
    # tanh(z) = 2 sigmoid(2z) - 1: with the cell candidate's pre-activations doubled, one
    # sigmoid gives all four gates, and each step runs fewer ops. Doubling is exact in
    # bfloat16 too.
    # The weights are doubled rather than the projections: the same values, without a
    # pass over all steps' projections.
    double = tf.concat([tf.ones([2 * units]), tf.fill([units], 2.0), tf.ones([units])], 0)
    recurrent_doubled = tf.cast(recurrent_kernel * double, low)
    # The input projection of every step in one matmul.
    zx = tf.reshape(matmul(x, tf.cast(kernel * double, low)) + bias * double,
                    [steps, batch, 4 * units])

    # What the gradient needs of each step (c and the gates) is written as one block: one
    # array in the loop rather than several is measurably faster (fewer ops per step).
    def step(t, h, c, kept):
      gates = tf.sigmoid(zx[t] + matmul(tf.cast(h, low), recurrent_doubled))
      i, f, s, o = tf.split(gates, 4, axis=1)
      c = f * c + i * (2 * s - 1)
      h = o * tf.tanh(c)
      return t + 1, h, c, kept.write(t, tf.concat([c, gates], 1))

    def arrays(dtype=tf.float32):
      return tf.TensorArray(dtype, size=steps, element_shape=[None, None])

    _, h, c, kept = tf.while_loop(lambda t, *_: t < steps, step, (0, h0, c0, arrays()))
    cs, i, f, s, o = tf.split(kept.stack(), 5, axis=2)
    tanh_c = tf.tanh(cs)
    hs = o * tanh_c  # the outputs, computed for all steps at once

    def gradient(d_outputs, d_h, d_c):
      d_hs = tf.transpose(d_outputs, [1, 0, 2])
      g = 2 * s - 1
      c_before = tf.concat([c0[None], cs[:-1]], 0)
      # What each step's gate gradients are per unit of dc (i, f, g) and of dh (o): all
      # known before the backward recurrence, which then only multiplies.
      per_dc_dh = tf.concat([g * i * (1 - i), c_before * f * (1 - f), i * (1 - g * g),
                             tanh_c * o * (1 - o)], 2)
      dh_to_dc = o * (1 - tanh_c * tanh_c)

      def back(t, dh_next, dc_next, dzs):
        dh = d_hs[t] + dh_next
        dc = dc_next + dh * dh_to_dc[t]
        dz = tf.cast(tf.concat([dc, dc, dc, dh], 1) * per_dc_dh[t], low)
        dh_before = matmul(dz, recurrent, transpose_b=True)
        return t - 1, dh_before, dc * f[t], dzs.write(t, dz)

      d_h = tf.zeros_like(h0) if d_h is None else d_h
      d_c = tf.zeros_like(c0) if d_c is None else d_c
      _, d_h0, d_c0, dzs = tf.while_loop(
          lambda t, *_: t >= 0, back, (steps - 1, d_h, d_c, arrays(low)))
      dz = tf.reshape(dzs.stack(), [steps * batch, 4 * units])
      h_before = tf.cast(tf.reshape(tf.concat([h0[None], hs[:-1]], 0), [steps * batch, units]),
                         low)
      d_kernel = matmul(x, dz, transpose_a=True)
      d_recurrent = matmul(h_before, dz, transpose_a=True)
      d_bias = tf.reduce_sum(tf.cast(dz, tf.float32), 0)
      d_inputs = tf.transpose(
          tf.reshape(matmul(dz, kernel_low, transpose_b=True), [steps, batch, features]),
          [1, 0, 2])
      return d_inputs, d_h0, d_c0, d_kernel, d_recurrent, d_bias

    return (tf.transpose(hs, [1, 0, 2]), h, c), gradient

  return run(inputs, h0, c0, kernel, recurrent_kernel, bias)


@keras.saving.register_keras_serializable(package='stylexfer')
class MelodyModel(keras.Model):
  """Functional model: token windows in, `pitch_logits` and `duration_logits` out.

  Inputs are a dict of int32 [batch, time] tensors `intervals_in`, `durations_in`,
  `intervals_out` and the metrical ids `positions`, `bar_lengths`, `notes_left` of the
  note each step predicts. The LSTM layers keep their names (`pitch_lstm_0`,
  `duration_lstm_1`, ...) and are kept as attributes, so a sampler can step their cells
  one note at a time.
  """

  def __init__(self, embedding_width=64, lstm_units=160, lstm_layers=2, dropout=0.25,
               window=128, metre_width=16, **kwargs):
    # Layers.
    interval_embedding = keras.layers.Embedding(
        vocabulary.NUM_INTERVALS, embedding_width, name='interval_embedding')
    duration_embedding = keras.layers.Embedding(
        vocabulary.NUM_DURATIONS, embedding_width, name='duration_embedding')
    sizes = dict(zip(metre.INPUTS, (metre.NUM_POSITIONS, metre.NUM_BAR_LENGTHS,
                                    metre.NUM_NOTES_LEFT)))
    metre_embeddings = {
        name: keras.layers.Embedding(size, metre_width, name=f'{name}_embedding')
        for name, size in sizes.items()} if metre_width else {}

    # Default activations and no recurrent dropout keep the layers eligible for cuDNN.
    # No masks either: PAD only ever trails a window, a forward LSTM never lets it reach
    # the steps before it, and the loss ignores PAD targets.
    def lstm_stack(head):
      return [LSTM(lstm_units, return_sequences=True, name=f'{head}_lstm_{k}')
              for k in range(lstm_layers)]

    pitch_lstms = lstm_stack('pitch')
    duration_lstms = lstm_stack('duration')
    pitch_dense = keras.layers.Dense(vocabulary.NUM_INTERVALS, name='pitch_logits')
    duration_dense = keras.layers.Dense(vocabulary.NUM_DURATIONS, name='duration_logits')

    # Functional model.
    inputs = {
        name: keras.Input(shape=(None,), dtype='int32', name=name)
        for name in SEQUENCE_INPUTS
    }
    previous_durations = duration_embedding(inputs['durations_in'])
    # Both heads hear the metre of the note they predict.
    heard_metre = [metre_embeddings[name](inputs[name]) for name in metre_embeddings]

    def run_head(head, intervals, lstms):
      x = keras.layers.Concatenate(name=f'{head}_inputs')(
          [intervals, previous_durations] + heard_metre)
      for k, lstm in enumerate(lstms):
        x = lstm(x)
        if dropout:
          x = Dropout(dropout, name=f'{head}_dropout_{k}')(x)
      return x

    pitch = run_head('pitch', interval_embedding(inputs['intervals_in']), pitch_lstms)
    # The same interval embedding reads the next interval for the duration head.
    duration = run_head('duration', interval_embedding(inputs['intervals_out']),
                        duration_lstms)
    outputs = {
        'pitch_logits': pitch_dense(pitch),
        'duration_logits': duration_dense(duration),
    }
    super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    # Config.
    self.embedding_width = embedding_width
    self.lstm_units = lstm_units
    self.lstm_layers = lstm_layers
    self.dropout = dropout
    self.window = window
    self.metre_width = metre_width
    self.interval_embedding = interval_embedding
    self.duration_embedding = duration_embedding
    self.metre_embeddings = metre_embeddings
    self.pitch_lstms = pitch_lstms
    self.duration_lstms = duration_lstms
    self.pitch_dense = pitch_dense
    self.duration_dense = duration_dense

  @property
  def melody_config(self):
    return MelodyConfig(self.embedding_width, self.lstm_units, self.lstm_layers,
                        self.dropout, self.window, self.metre_width)

  def get_config(self):
    return {
        'name': self.name,
        'trainable': self.trainable,
        **dataclasses.asdict(self.melody_config),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)


def build_model(config, name='melody_model'):
  """A fresh MelodyModel for a MelodyConfig."""
  return MelodyModel(**dataclasses.asdict(config), name=name)


HEADS = ('pitch', 'duration')
# Which targets each head's logits are scored on. The pitch head never scores START: note
# 0 has no interval before it, so START there is a given, not a prediction.
TARGETS = {
    'pitch_logits': 'intervals_out',
    'duration_logits': 'durations_out',
}


def target_mask(head, targets):
  """1.0 where `targets` (int [batch, time]) is scored for `head`, else 0.0."""
  keep = tf.not_equal(targets, vocabulary.PAD)
  if head == 'pitch_logits':
    keep = tf.logical_and(keep, tf.not_equal(targets, vocabulary.START))
  elif head != 'duration_logits':
    raise ValueError(f'unknown head {head!r}; expected one of {sorted(TARGETS)}')
  return tf.cast(keep, tf.float32)


def masked_sums(head, targets, logits):
  """Sums of cross-entropy, correct predictions and scored targets for one head.

  Sums rather than means, so that batches (and replicas) holding different numbers of
  real tokens are weighted by their tokens when added up.
  """
  targets = tf.cast(targets, tf.int32)
  mask = target_mask(head, targets)
  logits = tf.cast(logits, tf.float32)
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
  correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), targets),
                    tf.float32)
  return {
      'loss': tf.reduce_sum(cross_entropy * mask),
      'correct': tf.reduce_sum(correct * mask),
      'count': tf.reduce_sum(mask),
  }


def head_sums(targets, outputs):
  """masked_sums of both heads as one flat dict: 'pitch_loss', 'duration_count', ...

  `targets` and `outputs` are keyed by head name ('pitch_logits', 'duration_logits').
  """
  return {f'{name.removesuffix("_logits")}_{key}': value
          for name in TARGETS
          for key, value in masked_sums(name, targets[name], outputs[name]).items()}


def masked_loss(head, targets, logits):
  """Mean cross-entropy (nats per token) of one head over its scored targets."""
  sums = masked_sums(head, targets, logits)
  return sums['loss'] / tf.maximum(sums['count'], 1.0)


def masked_accuracy(head, targets, logits):
  """Share of scored targets where the head's most likely token is the target."""
  sums = masked_sums(head, targets, logits)
  return sums['correct'] / tf.maximum(sums['count'], 1.0)
