"""Corpus files to token records, one file and one tune at a time, and the build statistics.

The `melodies` builder runs these steps either on Apache Beam or in one process with a
process pool; both call the same functions in the same order, so both give the same records.

  find_files -> tunes_of_file -> parse_tune -> record_of -> (duplicates out) -> count_kept

Every step counts what it reads and drops through a `count(name, value=1)` function: a
`collections.Counter`'s, or a Beam metrics counter's. Drops have one naming scheme,
'dropped <files|tunes|notes>: <reason>', so the statistics table says what was lost and why.
"""

import collections
import dataclasses
import glob
import hashlib
import os

from stylexfer.dataset import guarded
from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.reading import score_reader
from stylexfer.tokens import vocabulary
from stylexfer.reading import wjazzd

MIN_NOTES = 8  # shorter tunes are fragments (incipits, chord-only bars)
SPLITS = (('train', 80), ('validation', 90), ('test', 100))
SCORE_SUFFIXES = melody_files.MIDI_SUFFIXES + melody_files.MUSICXML_SUFFIXES
MELODY_SUFFIXES = melody_files.ABC_SUFFIXES + SCORE_SUFFIXES

_DROP_REASONS = {
    melody_lib.NoNotesError: 'no notes',
    melody_lib.UnreadableFileError: 'unreadable',
    melody_lib.TooLongError: 'too long',
}


class CorpusError(ValueError):
  """No melody at all could be read from a corpus; the message names it and counts why."""


@dataclasses.dataclass(frozen=True)
class CorpusFile:
  """One file of a collection: tune ids are '<collection>/<name>[#X:<n>]'."""
  order: int           # position in the build, so that duplicates resolve the same way
  collection: str
  path: str
  name: str            # the file's name inside its collection (a relative path)
  kind: str = 'score'  # 'score' (ABC, MIDI, MusicXML) or 'wjazzd'
  style: str = ''      # the tune type of a file of one type, for tunes that state none


@dataclasses.dataclass(frozen=True)
class Tune:
  """One tune to parse: ABC text, a MIDI or MusicXML file, or an already read melody."""
  order: tuple         # (file order, position in the file)
  source: str
  number: str = ''
  title: str = ''
  text: str = ''
  path: str = ''
  melody: melody_lib.Melody | None = None
  error: melody_lib.MelodyError | None = None
  style: str = ''


def split_of(tune_id):
  """'train', 'validation' or 'test' (about 80/10/10), fixed by the tune id alone."""
  bucket = int(hashlib.md5(tune_id.encode('utf-8')).hexdigest(), 16) % 100
  return next(name for name, bound in SPLITS if bucket < bound)


def abc_files(folder):
  """The ABC files of a folder, sorted so that builds are deterministic."""
  return sorted(glob.glob(os.path.join(folder, '*.abc')))


def find_files(folder, collection, start=0, nested=False):
  """Every melody file under `folder` (ABC, MIDI, MusicXML), sorted, as CorpusFiles.

  Only the folder itself is searched unless `nested`; then names are relative paths. A
  folder or a broken link with a melody file's name is listed too, so that it is counted.
  """
  found = []
  if nested:
    for root, dirs, files in os.walk(folder):
      dirs.sort()
      for name in dirs + files:
        if name.lower().endswith(MELODY_SUFFIXES):
          found.append(os.path.relpath(os.path.join(root, name), folder))
  else:
    found = [os.path.basename(p) for p in abc_files(folder)]
  return [CorpusFile(start + i, collection, os.path.join(folder, name),
                     name.replace(os.sep, '/'))
          for i, name in enumerate(sorted(found))]


