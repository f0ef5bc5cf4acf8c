"""Dropout in training, forward and backward: Keras's draw against melody_model.Dropout's.

  python benchmarks/dropout_draw.py [--shape=64,128,160] [--rate=0.25] [--rounds=7]

Keras draws a float32 uniform per value; melody_model.Dropout draws a random byte per
value. Both run in the thread pools stylexfer-train sets (strategy.set_threads), one
after the other in each round, so that a ratio within a round cancels other jobs' load;
the medians over rounds are printed, with the share of values each dropped.
"""

import argparse
import statistics

import turns
from stylexfer.training import strategy as strategy_lib


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--shape', default='64,128,160', help='the default preset: batch '
                      '64, window 128, 160 LSTM units')
  parser.add_argument('--rate', type=float, default=0.25)
  parser.add_argument('--rounds', type=int, default=7)
  parser.add_argument('--calls', type=int, default=10, help='timed calls per round')
  args = parser.parse_args()
  strategy_lib.set_threads()
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from stylexfer.model import melody_model  # pylint: disable=import-outside-toplevel

  x = tf.random.normal([int(n) for n in args.shape.split(',')])
  layers = {'keras': keras.layers.Dropout(args.rate, seed=0),
            'stylexfer': melody_model.Dropout(args.rate, seed=0)}

  def step(layer):
    @tf.function
    def run():
      with tf.GradientTape() as tape:
        tape.watch(x)
        dropped = layer(x, training=True)
        total = tf.reduce_sum(dropped)
      gradient = tape.gradient(total, x)
      return tf.reduce_mean(tf.cast(tf.equal(gradient, 0.0), tf.float32))
    return run

  steps = {name: step(layer) for name, layer in layers.items()}
  shares = {name: float(run()) for name, run in steps.items()}
  times = turns.seconds_per_call(
      {name: lambda run=run: run().numpy() for name, run in steps.items()},
      args.rounds, args.calls)
  ratios = [old / new for old, new in zip(times['keras'], times['stylexfer'])]
  for name in steps:
    print(f'{name:10} {statistics.median(times[name]) * 1e3:6.2f} ms forward and backward, '
          f'{shares[name]:.4f} of the values dropped')
  print(f'stylexfer is {statistics.median(ratios):.2f}x faster (median over rounds)')


if __name__ == '__main__':
  main()
