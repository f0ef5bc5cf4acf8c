"""Times four ways of sampling melodies; prints one table. Not a test.

  python benchmarks/sampling_benchmark.py [--preset=default] [--saved_model=PATH]

For one model (the preset's untrained weights: timing does not depend on training, or an
exported SavedModel), it times a 128-note melody at batch 1 and melodies per second at
batch 64 for:
  signature  the reloaded SavedModel's `generate` (the in-graph tf.while_loop)
  xla        the reloaded SavedModel's `generate_compiled` (the same loop under XLA)
  eager      a Python loop calling the heads' steps one note at a time, over the weights
             taken from the Keras layers (HeadSteps) and over the SavedModel's restored
             head functions
  naive      a Python loop calling the full-sequence model on the growing prefix
The naive loop costs grow with the prefix, so at batch 64 it runs the first
--naive_notes notes and extrapolates the rest with a straight-line fit of cost per note
(marked with ~ in the table).
"""

import os
import statistics
import tempfile
import time

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from stylexfer.tokens import metre
from stylexfer.model import melody_model
from stylexfer.serving import sampling
from stylexfer.tokens import vocabulary
from stylexfer.serving import genre as genre_lib

flags.DEFINE_string('preset', 'default', 'Model preset whose untrained weights are timed.')
flags.DEFINE_string('saved_model', None, 'An exported SavedModel to time instead: its '
                    'step functions stand in for the Keras heads and its serving_default '
                    'for the full-sequence model.')
flags.DEFINE_integer('length', 128, 'Notes per melody.')
flags.DEFINE_integer('batch_size', 64, 'The large batch.')
flags.DEFINE_integer('repeats', 5, 'Timed runs of the fast methods (the median is kept).')
flags.DEFINE_integer('naive_notes', 24, 'Notes the naive loop runs at the large batch.')
FLAGS = flags.FLAGS

_CONTROLS = {'temperature': 1.0, 'top_p': 0.9}


def _median_seconds(fn, repeats, warm_up=None):
  """Median wall time of fn() over `repeats` runs, after an untimed warm-up (default fn)."""
  (warm_up or fn)()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


class Sampler:
  """The model under test: its signatures, step functions and full-sequence scoring."""

  def __init__(self, preset, saved_model=None):
    if saved_model:
      self.keras_model = None
      self.loaded = tf.saved_model.load(saved_model)
      self.heads = self.restored_heads()
      self.description = saved_model
      return
    keras.utils.set_random_seed(0)
    self.keras_model = melody_model.build_model(melody_model.preset(preset))
    steps = sampling.HeadSteps(self.keras_model)
    self.heads = (steps.pitch_head, steps.duration_head)
    # Timed as a server would run it: exported, then reloaded.
    folder = tempfile.mkdtemp(prefix='sampling_benchmark_')
    self.loaded = tf.saved_model.load(genre_lib.export(self.keras_model, preset, folder))
    self.description = (f'preset {preset!r}, {self.keras_model.count_params():,} weights, '
                        'untrained')

  def signature(self, batch_size, length, seed=0):
    outputs = self.loaded.signatures['generate'](
        batch_size=tf.constant(batch_size), length=tf.constant(length),
        temperature=tf.constant(_CONTROLS['temperature']),
        top_p=tf.constant(_CONTROLS['top_p']), seed=tf.constant(seed, tf.int64))
    return outputs['intervals'].numpy(), outputs['durations'].numpy()

  def restored_heads(self):
    return (sampling.Head.of(self.loaded, 'pitch'), sampling.Head.of(self.loaded, 'duration'))

  def xla(self, batch_size, length, seed=0):
    outputs = self.loaded.signatures['generate_compiled'](
        batch_size=tf.constant(batch_size), length=tf.constant(length),
        temperature=tf.constant(_CONTROLS['temperature']),
        top_p=tf.constant(_CONTROLS['top_p']), seed=tf.constant(seed, tf.int64))
    return outputs['intervals'].numpy(), outputs['durations'].numpy()

  def eager(self, batch_size, length, seed=0, heads=None):
    intervals, durations = sampling.reference_generate(
        *(heads or self.heads), batch_size, length, _CONTROLS['temperature'],
        _CONTROLS['top_p'], seed)
    return intervals.numpy(), durations.numpy()

  def _logits(self, features):
    # Generated melodies have no bars: every metrical input reads unknown (0).
    unknown = np.zeros_like(features['intervals_in'])
    features = {**{name: unknown for name in metre.INPUTS}, **features}
    features = {name: tf.constant(value) for name, value in features.items()}
    if self.keras_model is not None:
      return self.keras_model(features, training=False)
    scores = self.loaded.signatures['serving_default'](**features)
    return {'pitch_logits': scores['pitch_log_probs'],
            'duration_logits': scores['duration_log_probs']}

  def naive(self, batch_size, length, seed=0, note_times=None):
    """Two full-model calls per note on the prefix so far: one per head."""
    start = np.full([batch_size, 1], vocabulary.START, np.int32)
    intervals_in, durations_in, intervals_out = start, start, start
    for t in range(length):
      began = time.perf_counter()
      if t:
        logits = self._logits({'intervals_in': intervals_in, 'durations_in': durations_in,
                               'intervals_out': intervals_out})['pitch_logits'][:, -1]
        interval = sampling.sample(logits, _CONTROLS['temperature'], _CONTROLS['top_p'],
                                   sampling.note_seed(seed, t, 0)).numpy()
        intervals_out = np.concatenate([intervals_out[:, :-1], interval[:, None]], 1)
      logits = self._logits({'intervals_in': intervals_in, 'durations_in': durations_in,
                             'intervals_out': intervals_out})['duration_logits'][:, -1]
      duration = sampling.sample(logits, _CONTROLS['temperature'], _CONTROLS['top_p'],
                                 sampling.note_seed(seed, t, 1)).numpy()
      # Grow the prefix by one step: what note t+1's heads read.
      intervals_in = np.concatenate([intervals_in, intervals_out[:, -1:]], 1)
      durations_in = np.concatenate([durations_in, duration[:, None]], 1)
      intervals_out = np.concatenate([intervals_out, start], 1)  # filled at the next note
      if note_times is not None:
        note_times.append(time.perf_counter() - began)
    return intervals_out[:, 1:-1], durations_in[:, 1:]


