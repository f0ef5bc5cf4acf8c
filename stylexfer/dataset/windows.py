"""From melody records to fixed-length training windows, as tf.data pipelines.

A melody of n notes has intervals i_1..i_{n-1} and durations d_0..d_{n-1}. Note 0 has no
note before it, so its interval is START. One model step per note plus one for END:

  intervals_in  = [START, START, i_1, ..., i_{n-1}]
  durations_in  = [START, d_0,   d_1, ..., d_{n-1}]
  intervals_out = [START, i_1,   ...,      i_{n-1}, END]   pitch head target
  durations_out = [d_0,   d_1,   ...,      d_{n-1}, END]   duration head target

The pitch head reads intervals_in and durations_in; the duration head reads intervals_out
(the interval of the note whose duration it predicts) and durations_in. The pitch head is
not scored on START (see stylexfer.model.melody_model.target_mask). Both heads also hear
where note t falls in its bar (stylexfer.tokens.metre: positions, bar_lengths, notes_left;
0, unknown, at END) and the melody's style and tempo (stylexfer.tokens.conditions: the
same ids at every step; 0, any and unknown).

Melodies run from a few dozen notes (folk tunes) to about 5,000 (jazz solos), so the
n + 1 steps are cut into consecutive windows of `window` steps and the last one is padded
with PAD: every step is a target in exactly one window, and none is dropped. Windows are
trained independently, the LSTM state starting from zero in each (state is not carried
from one window to the next), which keeps batches shuffled and of one fixed shape.
"""

from absl import logging
import numpy as np
import tensorflow as tf

from stylexfer.tokens import conditions
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary

CONDITIONS = ('styles', 'tempi')
FEATURES = ('intervals_in', 'durations_in', 'intervals_out') + metre.INPUTS + CONDITIONS
SEQUENCES = FEATURES + ('durations_out',)
# Share of training windows whose metrical inputs are hidden (all three read "unknown"),
# so that a head also serves melodies drawn without bars; and, each drawn apart, shares
# whose style reads "any" and whose tempo reads unknown, so that a request without them
# is served too.
HIDE_METRE = 0.25
HIDE_STYLE = 0.25
HIDE_TEMPO = 0.25


class DataNotPreparedError(RuntimeError):
  """The TFDS melodies data set has not been built in the data folder."""


