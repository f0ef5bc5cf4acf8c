"""Where a step of the LSTM training pass's forward recurrence goes, one layer on one core.

  python benchmarks/lstm_step.py [--batch=64] [--units=160] [--steps=128] [--rounds=7]
      [--intra_op_threads=0] [--inter_op_threads=0]

Times the forward loop of stylexfer.model.melody_model.lstm_sequence built up in stages,
each a tf.while_loop over the same precomputed input projections with bfloat16 matmuls,
in the thread pools stylexfer-train sets (strategy.set_threads; 0 keeps its default, as
its flags of the same names do), turn about in each round:

  matmul   each step only multiplies h by the recurrent kernel (and adds the projection)
  gates    + the gates, c and h, as the training pass computes them
  kept     + the block of c and gates each step writes for the gradient: the pass's
           forward loop, copied here so that it can be built up

and, for scale, one [batch, units] x [units, 4 units] matmul chained `steps` times in
one graph, without a loop; and melody_model.lstm_sequence's own forward on first-layer
inputs (176 features), which adds the input projection of all steps and the outputs
computed after the loop to `kept`. The differences between stages are what the
elementwise ops and the TensorArray cost a step, beyond their arithmetic.
"""

import argparse
import statistics

import turns
from stylexfer.training import strategy as strategy_lib

FIRST_LAYER_INPUTS = 176  # the default preset: two 64-wide embeddings, three 16-wide


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--batch', type=int, default=64)
  parser.add_argument('--units', type=int, default=160)
  parser.add_argument('--steps', type=int, default=128)
  parser.add_argument('--rounds', type=int, default=7)
  parser.add_argument('--calls', type=int, default=5, help='timed calls per round')
  parser.add_argument('--intra_op_threads', type=int, default=0)
  parser.add_argument('--inter_op_threads', type=int, default=0)
  args = parser.parse_args()
  print('threads: intra-op %d, inter-op %d' % strategy_lib.set_threads(
      args.intra_op_threads, args.inter_op_threads))
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from stylexfer.model import melody_model  # pylint: disable=import-outside-toplevel

  batch, units, steps = args.batch, args.units, args.steps
  generator = tf.random.Generator.from_seed(0)
  projections = generator.normal([steps, batch, 4 * units])
  recurrent = tf.cast(generator.normal([units, 4 * units]) * 0.1, tf.bfloat16)
  zeros = tf.zeros([batch, units])

  def z(t, h):
    return projections[t] + tf.cast(tf.matmul(tf.cast(h, tf.bfloat16), recurrent), tf.float32)

  def cell(t, h, c):
    gates = tf.sigmoid(z(t, h))
    i, f, s, o = tf.split(gates, 4, axis=1)
    c = f * c + i * (2 * s - 1)
    return o * tf.tanh(c), c, gates

  @tf.function
  def matmul():
    _, h = tf.while_loop(lambda t, h: t < steps, lambda t, h: (t + 1, z(t, h)[:, :units]),
                         (0, zeros))
    return tf.reduce_sum(h)

  @tf.function
  def gates():
    _, h, _ = tf.while_loop(lambda t, *_: t < steps,
                            lambda t, h, c: (t + 1,) + cell(t, h, c)[:2], (0, zeros, zeros))
    return tf.reduce_sum(h)

  @tf.function
  def kept():
    def step(t, h, c, blocks):
      h, c, gates = cell(t, h, c)
      return t + 1, h, c, blocks.write(t, tf.concat([c, gates], 1))
    blocks = tf.TensorArray(tf.float32, size=steps, element_shape=[None, None])
    _, _, _, blocks = tf.while_loop(lambda t, *_: t < steps, step, (0, zeros, zeros, blocks))
    return tf.reduce_sum(blocks.stack())

  @tf.function
  def chained():
    h = tf.cast(zeros, tf.bfloat16)
    for _ in range(steps):
      h = tf.matmul(h, recurrent)[:, :units]
    return tf.reduce_sum(tf.cast(h, tf.float32))

  inputs = generator.normal([batch, steps, FIRST_LAYER_INPUTS])
  kernel = generator.normal([FIRST_LAYER_INPUTS, 4 * units]) * 0.1
  recurrent_kernel, bias = tf.cast(recurrent, tf.float32), tf.zeros([4 * units])

  @tf.function
  def forward():
    outputs, _, _ = melody_model.lstm_sequence(inputs, zeros, zeros, kernel, recurrent_kernel,
                                               bias, matmul_dtype='bfloat16')
    return tf.reduce_sum(outputs)

  stages = {'matmul': matmul, 'gates': gates, 'kept': kept, 'chained matmuls': chained,
            'lstm_sequence': forward}
  for run in stages.values():
    run().numpy()
  times = turns.seconds_per_call(
      {name: lambda run=run: run().numpy() for name, run in stages.items()},
      args.rounds, args.calls)
  flops = 2 * batch * units * 4 * units
  for name in stages:
    step = statistics.median(times[name]) / steps
    print(f'{name:16} {step * 1e6:7.1f} us a step'
          + (f'  ({flops / step / 1e9:.0f} GFLOP/s of recurrent matmul)'
             if name == 'chained matmuls' else ''))


if __name__ == '__main__':
  main()
