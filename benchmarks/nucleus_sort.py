"""Times the sorts the nucleus can use, and the draw's cumulative sums, per call.

  python benchmarks/nucleus_sort.py [--repeats=200]

For logits [B, 59] (the duration vocabulary) at batch 1 and 64, in a graph and under XLA:
tf.sort, the sorting network of stylexfer.serving.sampling.sorted_descending, and the two
cumulative sums of a draw (the nucleus's float32 one, categorical's float64 one). Each op
is chained 20 times inside one function, so the call's own overhead is shared out.
"""

import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from stylexfer.serving import sampling

flags.DEFINE_integer('repeats', 200, 'Timed calls of each function.')
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


if __name__ == '__main__':
  app.run(main)