def load_split(config_name, split, data_dir=None):
  """Melody records of one split ('train', 'validation', 'test') of a built corpus.

  `config_name` is a config of the melodies data set (folk, jazz, ...) or the genre of a
  corpus built with `stylexfer-build-data --corpus=FOLDER --genre=NAME`.
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    import stylexfer_datasets.melodies  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise DataNotPreparedError(
        'the melodies data set builder (package stylexfer_datasets) is not importable; '
        'install this project (pip install -e .) and build the data first') from error
  # TFDS warns that the folder it looks for has no dataset_info.json; that the data is
  # not built is said once, below, on one line.
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.ERROR)
  try:
    if config_name in stylexfer_datasets.melodies.Builder.builder_configs:
      builder = tfds.builder('melodies/' + config_name, data_dir=data_dir)
    else:  # a user's corpus has no config in the code: its built folder describes it
      builder = _built_corpus(config_name, data_dir)
    prepared = builder.is_prepared()
  finally:
    logging.set_verbosity(verbosity)
  if not prepared:
    raise DataNotPreparedError(
        f'melodies/{config_name} is not built in {builder.data_dir}; build the data first '
        '(stylexfer-build-data) and pass the same --data_dir')
  return builder.as_dataset(split=split)


def _built_corpus(genre, data_dir):
  """The builder of melodies/<genre>/<newest version>/ as `stylexfer-build-data` wrote it."""
  import os  # pylint: disable=g-import-not-at-top
  import re  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  folder = os.path.join(data_dir or tfds.core.constants.DATA_DIR, 'melodies', genre)
  versions = sorted((tuple(int(p) for p in v.split('.')), v) for v in
                    (os.listdir(folder) if os.path.isdir(folder) else ())
                    if re.fullmatch(r'\d+\.\d+\.\d+', v) and
                    os.path.isfile(os.path.join(folder, v, 'dataset_info.json')))
  if not versions:
    raise DataNotPreparedError(
        f'melodies/{genre} is not built in {data_dir or tfds.core.constants.DATA_DIR}: '
        f'build it first (stylexfer-build-data --corpus=FOLDER --genre={genre}) and pass '
        'the same --data_dir')
  return tfds.builder_from_directory(os.path.join(folder, versions[-1][1]))


def frame(intervals, durations, metre_ids=None, style=0, tempo=0):
  """The step sequences (n + 1 each) of a melody's n - 1 intervals and n durations.

  `metre_ids` maps stylexfer.tokens.metre.INPUTS to n ids each; without it they are unknown.
  `style` and `tempo` are the melody's ids (stylexfer.tokens.conditions), heard at every step.
  """
  intervals = tf.cast(intervals, tf.int32)
  durations = tf.cast(durations, tf.int32)
  start = tf.constant([vocabulary.START], tf.int32)
  end = tf.constant([vocabulary.END], tf.int32)
  framed = {
      'intervals_in': tf.concat([start, start, intervals], 0),
      'durations_in': tf.concat([start, durations], 0),
      'intervals_out': tf.concat([start, intervals, end], 0),
      'durations_out': tf.concat([durations, end], 0),
  }
  unknown = tf.zeros([1], tf.int32)
  for name in metre.INPUTS:
    ids = (tf.cast(metre_ids[name], tf.int32) if metre_ids is not None
           else tf.zeros_like(durations))
    framed[name] = tf.concat([ids, unknown], 0)
  steps = tf.shape(framed['durations_out'])
  framed['styles'] = tf.fill(steps, tf.cast(style, tf.int32))
  framed['tempi'] = tf.fill(steps, tf.cast(tempo, tf.int32))
  return framed


def cut(framed, window):
  """Framed sequences as [num_windows, window] blocks, the last padded with PAD."""
  steps = tf.shape(framed['durations_out'])[0]
  num_windows = (steps + window - 1) // window
  padding = num_windows * window - steps
  return {
      name: tf.reshape(tf.pad(framed[name], [[0, padding]],
                              constant_values=vocabulary.PAD), [num_windows, window])
      for name in SEQUENCES
  }


def melody_windows(melodies, window, styles=None):
  """A dataset of single windows (dicts of int32 [window]) from a dataset of melodies.

  Melodies with bars (`bars`, `beats`, `bar_lengths`) give their metrical inputs, those
  with a `tempo` their tempo, and with `styles` (a conditions.Styles) those whose label
  is among them their style.
  """
  lookup = styles.lookup if styles else {}
  table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
      tf.constant(list(lookup) or [''], tf.string),
      tf.constant(list(lookup.values()) or [0], tf.int32)), default_value=0)

  def to_windows(melody):
    ids = metre.record_ids(melody) if 'bar_lengths' in melody else None
    style = table.lookup(melody[styles.field]) if styles and styles.field in melody else 0
    tempo = conditions.tempo_ids_graph(melody['tempo']) if 'tempo' in melody else 0
    return cut(frame(melody['intervals'], melody['durations'], ids, style, tempo), window)

  return (melodies
          .map(to_windows, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
          .unbatch())


def hide(window):
  """A window whose metrical inputs read unknown, its style any or its tempo unknown, each
  for its own fixed share of windows (HIDE_METRE, HIDE_STYLE, HIDE_TEMPO).

  The draws are seeded by the window's own tokens, so the same windows are hidden on every
  pass and on every worker, whatever order they come in.
  """
  steps = tf.range(1, tf.size(window['durations_out']) + 1, dtype=tf.int64)
  key = tf.reduce_sum(tf.cast(window['durations_out'], tf.int64) * steps
                      + tf.cast(window['intervals_out'], tf.int64) * steps * steps)

  def shown(stream, share):
    draw = tf.random.stateless_uniform([], tf.stack([key, tf.constant(stream, tf.int64)]))
    return tf.cast(draw >= share, tf.int32)

  kept = {name: shown(7, HIDE_METRE) for name in metre.INPUTS}
  kept.update(styles=shown(11, HIDE_STYLE), tempi=shown(13, HIDE_TEMPO))
  return {name: value * kept[name] if name in kept else value
          for name, value in window.items()}


def count_windows(melodies, window):
  """How many windows `melody_windows` makes of `melodies` (one pass over the data)."""
  per_melody = melodies.map(
      lambda melody: (tf.size(melody['durations']) + window) // window)
  return int(per_melody.reduce(tf.constant(0), lambda total, count: total + count))


def split_targets(windows):
  """(features, targets) with targets keyed by the model's output names."""
  features = {name: windows[name] for name in FEATURES}
  targets = {
      'pitch_logits': windows['intervals_out'],
      'duration_logits': windows['durations_out'],
  }
  return features, targets


