"""Training throughput of the default preset: tokens per second of the train step.

  python benchmarks/training_throughput.py [--batch_sizes=64,32] [--rounds=5] [--steps=8]
      [--data_dir=DATA --dataset=folk | --synthetic=600] [--variants=keras,fp32,bf16]
      [--threads=training|tensorflow]

Variants of the same train step (stylexfer.training.task.Task), on the same batches:

  keras  the LSTM layers as keras.layers.LSTM steps them on a CPU (the step before
         stylexfer.model.layers.LSTM)
  fp32   layers.LSTM: the input projection of all steps in one matmul, the
         gradient written out, float32 matmuls
  bf16   the same with bfloat16 matmuls (TrainingConfig.matmul_dtype='bfloat16')
  xla    keras with the replica step compiled by XLA (jit_compile=True)

--threads=training sizes TensorFlow's thread pools as stylexfer-train does by default
(stylexfer.training.strategy.set_threads: on CPUs alone, ops of half the cores, two at a
time); --threads=tensorflow leaves them as TensorFlow sizes them (the step before that).
The pools are set once per process, so compare the two by running the benchmark with
each, in turn.

Each round times every variant for --steps steps, one after the other in this process, so
a ratio of two variants within a round cancels the load of other jobs on the machine; the
medians over rounds are printed. Tokens are the scored duration targets, as in the
training loop's tokens_per_second.

FLOPs per token count the matmuls: the LSTM layers (inputs and recurrent state by the
four gates), the two output layers; embeddings are lookups. Forward and backward are
taken as 3x the forward. They are counted per model step (a window's step, padding
included, since the LSTM computes it too) and per scored token. The fraction of the
machine's matmul peak is the step's matmul FLOP/s over that of one large tf.matmul
(2048 x 2048 by 2048 x 2048) measured in the same run, float32 and bfloat16.
"""

import argparse
import dataclasses
import json
import statistics
import time

import keras
import tensorflow as tf

from stylexfer.dataset import windows
from stylexfer.model import layers
from stylexfer.model import melody_model
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary
from stylexfer.training import config as config_lib
from stylexfer.training import strategy as strategy_lib
from stylexfer.training import task as task_lib

VARIANTS = ('keras', 'fp32', 'bf16', 'xla')


def forward_flops_per_step(config):
  """Forward matmul FLOPs of one model step (one note of one window), both heads."""
  first_inputs = 2 * config.embedding_width + (
      len(metre.INPUTS) * config.metre_width if config.metre_width else 0)
  lstm = 0
  for k in range(config.lstm_layers):
    inputs = first_inputs if k == 0 else config.lstm_units
    lstm += 2 * 4 * config.lstm_units * (inputs + config.lstm_units)
  heads = 2 * config.lstm_units * (vocabulary.NUM_INTERVALS + vocabulary.NUM_DURATIONS)
  return 2 * lstm + heads


def matmul_peak(dtype, size=2048, repeats=10):
  """FLOP/s of a large matmul in `dtype` on this machine, now."""
  a = tf.cast(tf.random.normal([size, size]), dtype)
  b = tf.cast(tf.random.normal([size, size]), dtype)
  product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32)))
  product().numpy()
  started = time.perf_counter()
  for _ in range(repeats):
    product().numpy()
  return 2 * size**3 * repeats / (time.perf_counter() - started)


def make_task(variant, config, training):
  """A Task of `variant` with the same initial weights for every variant."""
  keras.utils.set_random_seed(training.seed)
  training = dataclasses.replace(
      training, matmul_dtype='bfloat16' if variant == 'bf16' else 'float32')
  built = layers.LSTM
  if variant in ('keras', 'xla'):
    layers.LSTM = keras.layers.LSTM
  try:
    task = task_lib.Task(config, training, tf.distribute.get_strategy(), 10_000)
  finally:
    layers.LSTM = built
  if variant == 'xla':
    task._replica_train_step = tf.function(  # pylint: disable=protected-access
        task._replica_train_step, jit_compile=True)  # pylint: disable=protected-access
  return task


