"""Timing runs turn about, shared by the benchmarks that compare variants in one process."""

import time

import tensorflow as tf


def seconds_per_call(runs, rounds, calls):
  """{name: [seconds a call, one per round]} of each zero-argument run in `runs`.

  In every round each run is called `calls` times, one run after the other, so that a
  ratio of two runs within a round cancels the load of other jobs on the machine.
  """
  times = {name: [] for name in runs}
  for _ in range(rounds):
    for name, run in runs.items():
      started = time.perf_counter()
      for _ in range(calls):
        run()
      times[name].append((time.perf_counter() - started) / calls)
  return times


def reference_matmul(size=2048):
  """(run, FLOP a call): a size^3 float32 matmul to time in turn beside the runs measured.

  Timed in the same rounds, it gives the machine's matmul throughput under the same load.
  """
  a = tf.random.stateless_normal([size, size], [1, 2])
  product = tf.function(lambda: tf.matmul(a, a))
  return lambda: product().numpy(), 2 * size ** 3
