"""Times the in-graph sampler's signatures against the machine's fp32 matmul; one table.

  python benchmarks/sampler_speed.py [--saved_model=stylexfer/pretrained/folk/1]
      [--baseline=OTHER_EXPORT] [--repeats=7]

For each SavedModel (the one to time and, with --baseline, another export of the same
weights to compare with, timed in the same run, turn about) it times, reloaded:
  generate             128-note melodies, at batch 1 (ms per melody) and batch 64
  restyle              the bundled reel (its bars kept, strength 1), at batch 1 and 64
and their `_compiled` twins where the SavedModel has them. With them, round after round
in turn, it times a 2048 x 2048 fp32 matmul: the machine's matmul throughput as
TensorFlow reaches it in the same rounds, so other load on the machine cancels out of the
ratios.

Throughput at batch 64 is given as GFLOP/s of the model's work: per note and head, 2 x
(input width + units) x 4 units for every LSTM layer and 2 x units x vocabulary for the
output layer, the multiply-adds of the Keras model stepped one note at a time. The
sampler does less than that: layer 0's input projection is a table lookup (see
stylexfer.serving.sampling.Head), so `done` gives the share of that work it still multiplies.
"""

import os
import statistics
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

import turns
from stylexfer.reading import readers
from stylexfer.tokens import vocabulary

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string('saved_model', os.path.join(_HERE, 'stylexfer', 'pretrained', 'folk', '1'),
                    'The export to time.')
flags.DEFINE_string('baseline', None, 'Another export to time in the same run.')
flags.DEFINE_integer('repeats', 7, 'Timed runs of each (the median is kept).')
flags.DEFINE_integer('length', 128, 'Notes per generated melody.')
flags.DEFINE_integer('batch_size', 64, 'The large batch.')
FLAGS = flags.FLAGS

REEL = os.path.join(_HERE, 'stylexfer', 'examples', 'the_stylexfer_reel.abc')
# The default preset: 64-wide interval and duration embeddings, three 16-wide metre ids.
INPUT_WIDTH = 64 + 64 + 3 * 16


def model_flops(units, layers, vocab_size):
  """Multiply-adds x 2 of one head for one note, as the Keras model computes it."""
  lstm = sum(2 * ((INPUT_WIDTH if k == 0 else units) + units) * 4 * units
             for k in range(layers))
  return lstm + 2 * units * vocab_size


def done_flops(units, layers, vocab_size):
  """What the sampler multiplies of it: layer 0's input projection is a lookup."""
  return model_flops(units, layers, vocab_size) - 2 * INPUT_WIDTH * 4 * units


def _medians(fns, repeats):
  """Median wall time of each fn, run in turn round after round, so load hits all alike."""
  for fn in fns:
    fn()  # warm-up: traces, and compiles the XLA signatures
  times = [[] for _ in fns]
  for _ in range(repeats):
    for fn, spent in zip(fns, times):
      start = time.perf_counter()
      fn()
      spent.append(time.perf_counter() - start)
  return [statistics.median(spent) for spent in times]


def reel_request(batch_size):
  melody = readers.read_melody(REEL)
  encoded = vocabulary.encode(melody.pitches, melody.durations())
  bars, bar_lengths, pickup = melody.form()
  tile = lambda values, dtype: tf.constant(np.tile(np.asarray([values], dtype),
                                                   [batch_size, 1]))
  return dict(intervals=tile(encoded.intervals, np.int32),
              durations=tile(encoded.durations, np.int32), bars=tile(bars, np.int32),
              bar_lengths=tile(bar_lengths, np.float32),
              pickup=tf.fill([batch_size], tf.constant(pickup, tf.float32)),
              strength=tf.constant(1.0), push=tf.constant(0.0),
              temperature=tf.constant(1.0), top_p=tf.constant(0.9),
              seed=tf.constant(1, tf.int64)), len(melody.pitches)


def generate_request(batch_size, length):
  return dict(batch_size=tf.constant(batch_size), length=tf.constant(length),
              temperature=tf.constant(1.0), top_p=tf.constant(0.9),
              seed=tf.constant(1, tf.int64))