def _naive_extrapolated(sampler, batch_size, length, notes):
  """Seconds for `length` notes of the naive loop, from the first `notes` of them."""
  sampler.naive(batch_size, 4)  # warm-up
  note_times = []
  sampler.naive(batch_size, notes, note_times=note_times)
  slope, intercept = np.polyfit(np.arange(1, notes), note_times[1:], 1)
  return float(sum(note_times[:notes]) +
               sum(intercept + slope * t for t in range(notes, length)))


def main(argv):
  del argv
  length, big = FLAGS.length, FLAGS.batch_size
  sampler = Sampler(FLAGS.preset, FLAGS.saved_model)
  rows = []

  # Every method must draw the signature's melody for the same seed (XLA may not: its
  # random number kernels are its own).
  reference = sampler.signature(2, 16, seed=3)

  rows.append(('signature',
               _median_seconds(lambda: sampler.signature(1, length), FLAGS.repeats),
               _median_seconds(lambda: sampler.signature(big, length), FLAGS.repeats),
               'reloaded SavedModel', 'yes'))

  try:
    xla = sampler.xla
    same = all(np.array_equal(a, b) for a, b in zip(xla(2, 16, seed=3), reference))
    rows.append(('xla', _median_seconds(lambda: xla(1, length), FLAGS.repeats),
                 _median_seconds(lambda: xla(big, length), FLAGS.repeats),
                 'reloaded generate_compiled; compile time not counted',
                 'yes' if same else 'no'))
  except (tf.errors.OpError, ValueError, TypeError, KeyError) as error:
    rows.append(('xla', None, None, str(error).strip().splitlines()[0][:100], ''))

  # The slow loops run once each, after a short warm-up.
  eager_kinds = [('eager', sampler.heads)]
  if sampler.keras_model is not None:
    eager_kinds.append(('eager-fn', sampler.restored_heads()))
  for name, heads in eager_kinds:
    run = lambda batch_size, n, seed=0: sampler.eager(batch_size, n, seed, heads)
    same = all(np.array_equal(a, b) for a, b in zip(run(2, 16, seed=3), reference))
    rows.append((name, _median_seconds(lambda: run(1, length), 1, lambda: run(1, 4)),
                 _median_seconds(lambda: run(big, length), 1, lambda: run(big, 4)),
                 'weights from the Keras layers, ops run eagerly' if
                 sampler.keras_model is not None and name == 'eager'
                 else 'restored tf.functions per head and note',
                 'yes' if same else 'no'))

  same = all(np.array_equal(a, b) for a, b in zip(sampler.naive(2, 16, seed=3), reference))
  naive_one = _median_seconds(lambda: sampler.naive(1, length), 1,
                              lambda: sampler.naive(1, 4))
  naive_big = _naive_extrapolated(sampler, big, length, FLAGS.naive_notes)
  rows.append(('naive', naive_one, naive_big,
               f'batch {big}: first {FLAGS.naive_notes} notes timed, rest extrapolated',
               'yes' if same else 'no'))

  print(f'\n{sampler.description}; {length} notes per melody; '
        f'{os.cpu_count()} CPU cores; TensorFlow {tf.__version__}')
  print(f'| method    | batch 1: s / melody | batch {big}: melodies / s | same melody | note |')
  print('|-----------|--------------------:|-------------------------:|-------------|------|')
  for name, one, many, note, same in rows:
    if one is None:
      print(f'| {name:9} | {"-":>19} | {"-":>24} | {"-":>11} | failed: {note} |')
      continue
    tilde = '~' if name == 'naive' else ''
    print(f'| {name:9} | {one:19.4f} | {tilde + format(big / many, ".1f"):>24} | '
          f'{same:>11} | {note} |')


if __name__ == '__main__':
  app.run(main)
