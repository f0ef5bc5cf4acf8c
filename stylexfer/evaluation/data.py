"""Held-out melodies for the evaluation, and Rendition: a tune's pitches with one rhythm.

Records of the TFDS `melodies` data become stylexfer.reading.melody.Melody objects (what
the restyle signatures read), with onsets rebuilt from each note's bar and position in it, so a
Melody's durations are the ones the corpus was read with. Every melody that is measured,
real, restyled or generated, is a Rendition: its pitches, the rhythm being measured, and
the bars of the input it came from (each note's 0-based bar index, every bar's length),
so that notes can be checked against the bars they had.
"""

import dataclasses
import fractions
import functools
import os

import numpy as np

from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.tokens import vocabulary

Fraction = fractions.Fraction

# Float32 positions of the records hold tuplets of at most a few dozen parts per beat;
# the nearest fraction with a denominator up to this is the exact one.
_MAX_DENOMINATOR = 240


def exact(value):
  """A record's float32 quarter-note value as the Fraction it was written from."""
  if isinstance(value, (Fraction, int)):
    return Fraction(value)
  return _exact(float(value))


@functools.lru_cache(maxsize=4096)
def _exact(value):
  # Positions and bar lengths take few distinct values: a cache saves most of the work.
  return Fraction(value).limit_denominator(_MAX_DENOMINATOR)


_GRID_24THS = np.array([int(d * 24) for d in vocabulary.DURATION_GRID])


def duration_ids(durations):
  """Duration ids of quarter-note values, snapped as vocabulary.snap_duration snaps them."""
  quarters = np.array([float(d) for d in durations]).reshape(-1, 1)
  # argmin takes the first of two equal distances: the shorter value, as snap_duration.
  nearest = np.argmin(np.abs(_GRID_24THS[None, :] - quarters * 24), axis=1)
  return (vocabulary.NUM_SPECIAL + nearest).tolist()