def main(argv):
  del argv
  exports = {'timed': FLAGS.saved_model}
  if FLAGS.baseline:
    exports['baseline'] = FLAGS.baseline
  loaded = {name: tf.saved_model.load(path) for name, path in exports.items()}
  big = FLAGS.batch_size
  units = int(next(iter(loaded.values())).pitch_state_size) // 4  # two layers of h, c
  layers = 2
  note_model = {'generate': model_flops(units, layers, vocabulary.NUM_INTERVALS)
                + model_flops(units, layers, vocabulary.NUM_DURATIONS),
                'restyle': model_flops(units, layers, vocabulary.NUM_DURATIONS)}
  note_done = {'generate': done_flops(units, layers, vocabulary.NUM_INTERVALS)
               + done_flops(units, layers, vocabulary.NUM_DURATIONS),
               'restyle': done_flops(units, layers, vocabulary.NUM_DURATIONS)}
  requests = {}
  for batch_size in (1, big):
    requests['generate', batch_size] = (generate_request(batch_size, FLAGS.length),
                                        FLAGS.length)
    requests['restyle', batch_size] = reel_request(batch_size)

  load_before = os.getloadavg()[0]
  peaks = []
  rows = []
  same = {}  # (export, kind, batch) -> the compiled signature gave the plain one's melodies
  matmul, matmul_flops = turns.reference_matmul()
  for (kind, batch_size), (request, notes) in requests.items():
    runs = [('matmul', None, matmul)]
    for name, model in loaded.items():
      for signature in (kind, f'{kind}_compiled'):
        if signature in model.signatures:
          runs.append((name, signature, lambda m=model, s=signature: [
              v.numpy() for v in m.signatures[s](**request).values()]))
    seconds = _medians([run for _, _, run in runs], FLAGS.repeats)
    for name, model in loaded.items():
      if f'{kind}_compiled' in model.signatures:
        same[name, kind, batch_size] = all(
            np.array_equal(plain, compiled) for plain, compiled in zip(
                model.signatures[kind](**request).values(),
                model.signatures[f'{kind}_compiled'](**request).values()))
    peaks.append(matmul_flops / seconds[0] / 1e9)
    for (name, signature, _), spent in zip(runs[1:], seconds[1:]):
      rows.append((name, signature, batch_size, notes, spent,
                   batch_size * notes * note_model[kind] / spent / 1e9, peaks[-1]))
  peak = statistics.median(peaks)
  load_after = os.getloadavg()[0]

  print(f'\n{", ".join(f"{n}: {p}" for n, p in exports.items())}')
  print(f'{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, load average '
        f'{load_before:.2f} before, {load_after:.2f} after; fp32 matmul 2048^3: median '
        f'{peak:.1f} GFLOP/s (of {", ".join(f"{p:.0f}" for p in peaks)})')
  print(f'model work per note: generate {note_model["generate"] / 1e6:.2f} MFLOP, restyle '
        f'{note_model["restyle"] / 1e6:.2f} MFLOP; done: '
        f'{note_done["generate"] / note_model["generate"]:.0%} of it')
  print('| export | signature | batch | notes | ms per melody | melodies/s | model GFLOP/s |'
        ' matmul GFLOP/s, same rounds | of matmul |')
  print('|---|---|---:|---:|---:|---:|---:|---:|---:|')
  for name, signature, batch_size, notes, seconds, gflops, matmul in rows:
    print(f'| {name} | {signature} | {batch_size} | {notes} | '
          f'{1e3 * seconds / batch_size:.2f} | {batch_size / seconds:.1f} | {gflops:.1f} | '
          f'{matmul:.1f} | {gflops / matmul:.0%} |')
  for (name, kind, batch_size), agree in same.items():
    print(f'{name}: {kind}_compiled at batch {batch_size} gives the melodies of {kind}: '
          f'{"yes" if agree else "NO"}')


if __name__ == '__main__':
  app.run(main)
