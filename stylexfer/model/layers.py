"""The model's layers where Keras's own are slow on a CPU: the LSTM's training pass, dropout.

Keras steps an LSTM cell per note on CPUs and draws a float32 uniform per dropped value;
these layers keep Keras's weights and inference path and train faster without a GPU.
"""

import keras
import tensorflow as tf

from stylexfer.model import config as config_lib


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
  stylexfer-train sets on a 2-core CPU (measured at commit a838d27). A byte decides
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
  if dtype not in config_lib.MATMUL_DTYPES:
    raise ValueError(f'unknown matmul dtype {dtype!r}; choose one of '
                     f'{config_lib.MATMUL_DTYPES}')
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

    h, c, (cs, i, f, s, o) = _forward(zx, h0, c0, recurrent_doubled, matmul, low)
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
          lambda t, *_: t >= 0, back, (steps - 1, d_h, d_c, _arrays(steps, low)))
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


def _forward(zx, h0, c0, recurrent_doubled, matmul, low):
  """lstm_sequence's forward recurrence over the input projections zx [steps, batch, 4u].

  Returns the last h and c, and each step's (c, i, f, s, o) [steps, batch, units]: what
  the gradient needs of each step is written as one block, one array in the loop rather
  than several being measurably faster (fewer ops per step).
  """
  steps = tf.shape(zx)[0]

  def step(t, h, c, kept):
    gates = tf.sigmoid(zx[t] + matmul(tf.cast(h, low), recurrent_doubled))
    i, f, s, o = tf.split(gates, 4, axis=1)
    c = f * c + i * (2 * s - 1)
    h = o * tf.tanh(c)
    return t + 1, h, c, kept.write(t, tf.concat([c, gates], 1))

  _, h, c, kept = tf.while_loop(lambda t, *_: t < steps, step,
                                (0, h0, c0, _arrays(steps, tf.float32)))
  return h, c, tf.split(kept.stack(), 5, axis=2)


def _arrays(steps, dtype):
  return tf.TensorArray(dtype, size=steps, element_shape=[None, None])
