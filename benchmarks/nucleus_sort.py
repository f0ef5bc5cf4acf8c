"""Times the ops of one sampler step per call: the nucleus's sorts, the draw's sums, the matmuls.

  python benchmarks/nucleus_sort.py [--repeats=200]

For logits [B, 59] (the duration vocabulary) at batch 1 and 64, in a graph and under XLA:
tf.sort, the sorting network of stylexfer.serving.sampling.sorted_descending, and the two
cumulative sums of a draw (the nucleus's float32 one, categorical's float64 one). Each op
is chained 20 times inside one function, so the call's own overhead is shared out. Then
the step's LSTM matmuls of the default preset ([B, 160] and [B, 320] by 640 gates) beside
a 2048^3 matmul, and how often the compiled nucleus keeps another set of tokens than the
plain one (XLA's softmax is not TensorFlow's kernel) over --rows random rows at top-p 0.9.
"""

import functools
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from stylexfer.serving import sampling

flags.DEFINE_integer('repeats', 200, 'Timed calls of each function.')
flags.DEFINE_integer('rows', 204_800, 'Rows of logits for the agreement count.')
FLAGS = flags.FLAGS
CHAIN = 20

OPS = {
    'tf.sort': lambda x: tf.sort(x, direction='DESCENDING', axis=-1),
    'sorting network': sampling.sorted_descending,
    'cumsum float32': lambda x: x + 1e-9 * tf.math.cumsum(tf.nn.softmax(x), -1,
                                                          exclusive=True),
    'cumsum float64': lambda x: x + 1e-9 * tf.cast(
        tf.math.cumsum(tf.exp(tf.cast(x, tf.float64)), -1), tf.float32),
}


def per_op_us(op, logits, jit_compile):
  def chained(x):
    for _ in range(CHAIN):
      x = op(x)
    return x
  fn = tf.function(chained, jit_compile=jit_compile)
  for _ in range(3):
    fn(logits)
  start = time.perf_counter()
  for _ in range(FLAGS.repeats):
    result = fn(logits)
  result.numpy()
  return (time.perf_counter() - start) / FLAGS.repeats / CHAIN * 1e6


def matmul_gflops(batch_size, inputs, jit_compile, units=640):
  kernel = tf.random.stateless_normal([inputs, units], [3, inputs]) * 0.05
  state = tf.random.stateless_normal([batch_size, inputs], [4, inputs])
  us = per_op_us(lambda x: tf.matmul(x, kernel)[:, :inputs], state, jit_compile)
  return 2 * batch_size * inputs * units / us / 1e3


def large_matmul_gflops(size=2048, repeats=10):
  a = tf.random.stateless_normal([size, size], [5, 6])
  product = tf.function(lambda: tf.matmul(a, a))
  product().numpy()
  start = time.perf_counter()
  for _ in range(repeats):
    result = product()
  result.numpy()
  return 2 * size ** 3 * repeats / (time.perf_counter() - start) / 1e9


def xla_bits_that_differ(rows=2560):
  """Of the draw's softmax and cumulative sums, how many values XLA rounds otherwise."""
  rng = np.random.default_rng(0)
  ordered = tf.sort(tf.constant(rng.normal(size=(rows, 59)) * 3, tf.float32),
                    direction='DESCENDING', axis=-1)
  probabilities = tf.nn.softmax(ordered)
  ops = {
      'softmax': (tf.nn.softmax, ordered),
      'cumsum float32': (lambda x: tf.math.cumsum(x, -1, exclusive=True), probabilities),
      'cumsum float64': (lambda x: tf.math.cumsum(x, -1),
                         tf.cast(probabilities, tf.float64)),
  }
  for name, (op, values) in ops.items():
    differ = int(np.sum(op(values).numpy() != tf.function(op, jit_compile=True)(values).numpy()))
    print(f'{name}: XLA gives another value than TensorFlow\'s kernel in {differ} of '
          f'{values.shape.num_elements()}')


def kept_sets_that_differ(rows, top_p=0.9, chunk=1024):
  compiled = tf.function(functools.partial(sampling.nucleus, compiled=True), jit_compile=True)
  rng = np.random.default_rng(7)
  differ = 0
  for _ in range(rows // chunk):
    logits = tf.constant(rng.normal(size=(chunk, 59)) * rng.uniform(1, 4), tf.float32)
    differ += int(np.any(compiled(logits, tf.constant(top_p)).numpy()
                         != sampling.nucleus(logits, tf.constant(top_p)).numpy(), -1).sum())
  return differ, rows // chunk * chunk


def main(argv):
  del argv
  print('| op | batch | graph us | XLA us |')
  print('| --- | ---: | ---: | ---: |')
  for batch_size in (1, 64):
    logits = tf.random.stateless_normal([batch_size, 59], [1, batch_size]) * 3
    masked = tf.random.stateless_uniform([batch_size, 59], [2, 3]) < 0.2
    logits = tf.where(masked, -1e9, logits)
    same = np.array_equal(
        tf.sort(logits, direction='DESCENDING', axis=-1).numpy(),
        tf.function(sampling.sorted_descending, jit_compile=True)(logits).numpy())
    for name, op in OPS.items():
      print(f'| {name} | {batch_size} | {per_op_us(op, logits, False):.1f} | '
            f'{per_op_us(op, logits, True):.1f} |')
    print(f'batch {batch_size}: the network gives tf.sort\'s values: {"yes" if same else "NO"}')
  print(f'\n2048^3 matmul: {large_matmul_gflops():.0f} GFLOP/s')
  print('| step matmul | graph GFLOP/s | XLA GFLOP/s |')
  print('| --- | ---: | ---: |')
  for batch_size in (1, 64):
    for inputs in (160, 320):
      print(f'| [{batch_size}, {inputs}] x [{inputs}, 640] | '
            f'{matmul_gflops(batch_size, inputs, False):.0f} | '
            f'{matmul_gflops(batch_size, inputs, True):.0f} |')
  print(f'2048^3 matmul again: {large_matmul_gflops():.0f} GFLOP/s')
  xla_bits_that_differ()
  differ, rows = kept_sets_that_differ(FLAGS.rows)
  print(f'compiled nucleus, top-p 0.9: {differ} of {rows} rows keep another set than the plain one')


if __name__ == '__main__':
  app.run(main)
