"""One LSTM layer forward and backward: the training pass against the other ways TensorFlow has.

  python benchmarks/lstm_alternatives.py [--batch=64] [--units=160] [--steps=128]
      [--features=176] [--rounds=5] [--calls=3] [--intra_op_threads=1] [--inter_op_threads=1]

Times the gradient of one layer's outputs (a weighted sum) with respect to its inputs and
weights, turn about in each round, in the thread pools given (one thread each by default,
so that ops run one after another as the profile of the train step has them):

  keras           keras.layers.LSTM stepped by Keras (the step the training pass replaced)
  ours fp32       melody_model.lstm_sequence, float32 matmuls
  ours bf16       the same, bfloat16 matmuls (what --matmul_dtype=auto picks on a CPU
                  with AVX512_BF16)
  ours fp32 XLA   ours fp32 under tf.function(jit_compile=True)
  ours bf16 XLA   ours bf16 under tf.function(jit_compile=True)
  BlockLSTMV2     tf.raw_ops.BlockLSTMV2, TensorFlow's fused C++ LSTM, with its registered
                  gradient (float32; its kernel takes Keras's gate order, no peepholes)

Before timing, on a small layer, each variant's bias gradient is set beside central
differences of its own forward pass, and each forward and gradient beside ours fp32's.
"""

import argparse
import statistics

import turns
from stylexfer.training import strategy as strategy_lib


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--units', type=int, default=160)
  parser.add_argument('--steps', type=int, default=128)
  parser.add_argument('--features', type=int, default=176, help="the default preset's inputs")
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--calls', type=int, default=3, help='timed calls per round')
  parser.add_argument('--intra_op_threads', type=int, default=1)
  parser.add_argument('--inter_op_threads', type=int, default=1)
  args = parser.parse_args()
  print('threads: intra-op %d, inter-op %d' % strategy_lib.set_threads(
      args.intra_op_threads, args.inter_op_threads))
  import keras  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from stylexfer.model import melody_model  # pylint: disable=import-outside-toplevel

  def ours(dtype):
    def forward(inputs, kernel, recurrent_kernel, bias):
      zeros = tf.zeros([tf.shape(inputs)[0], tf.shape(recurrent_kernel)[0]])
      return melody_model.lstm_sequence(inputs, zeros, zeros, kernel, recurrent_kernel, bias,
                                        matmul_dtype=dtype)[0]
    return forward

  def block_lstm(inputs, kernel, recurrent_kernel, bias):
    units = recurrent_kernel.shape[0]
    zeros, no_peephole = tf.zeros([tf.shape(inputs)[0], units]), tf.zeros([units])
    outputs = tf.raw_ops.BlockLSTMV2(
        seq_len_max=tf.cast(tf.shape(inputs)[1], tf.int64), x=tf.transpose(inputs, [1, 0, 2]),
        cs_prev=zeros, h_prev=zeros, w=tf.concat([kernel, recurrent_kernel], 0),
        wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=bias, cell_clip=-1.0,
        use_peephole=False)
    return tf.transpose(outputs[6], [1, 0, 2])  # h of every step

  def keras_gradients(kernel, recurrent_kernel, bias, weights):
    layer = keras.layers.LSTM(recurrent_kernel.shape[0], return_sequences=True)
    layer.build([None, None, kernel.shape[0]])
    layer.set_weights([kernel.numpy(), recurrent_kernel.numpy(), bias.numpy()])

    @tf.function
    def run(inputs, *_):
      with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(layer(inputs) * weights)
      return loss, tape.gradient(loss, [inputs] + layer.trainable_variables)
    return run

  def gradients(forward, weights, compile_it=False):
    @tf.function(jit_compile=compile_it)
    def run(inputs, kernel, recurrent_kernel, bias):
      with tf.GradientTape() as tape:
        tape.watch([inputs, kernel, recurrent_kernel, bias])
        loss = tf.reduce_sum(forward(inputs, kernel, recurrent_kernel, bias) * weights)
      return loss, tape.gradient(loss, [inputs, kernel, recurrent_kernel, bias])
    return run

  def layer_inputs(batch, steps, features, units):
    generator = tf.random.Generator.from_seed(0)
    return (generator.normal([batch, steps, features]),
            generator.normal([features, 4 * units]) * 0.2,
            generator.normal([units, 4 * units]) * 0.2,
            generator.normal([4 * units]) * 0.1,
            generator.normal([batch, steps, units]))

  # Agreement, on a small layer.
  inputs, kernel, recurrent_kernel, bias, weights = layer_inputs(8, 16, 12, 10)
  variants = {'ours fp32': (ours('float32'), False), 'ours bf16': (ours('bfloat16'), False),
              'ours fp32 XLA': (ours('float32'), True), 'ours bf16 XLA': (ours('bfloat16'), True),
              'BlockLSTMV2': (block_lstm, False)}
  reference = None
  print('agreement on [8, 16, 12] -> 10 units: bias gradient against central differences of '
        'its own forward (max |difference| / max |gradient|); forward and all gradients '
        'against ours fp32 (max relative difference)')
  for name, (forward, compile_it) in variants.items():
    loss, grads = gradients(forward, weights, compile_it)(inputs, kernel, recurrent_kernel, bias)
    run_forward = tf.function(lambda b, forward=forward: tf.reduce_sum(
        forward(inputs, kernel, recurrent_kernel, b) * weights), jit_compile=compile_it)
    numeric = []
    for j in range(bias.shape[0]):
      step = np.zeros(bias.shape, np.float32)
      step[j] = 1e-2
      numeric.append((float(run_forward(bias + step)) - float(run_forward(bias - step))) / 2e-2)
    analytic = grads[3].numpy()
    own = np.max(np.abs(analytic - numeric)) / np.max(np.abs(numeric))
    if reference is None:
      reference = (loss, grads)
    against = [float(tf.abs(loss - reference[0]) / tf.abs(reference[0]))] + [
        float(tf.reduce_max(tf.abs(g - r)) / tf.reduce_max(tf.abs(r)))
        for g, r in zip(grads, reference[1])]
    print(f'  {name:14} own {own:8.2e}   against ours fp32: loss {against[0]:.1e}, '
          'gradients ' + ' '.join(f'{a:.1e}' for a in against[1:]))

  # Time, on the layer asked for.
  inputs, kernel, recurrent_kernel, bias, weights = layer_inputs(
      args.batch, args.steps, args.features, args.units)
  runs = {}
  for name, (forward, compile_it) in {'keras': (None, False), **variants}.items():
    run = (keras_gradients(kernel, recurrent_kernel, bias, weights) if forward is None
           else gradients(forward, weights, compile_it))
    runs[name] = lambda run=run: run(inputs, kernel, recurrent_kernel, bias)[0].numpy()
    runs[name]()  # traced and compiled outside the timing
  times = turns.seconds_per_call(runs, args.rounds, args.calls)
  base = statistics.median(times['ours bf16'])
  print(f'forward and backward of [{args.batch}, {args.steps}, {args.features}] -> '
        f'{args.units} units, medians of {args.rounds} rounds:')
  for name in runs:
    seconds = statistics.median(times[name])
    print(f'  {name:14} {seconds * 1e3:8.1f} ms   {seconds / base:5.2f}x ours bf16')


if __name__ == '__main__':
  main()