def train_batches(windows, batch_size, seed=0, shuffle_buffer=10_000):
  """Endless shuffled batches of windows, reshuffled on every pass.

  Endless so that an epoch is a fixed number of steps: every worker of a multi-worker
  run then takes the same number of steps, whatever its shard of the data holds. A share
  of the windows hear no metre, style or tempo (see hide).
  """
  return (windows
          .map(hide)
          .cache()
          .shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
          .repeat()
          .batch(batch_size, drop_remainder=True)
          .map(split_targets)
          .prefetch(tf.data.AUTOTUNE))


def eval_batches(windows, batch_size):
  """One pass over the windows in full batches, the last one filled with all-PAD windows.

  Filler windows have no scored targets, so they change no metric, and full batches keep
  one shape (for TPUs) and one number of steps on every worker.
  """
  empty = {name: tf.fill([windows.element_spec[name].shape[0]], vocabulary.PAD)
           for name in SEQUENCES}
  filler = tf.data.Dataset.from_tensors(empty).repeat(batch_size - 1)
  return (windows
          .cache()
          .concatenate(filler)
          .batch(batch_size, drop_remainder=True)
          .map(split_targets)
          .prefetch(tf.data.AUTOTUNE))


def synthetic_melodies(num_melodies, seed=0, min_notes=40, max_notes=400):
  """Melody records made of short repeated motifs, for tests and throughput runs.

  Repetition makes them learnable, so a falling loss shows that training works.
  """
  rng = np.random.default_rng(seed)
  unison = vocabulary.interval_id(0)
  common_durations = [vocabulary.duration_id(q) for q in ('1/2', '1', '1/4', '3/2', '1/3')]
  melodies = []
  for _ in range(num_melodies):
    length = int(rng.integers(min_notes, max_notes + 1))
    motif = int(rng.integers(3, 9))
    intervals = rng.integers(unison - 5, unison + 6, size=motif)
    durations = rng.choice(common_durations, size=motif)
    melodies.append((np.resize(intervals, length - 1).astype(np.int32),
                     np.resize(durations, length).astype(np.int32)))

  def generate():
    for intervals, durations in melodies:
      quarters = vocabulary.duration_table()[durations]
      bars, beats, bar_lengths = metre.bars_of(quarters)
      yield {'intervals': intervals, 'durations': durations, 'bars': bars, 'beats': beats,
             'bar_lengths': bar_lengths}

  return tf.data.Dataset.from_generator(
      generate,
      output_signature={
          'intervals': tf.TensorSpec([None], tf.int32),
          'durations': tf.TensorSpec([None], tf.int32),
          'bars': tf.TensorSpec([None], tf.int32),
          'beats': tf.TensorSpec([None], tf.float32),
          'bar_lengths': tf.TensorSpec([None], tf.float32),
      })