def tunes_of_file(corpus_file, count):
  """The tunes of one corpus file; a file that cannot hold any is counted and skipped."""
  count('files read')
  path = corpus_file.path
  if not os.path.exists(path):
    count('dropped files: broken link' if os.path.islink(path) else 'dropped files: missing')
    return []
  if not os.path.isfile(path):
    count('dropped files: not a regular file')
    return []
  if corpus_file.kind == 'wjazzd':
    return _wjazzd_tunes(corpus_file, count)
  source = f'{corpus_file.collection}/{corpus_file.name}'
  if not corpus_file.name.lower().endswith(melody_files.ABC_SUFFIXES):
    return [Tune((corpus_file.order, 0), source, path=path, style=corpus_file.style)]
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError:
    count('dropped files: unreadable')
    return []
  if not data.strip():
    count('dropped files: empty')
    return []
  if b'\x00' in data:  # no text encoding puts NUL bytes in ABC
    count('dropped files: binary')
    return []
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError:
    # ABC from before UTF-8 is mostly Latin-1; every byte string decodes as Latin-1.
    text = data.decode('latin-1')
    count('files read as Latin-1')
  tunes = abc_reader.split_abc(text)
  if not tunes:
    count('dropped files: no ABC tune (no X: line)')
  return [Tune((corpus_file.order, i), source, number=number, title=title, text=tune_text,
               style=corpus_file.style)
          for i, (number, title, tune_text) in enumerate(tunes)]


def _wjazzd_tunes(corpus_file, count):
  try:
    melodies, errors = wjazzd.read_wjazzd(corpus_file.path)
  except melody_lib.MelodyError:
    count('dropped files: unreadable')
    return []
  tunes = [Tune((corpus_file.order, i), m.source, melody=m) for i, m in enumerate(melodies)]
  return tunes + [Tune((corpus_file.order, len(melodies) + i), corpus_file.path, error=e)
                  for i, e in enumerate(errors)]


def parse_tune(tune, count):
  """The tune's Melody, or None when it has none (counted by reason)."""
  count('tunes read')
  try:
    if tune.error is not None:
      raise tune.error
    if tune.melody is not None:
      return tune.melody
    if tune.path:
      melody = score_reader.read_score(tune.path)
      # Ids and sources relative to the corpus, so that records do not depend on where
      # the corpus lies.
      melody.tune_id = melody.source = tune.source
    else:
      melody = abc_reader.parse_abc_tune(tune.text, tune.source, tune.number, tune.title)
  except melody_lib.MelodyError as error:
    if isinstance(error.__cause__, MemoryError):  # a reader's broad except caught it
      count(guarded.TOO_LARGE)
    else:
      count(f'dropped tunes: {_DROP_REASONS.get(type(error), type(error).__name__)}')
    return None
  melody.style = melody.style or tune.style
  return melody


def record_of(melody, genre, count):
  """(tune id, record, its statistics) for the TFDS builder, or None for a tune too short
  to keep (counted)."""
  if len(melody) < MIN_NOTES:
    count(f'dropped tunes: fewer than {MIN_NOTES} notes')
    return None
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  return melody.tune_id, {
      'tune_id': melody.tune_id,
      'title': melody.title,
      'genre': genre,
      'source': melody.source,
      'time_signature': melody.time_signature,
      'first_pitch': encoding.first_pitch,
      'intervals': encoding.intervals,
      'durations': encoding.durations,
      'bars': melody.bars,
      'beats': [float(b) for b in melody.beats],
      'bar_lengths': [float(b) for b in melody.bar_lengths],
      'lengths': [float(q) for q in melody.lengths],
      'phrases': melody.phrases,
      'style': melody.style,
      'feel': melody.feel,
      'tempo': float(melody.tempo or 0.0),
  }, _tune_counts(melody, encoding)


def _tune_counts(melody, encoding):
  """What a kept tune adds to the statistics (counted only once it is kept)."""
  counts = collections.Counter({'tunes kept': 1, 'notes': len(melody),
                                'intervals folded': encoding.folded,
                                'durations snapped': encoding.snapped})
  counts.update(melody.counts)  # the readers count in the build's scheme
  counts.update({f'style: {melody.style or "not stated"}': 1,
                 f'tempo: {"stated" if melody.tempo else "not stated"}': 1})
  if melody.feel:
    counts[f'feel: {melody.feel}'] += 1
  counts.update({f'interval id {i}': 1 for i in set(encoding.intervals)})
  counts.update({f'duration id {d}': 1 for d in set(encoding.durations)})
  return counts


def count_kept(tune_counts, record, count):
  """Counts a kept tune: its own statistics and its split's tunes and notes."""
  for key, value in tune_counts.items():
    if value:
      count(key, value)
  split = split_of(record['tune_id'])
  count(f'split {split}: tunes')
  count(f'split {split}: notes', len(record['durations']))


def parse_tune_counted(tune):
  """parse_tune for a process pool: (Melody or None, what it counted)."""
  counts = collections.Counter()
  melody = parse_tune(tune, lambda name, value=1: counts.update({name: value}))
  return melody, counts


