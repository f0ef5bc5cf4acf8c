"""Measures how far `restyle_like` moves a new rhythm towards one target melody's rhythm.

  python benchmarks/restyle_like.py --saved_model=stylexfer/pretrained/jazz/1 \
      --source=folk --target=jazz --data_dir=DATA [--pairs=40]

For each pair, a source test melody (e.g. a folk tune) is restyled by the model twice with
the same seed: plainly (`restyle`) and after listening to a target test melody
(`restyle_like`, on the target's first --context notes). Reported is the total variation
distance between each new rhythm's duration histogram and the target's own, and, as a
control, another target melody's (the rhythm should move towards the one it heard, not
towards the genre in general).
"""

import collections

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from stylexfer.reading import melody as melody_lib
from stylexfer.dataset import windows

flags.DEFINE_string('saved_model', None, 'An exported SavedModel version folder.')
flags.DEFINE_string('source', 'folk', 'Melodies config of the melodies to restyle.')
flags.DEFINE_string('target', 'jazz', 'Melodies config of the target melodies.')
flags.DEFINE_string('data_dir', None, 'TFDS data folder.')
flags.DEFINE_integer('pairs', 40, 'How many (source, target) pairs.')
flags.DEFINE_integer('context', 200, 'Notes of the target melody the model listens to.')
flags.DEFINE_float('temperature', 1.1, 'Sampling temperature.')
flags.DEFINE_float('top_p', 0.95, 'Nucleus mass.')


def distance(a, b):
  """Total variation distance between two duration-token histograms."""
  ca, cb = collections.Counter(a), collections.Counter(b)
  na, nb = sum(ca.values()), sum(cb.values())
  return 0.5 * sum(abs(ca[k] / na - cb[k] / nb) for k in set(ca) | set(cb))


def main(argv):
  del argv
  f = flags.FLAGS
  model = tf.saved_model.load(f.saved_model)
  sources = list(tfds.as_numpy(windows.load_split(f.source, 'test', f.data_dir)))
  targets = list(tfds.as_numpy(windows.load_split(f.target, 'test', f.data_dir)))
  rng = np.random.default_rng(0)
  rows = collections.defaultdict(list)
  for pair in range(f.pairs):
    source = sources[pair % len(sources)]
    target, control = (targets[i] for i in rng.choice(len(targets), 2, replace=False))
    like = {'like_intervals': target['intervals'][None, :f.context - 1],
            'like_durations': target['durations'][None, :f.context]}
    bars, bar_lengths, pickup = melody_lib.form_of(source['bars'], source['bar_lengths'],
                                                   source['beats'][0])
    request = {'intervals': source['intervals'][None], 'durations': source['durations'][None],
               'bars': bars[None], 'bar_lengths': bar_lengths[None],
               'pickup': np.float32([pickup]), 'push': np.float32(0),
               'strength': np.float32(1), 'temperature': np.float32(f.temperature),
               'top_p': np.float32(f.top_p), 'seed': np.int64(pair)}
    request = {k: tf.constant(v) for k, v in request.items()}
    plain = model.signatures['restyle'](**request)['durations'].numpy()[0]
    liked = model.signatures['restyle_like'](
        **request, **{k: tf.constant(v) for k, v in like.items()})['durations'].numpy()[0]
    heard = like['like_durations'][0]
    rows['plain, to the target'].append(distance(plain, heard))
    rows['like, to the target'].append(distance(liked, heard))
    rows['plain, to another melody'].append(distance(plain, control['durations']))
    rows['like, to another melody'].append(distance(liked, control['durations']))
  print(f'{f.pairs} pairs: {f.source} test melodies restyled by {f.saved_model}, '
        f'targets from {f.target} test')
  print('| rhythm | TV distance (mean) |')
  print('| --- | --- |')
  for label, values in rows.items():
    print(f'| {label} | {np.mean(values):.3f} |')


if __name__ == '__main__':
  app.run(main)