def time_steps(task, iterator, steps):
  """(scored tokens per second, scored tokens) over `steps` train steps."""
  tokens = 0.0
  started = time.perf_counter()
  for _ in range(steps):
    sums = task.train_step(iterator)
    tokens += float(sums['duration_count'])
  seconds = time.perf_counter() - started
  return tokens / seconds, tokens


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--batch_sizes', default='64,32', help='the shipped ones: folk 64, '
                      'jazz 32')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--steps', type=int, default=8, help='timed steps per variant and round')
  parser.add_argument('--warmup', type=int, default=3)
  parser.add_argument('--variants', default='keras,fp32,bf16')
  parser.add_argument('--dataset', default='folk')
  parser.add_argument('--data_dir', default='', help='TFDS data folder; without it '
                      '--synthetic melodies')
  parser.add_argument('--synthetic', type=int, default=600)
  parser.add_argument('--threads', default='training', choices=('training', 'tensorflow'))
  parser.add_argument('--json', default='', help='also write the results here')
  args = parser.parse_args()
  threads = (strategy_lib.set_threads() if args.threads == 'training' else
             (tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads()))

  variants = args.variants.split(',')
  for variant in variants:
    if variant not in VARIANTS:
      parser.error(f'unknown variant {variant!r}; choose from {VARIANTS}')
  config = melody_model.preset('default')
  if args.data_dir:
    melodies = windows.load_split(args.dataset, 'train', args.data_dir)
    source = f'{args.dataset} train split'
  else:
    melodies = windows.synthetic_melodies(args.synthetic, seed=0)
    source = f'{args.synthetic} synthetic melodies'
  step_flops = 3 * forward_flops_per_step(config)
  results = {'source': source, 'forward_flops_per_model_step': step_flops / 3,
             'train_flops_per_model_step': step_flops, 'batch_sizes': {}}
  results['threads'] = {'intra_op': threads[0], 'inter_op': threads[1]}
  print(f'data: {source}; train FLOPs per model step (3x forward): {step_flops / 1e6:.2f} M; '
        f'threads ({args.threads}): intra-op {threads[0]}, inter-op {threads[1]} (0: '
        'TensorFlow\'s choice)')

  all_peaks = {'float32': [], 'bfloat16': []}
  for batch_size in [int(b) for b in args.batch_sizes.split(',')]:
    peaks = {'float32': [], 'bfloat16': []}  # measured between this batch size's rounds
    training = config_lib.TrainingConfig(batch_size=batch_size)
    tasks, iterators = {}, {}
    for variant in variants:
      tasks[variant] = make_task(variant, config, training)
      # The same seed: every variant trains on the same batches in the same order.
      iterators[variant] = iter(windows.train_batches(
          windows.melody_windows(melodies, config.window), batch_size, seed=0))
      for _ in range(args.warmup):
        tasks[variant].train_step(iterators[variant])
    rates = {variant: [] for variant in variants}
    density = []
    for _ in range(args.rounds):
      for dtype in peaks:
        peaks[dtype].append(matmul_peak(dtype))
      for variant in variants:
        rate, tokens = time_steps(tasks[variant], iterators[variant], args.steps)
        rates[variant].append(rate)
        density.append(tokens / (args.steps * batch_size * config.window))
    base = variants[0]
    token_share = statistics.median(density)
    summary = {'scored_tokens_per_model_step': token_share, 'variants': {}}
    print(f'\nbatch {batch_size}: {token_share:.3f} scored tokens per model step '
          f'(the rest is padding); train FLOPs per scored token '
          f'{step_flops / token_share / 1e6:.2f} M')
    print(f'{"variant":8} {"tokens/s":>9} {"x " + base:>9} {"GFLOP/s":>8} '
          f'{"of fp32 peak":>12} {"of bf16 peak":>12}')
    peak32, peak16 = statistics.median(peaks['float32']), statistics.median(peaks['bfloat16'])
    for variant in variants:
      rate = statistics.median(rates[variant])
      ratio = statistics.median(
          new / old for new, old in zip(rates[variant], rates[base]))
      flops = rate / token_share * step_flops
      summary['variants'][variant] = {
          'tokens_per_second': rate, 'per_round': rates[variant], f'ratio_to_{base}': ratio,
          'flops_per_second': flops, 'of_float32_peak': flops / peak32,
          'of_bfloat16_peak': flops / peak16}
      print(f'{variant:8} {rate:9.0f} {ratio:9.2f} {flops / 1e9:8.1f} '
            f'{flops / peak32:12.1%} {flops / peak16:12.1%}')
    summary['matmul_peak_flops'] = {'float32': peak32, 'bfloat16': peak16}
    print(f'large matmul between these rounds: float32 {peak32 / 1e9:.1f} GFLOP/s, '
          f'bfloat16 {peak16 / 1e9:.1f} GFLOP/s')
    results['batch_sizes'][batch_size] = summary
    for dtype in peaks:
      all_peaks[dtype] += peaks[dtype]
  results['matmul_peak_flops'] = {dtype: statistics.median(v) for dtype, v in all_peaks.items()}
  print(f'\nlarge matmul: float32 {results["matmul_peak_flops"]["float32"] / 1e9:.1f} GFLOP/s, '
        f'bfloat16 {results["matmul_peak_flops"]["bfloat16"] / 1e9:.1f} GFLOP/s (medians over '
        'rounds)')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(results, f, indent=2)


if __name__ == '__main__':
  main()