def parse_all(tunes, processes=None):
  """parse_tune_counted over every tune, in order, in worker processes (`processes`,
  default: all cores), each tune under a time and a memory limit (stylexfer.dataset.guarded:
  one that passes either is counted as dropped); processes=1 parses here, under the time
  limit alone."""
  if processes == 1 or not tunes:
    return [guarded.parse_one(parse_tune_counted, tune) for tune in tunes]
  # Even a few tunes go to a worker (its start costs about as much as parsing 50 tunes):
  # the memory limit needs a process of their own.
  processes = min(processes or os.cpu_count() or 1, len(tunes))
  return guarded.parse_all(parse_tune_counted, tunes, processes)


def read_corpus(files, genre, processes=None):
  """Every record of `files` as ({split: [(tune id, record)]}, counts), on all cores.

  The builder's path without Beam: the same steps as its Beam pipeline, in one process
  (and a pool for parsing). Of two tunes with one id, the first in file order is kept.
  """
  counts = collections.Counter()
  count = lambda name, value=1: counts.update({name: value})
  tunes = [tune for f in files for tune in tunes_of_file(f, count)]
  by_split = {name: [] for name, _ in SPLITS}
  seen = set()
  for melody, tune_counts in parse_all(tunes, processes):
    counts.update(tune_counts)
    keyed = record_of(melody, genre, count) if melody is not None else None
    if keyed is None:
      continue
    key, record, kept = keyed
    if key in seen:
      count('dropped tunes: duplicate tune id')
      continue
    seen.add(key)
    count_kept(kept, record, count)
    by_split[split_of(key)].append((key, record))
  return by_split, counts


def check_kept(counts, where):
  """Raises CorpusError naming `where` when not one tune was kept."""
  if counts.get('tunes kept'):
    return
  reasons = ', '.join(f'{key[len("dropped "):]}: {value}' for key, value in sorted(counts.items())
                      if key.startswith('dropped ') and value)
  raise CorpusError(
      f'{where}: no melody could be read from {counts.get("files read", 0)} files '
      f'({counts.get("tunes read", 0)} tunes read; {reasons or "no melody files found"})')


# Shown in every table, zero or not.
_ALWAYS = ('files read', 'tunes read', 'tunes kept', 'notes', 'intervals folded',
           'durations snapped')


def statistics(counts):
  """The build statistics as an ordered dict of plain numbers, vocabulary coverage last."""
  counts = collections.Counter(counts)
  counts.update({key: 0 for key in _ALWAYS})
  used_intervals = sum(1 for key, value in counts.items()
                       if key.startswith('interval id ') and value)
  used_durations = sum(1 for key, value in counts.items()
                       if key.startswith('duration id ') and value)
  table = {key: counts[key] for key in sorted(counts)
           if not key.startswith(('interval id', 'duration id'))}
  table['interval vocabulary used'] = (
      f'{used_intervals}/{vocabulary.NUM_INTERVALS - vocabulary.NUM_SPECIAL}')
  table['duration vocabulary used'] = (
      f'{used_durations}/{vocabulary.NUM_DURATIONS - vocabulary.NUM_SPECIAL}')
  return table


def format_table(table):
  """The statistics as an aligned two-column text table."""
  width = max(len(key) for key in table)
  return '\n'.join(f'{key:<{width}}  {value:>10}' for key, value in table.items())


def read_abc_corpus(paths, collection, counts, processes=None):
  """Every tune of many ABC files as Melodies, parsed on all cores; failures are counted.

  Tune ids become '<collection>/<file>#X:<n>', so they stay unique across collections.
  """
  count = lambda name, value=1: counts.update({name: value})
  files = [CorpusFile(i, collection, p, os.path.basename(p)) for i, p in enumerate(paths)]
  tunes = [tune for f in files for tune in tunes_of_file(f, count)]
  melodies = []
  for melody, tune_counts in parse_all(tunes, processes):
    counts.update(tune_counts)
    if melody is not None:
      melodies.append(melody)
  return melodies


# A lighter ABC parse: music21 builds a score for engraving, then melody_from_score copies
# it whole to merge ties. Beams and the copy are most of the time of a tune (0.095 s a tune
# against 0.038 s without them, on this machine) and change no note, onset or bar.