def interval_ids(pitches):
  """Interval ids between consecutive MIDI pitches, folded by octaves as the vocabulary."""
  steps = np.diff(np.asarray(pitches, int))
  high, low = vocabulary.MAX_INTERVAL, vocabulary.MIN_INTERVAL
  steps = np.where(steps > high, steps - 12 * ((steps - high + 11) // 12), steps)
  steps = np.where(steps < low, steps + 12 * ((low - steps + 11) // 12), steps)
  return (vocabulary.NUM_SPECIAL + steps - low).tolist()


@dataclasses.dataclass
class Rendition:
  """A tune's pitches with one rhythm, and the bars of the input it was made from."""
  tune_id: str
  pitches: list            # MIDI pitches, one per note
  durations: list          # inter-onset durations being measured (Fractions), exact
                           # (tuplets, long rests), new ones on the grid where not kept
  bars: list               # 0-based bar index of each note in the input
  bar_lengths: list        # quarter notes of every bar, by bar index
  first_position: Fraction  # the first note's onset within its bar
  time_signature: str = '4/4'
  original: list = None    # the input's durations, where this rhythm replaced them
  written: object = None   # the reading.melody.Melody as the writers write it, if made

  def __len__(self):
    return len(self.pitches)

  def bar_starts(self):
    """Onset of every bar, by bar index, from the first bar's start."""
    return list(np.cumsum([Fraction(0)] + list(self.bar_lengths[:-1]), dtype=object))

  def onsets(self):
    """Each note's onset in quarter notes from the first bar's start, under this rhythm."""
    first = self.bar_starts()[self.bars[0]] + self.first_position
    return list(np.cumsum([first] + list(self.durations[:-1]), dtype=object))

  def positions(self):
    """Each note's onset within the bar it falls in under this rhythm (float quarters).

    Bars are the input's; onsets past its last bar fall in bars of the last bar's length.
    """
    lengths = np.array([float(b) for b in self.bar_lengths])
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    durations = np.array([float(d) for d in self.durations])
    onsets = starts[self.bars[0]] + float(self.first_position) + np.concatenate(
        [[0.0], np.cumsum(durations[:-1])])
    # A hair of tolerance: onsets summed in floats land a rounding error off a bar line.
    index = np.clip(np.searchsorted(starts, onsets + 1e-9, side='right') - 1, 0,
                    len(lengths) - 1)
    positions = onsets - starts[index]
    past = onsets >= starts[-1] - 1e-9
    positions[past] = np.mod(onsets[past] - starts[-1] + 1e-9, lengths[-1]) - 1e-9
    return np.maximum(positions, 0.0)

  def interval_ids(self):
    return interval_ids(self.pitches)

  def duration_ids(self):
    return duration_ids(self.durations)

  def excerpt(self, notes):
    """The first `notes` notes (all of them for a shorter melody)."""
    if notes is None or notes >= len(self):
      return self
    return dataclasses.replace(
        self, pitches=self.pitches[:notes], durations=self.durations[:notes],
        bars=self.bars[:notes], bar_lengths=self.bar_lengths[:self.bars[notes - 1] + 1],
        original=None if self.original is None else self.original[:notes])

  def with_rhythm(self, durations):
    """The same tune and bars with a new rhythm; the old one is kept as `original`."""
    return dataclasses.replace(self, durations=[vocabulary.snap_duration(d) for d in durations],
                               original=self.durations)


def bar_layout(melody):
  """(0-based bar index of each note, every bar's length, first note's position) of a Melody.

  Bar numbers may start at any number (a pickup is bar 0 in scores, WJazzD counts lead-in
  bars below 0) and skip bars without notes; a skipped bar takes the previous bar's length,
  as the corpus reader does.
  """
  first = min(melody.bars)
  bars = [int(b) - first for b in melody.bars]
  lengths = [None] * (max(bars) + 1)
  for index, length in zip(bars, melody.bar_lengths):
    lengths[index] = exact(length)
  for index in range(1, len(lengths)):
    if lengths[index] is None:
      lengths[index] = lengths[index - 1]
  return bars, lengths, exact(melody.beats[0])


def rendition(melody, durations=None):
  """A Melody as a Rendition with its own rhythm, or `durations` in place of it.

  Durations stay exact, not snapped to the grid: snapping a quintuplet or a rest longer
  than 8 quarters would move every later onset out of its bar (a restyle keeps both).
  """
  bars, lengths, first_position = bar_layout(melody)
  own = [Fraction(d) for d in melody.durations()]
  return Rendition(
      tune_id=melody.tune_id, pitches=[int(p) for p in melody.pitches],
      durations=own if durations is None else [exact(d) for d in durations],
      bars=bars, bar_lengths=lengths, first_position=first_position,
      time_signature=melody.time_signature, original=None if durations is None else own)


def record_to_melody(record):
  """A `melodies` record (numpy values, as tfds.as_numpy gives them) as a Melody.

  Onsets come from each note's bar and position in it, so rests and off-grid tuplets keep
  the timing the corpus was read with; the last note sounds for its record duration.
  """
  text = lambda value: value.decode() if isinstance(value, bytes) else str(value)
  pitches, durations = vocabulary.decode(int(record['first_pitch']), list(record['intervals']),
                                         list(record['durations']))
  partial = melody_lib.Melody(
      tune_id=text(record['tune_id']), title=text(record['title']),
      source=text(record['source']), pitches=pitches, onsets=[], lengths=[],
      bars=[int(b) for b in record['bars']], beats=[exact(b) for b in record['beats']],
      phrases=[int(p) for p in record['phrases']],
      time_signature=text(record['time_signature']),
      bar_lengths=[exact(b) for b in record['bar_lengths']])
  bars, lengths, _ = bar_layout(partial)
  starts = np.cumsum([Fraction(0)] + lengths[:-1], dtype=object)
  # Onsets count from the first note, as the readers count them.
  first = starts[bars[0]] + partial.beats[0]
  partial.onsets = [starts[b] + beat - first for b, beat in zip(bars, partial.beats)]
  if any(b <= a for a, b in zip(partial.onsets, partial.onsets[1:])):
    # Bar marks that do not rise with the notes (rare in scores): onsets from the tokens.
    partial.onsets = list(np.cumsum([Fraction(0)] + durations[:-1], dtype=object))
  partial.lengths = [exact(q) for q in record['lengths'][:-1]] + [durations[-1]]
  return partial


def melody_of_notes(pitches, durations, time_signature='4/4', tune_id=''):
  """A Melody of generated notes starting on a downbeat, in bars of the time signature."""
  from music21 import meter  # pylint: disable=g-import-not-at-top
  bar = exact(meter.TimeSignature(time_signature).barDuration.quarterLength)
  durations = [vocabulary.snap_duration(d) for d in durations]
  onsets = list(np.cumsum([Fraction(0)] + durations[:-1], dtype=object))
  return melody_lib.Melody(
      tune_id=tune_id, title=tune_id, source='generated', pitches=[int(p) for p in pitches],
      onsets=onsets, lengths=durations[:-1] + [durations[-1]],
      bars=[int(o // bar) for o in onsets], beats=[o % bar for o in onsets],
      phrases=[0] * len(onsets), time_signature=time_signature,
      bar_lengths=[bar] * len(onsets))


def require_built(genres, data_dir=None):
  """Raises windows.DataNotPreparedError unless every genre's data is built (reads nothing)."""
  from stylexfer.dataset import windows  # pylint: disable=g-import-not-at-top
  for genre in genres:
    windows.load_split(genre, 'test', data_dir)


def load_records(genre, split='test', data_dir=None):
  """The records (numpy dicts) of one split of a built `melodies` config, in data-set order."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from stylexfer.dataset import windows  # pylint: disable=g-import-not-at-top
  return list(tfds.as_numpy(windows.load_split(genre, split, data_dir)))


def subset(items, limit=None, seed=0):
  """A random subset of `limit` items (chosen by `seed`, their order kept); all without."""
  if limit is None or limit >= len(items):
    return list(items)
  keep = np.sort(np.random.default_rng(seed).choice(len(items), limit, replace=False))
  return [items[i] for i in keep]


def load_melodies(genre, split='test', data_dir=None, limit=None, seed=0):
  """Melodies of one split of a built `melodies` config (a `limit` of them at random)."""
  records = subset(load_records(genre, split, data_dir), limit, seed)
  return [record_to_melody(r) for r in records]


def load_renditions(genre, splits=('test',), data_dir=None, limit=None, seed=0):
  """Renditions of the melodies of some splits of a built config (a `limit` at random)."""
  records = [r for split in splits for r in load_records(genre, split, data_dir)]
  return [rendition(record_to_melody(r)) for r in subset(records, limit, seed)]


def record_tokens(records):
  """Records as {'intervals', 'durations'} id arrays, as stylexfer.model.ngram reads them."""
  return [{'intervals': np.asarray(r['intervals'], np.int64),
           'durations': np.asarray(r['durations'], np.int64)} for r in records]


def token_lists(renditions):
  """Renditions as {'intervals', 'durations'} id arrays, as stylexfer.model.ngram reads them."""
  return [{'intervals': np.array(r.interval_ids(), np.int64),
           'durations': np.array(r.duration_ids(), np.int64)} for r in renditions]


# Where the builder's collections keep their ABC files (stylexfer_datasets.melodies):
# O'Neill's ships with music21; the Nottingham Music Database lies in the manual folder.
_ABC_COLLECTIONS = {'oneills1850': lambda manual_dir: [_music21_corpus('oneills1850')],
                    'nottingham': lambda manual_dir: [
                        os.path.join(manual_dir, sub) for sub in ('folk-nottingham/abc', 'abc')
                    ] if manual_dir else []}


def _music21_corpus(name):
  import music21  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(music21.__file__), 'corpus', name)


def source_tune(tune_id, manual_dir=None):
  """(ABC text, path) of a held-out tune in its source file, or None where not found.

  A record keeps the notes and bars of its tune, not its repeat signs, endings, chord
  symbols or header: the source file has them, for checking what the writers write.
  """
  source, _, number = tune_id.partition('#X:')
  collection, _, name = source.partition('/')
  for folder in _ABC_COLLECTIONS.get(collection, lambda _: [])(manual_dir):
    path = os.path.join(folder, name)
    if number and os.path.isfile(path):
      for found, _, text in abc_reader.split_abc(melody_files.read_text(path)):
        if found == number:
          return text, path
  return None


def source_melody(melody, manual_dir=None):
  """(the held-out Melody as read from its source file, that tune's ABC text), or
  (melody, None) where no source file is found (see source_tune)."""
  found = source_tune(melody.tune_id, manual_dir)
  if found is None:
    return melody, None
  text, path = found
  try:
    read = abc_reader.parse_abc_tune(text, path, melody.tune_id.rsplit('#X:', 1)[1],
                                     melody.title)
  except melody_lib.MelodyError:
    return melody, None
  read.tune_id = melody.tune_id
  return read, text
