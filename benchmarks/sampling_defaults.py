"""Chooses the sampling defaults (temperature, top-p) on held-out melodies.

  python benchmarks/sampling_defaults.py --saved_model=exports/jazz/1 --dataset=jazz \
      --data_dir=DATA [--limit=60]

Restyles every test-split melody of the dataset (its own intervals, strength 1) at each
temperature and top-p, and compares the sampled rhythms with the real ones:
  tv          total variation distance between the sampled and the real duration
              histograms (0: the same mix of durations);
  off_grid    share of onsets off the 16th and 8th-triplet grid (rhythm drifting off beat);
  distinct    distinct durations per melody (a collapse to one value shows as ~1).
The default to pick is the row with the lowest score = tv + |off_grid - real off_grid|: the
mix of durations of the real music, without rhythms drifting off the beat more (or less)
than the real music does.
"""

import collections
import fractions

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from stylexfer import vocabulary
from stylexfer import windows

flags.DEFINE_string('saved_model', None, 'An exported genre SavedModel version folder.')
flags.DEFINE_string('dataset', 'jazz', 'Melodies config whose test split is used.')
flags.DEFINE_string('data_dir', None, 'TFDS data folder.')
flags.DEFINE_integer('limit', 60, 'At most this many test melodies.')
flags.DEFINE_list('temperatures', ['0.6', '0.8', '0.9', '1.0', '1.1'], 'Temperatures to try.')
flags.DEFINE_list('top_ps', ['0.9', '0.95', '0.98', '1.0'], 'Top-p values to try.')


def off_grid_share(durations):
  """Share of onsets that are neither on a 16th nor on an 8th-triplet position."""
  onsets = np.cumsum([0] + [vocabulary.duration_value(d) for d in durations[:-1]])
  off = [o % fractions.Fraction(1, 4) != 0 and o % fractions.Fraction(1, 3) != 0
         for o in onsets]
  return float(np.mean(off))


def describe(melodies):
  counts = collections.Counter(d for m in melodies for d in m)
  total = sum(counts.values())
  return ({k: v / total for k, v in counts.items()},
          float(np.mean([off_grid_share(m) for m in melodies])),
          float(np.mean([len(set(m)) for m in melodies])))


def main(argv):
  del argv
  f = flags.FLAGS
  model = tf.saved_model.load(f.saved_model)
  restyle = model.signatures['restyle']
  test = list(tfds.as_numpy(windows.load_split(f.dataset, 'test', f.data_dir)))[:f.limit]
  real = [m['durations'].tolist() for m in test]
  real_hist, real_off, real_distinct = describe(real)
  print(f'{f.dataset}: {len(test)} test melodies, {sum(map(len, real))} notes')
  print('| temperature | top_p | tv | off_grid | distinct | score |')
  print('| --- | --- | --- | --- | --- | --- |')
  print(f'| real | | 0 | {real_off:.3f} | {real_distinct:.1f} | 0 |')
  rows = []
  for temperature in map(float, f.temperatures):
    for top_p in map(float, f.top_ps):
      sampled = []
      for i, m in enumerate(test):
        out = restyle(intervals=tf.constant(m['intervals'][None]),
                      durations=tf.constant(m['durations'][None]),
                      strength=tf.constant(1.0), temperature=tf.constant(temperature),
                      top_p=tf.constant(top_p), seed=tf.constant(i, tf.int64))
        sampled.append(out['durations'].numpy()[0].tolist())
      hist, off, distinct = describe(sampled)
      tv = 0.5 * sum(abs(hist.get(k, 0) - real_hist.get(k, 0))
                     for k in set(hist) | set(real_hist))
      score = tv + abs(off - real_off)
      rows.append((score, temperature, top_p))
      print(f'| {temperature} | {top_p} | {tv:.3f} | {off:.3f} | {distinct:.1f} | '
            f'{score:.3f} |', flush=True)
  score, temperature, top_p = min(rows)
  print(f'lowest score {score:.3f} at temperature {temperature}, top_p {top_p}')


if __name__ == '__main__':
  app.run(main)
