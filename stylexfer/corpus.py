"""Whole corpora to token records: parallel parsing, the train/validation/test split, and
the build statistics (what was read, kept, dropped by reason, folded and snapped)."""

import collections
import concurrent.futures
import glob
import hashlib
import multiprocessing
import os

from stylexfer import melody as melody_lib
from stylexfer import vocabulary

MIN_NOTES = 8  # shorter tunes are fragments (incipits, chord-only bars)
SPLITS = (('train', 80), ('validation', 90), ('test', 100))


def split_of(tune_id):
  """'train', 'validation' or 'test' (about 80/10/10), fixed by the tune id alone."""
  bucket = int(hashlib.md5(tune_id.encode('utf-8')).hexdigest(), 16) % 100
  return next(name for name, bound in SPLITS if bucket < bound)


def abc_files(folder):
  """The ABC files of a folder, sorted so that builds are deterministic."""
  return sorted(glob.glob(os.path.join(folder, '*.abc')))


def _parse_tune(job):
  text, source, number, title = job
  try:
    return melody_lib.parse_abc_tune(text, source, number, title)
  except melody_lib.MelodyError as error:
    return error


def read_abc_corpus(paths, collection, counts, processes=None):
  """Every tune of many ABC files, parsed on all cores; failures are counted, not raised.

  Tune ids become '<collection>/<file>#X:<n>', so they stay unique across collections.
  """
  jobs = []
  for path in paths:
    name = os.path.basename(path)
    for number, title, text in melody_lib.split_abc(melody_lib.read_text(path)):
      jobs.append((text, f'{collection}/{name}', number, title))
  processes = processes or os.cpu_count() or 1
  if processes > 1 and len(jobs) > 1:
    # 'spawn' because the parent has TensorFlow loaded, which does not survive fork.
    context = multiprocessing.get_context('spawn')
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
      results = list(pool.map(_parse_tune, jobs, chunksize=8))
  else:
    results = [_parse_tune(job) for job in jobs]
  return _keep(results, counts)


def _keep(results, counts):
  melodies = []
  for result in results:
    counts['tunes read'] += 1
    if isinstance(result, melody_lib.MelodyError):
      counts[f'dropped: {type(result).__name__}'] += 1
      continue
    melodies.append(result)
  return melodies


def records(melodies, genre, counts):
  """Token records for the TFDS builder, keyed by tune id; short tunes are counted out."""
  seen = set()
  for melody in melodies:
    if len(melody) < MIN_NOTES:
      counts[f'dropped: fewer than {MIN_NOTES} notes'] += 1
      continue
    if melody.tune_id in seen:
      counts['dropped: duplicate tune id'] += 1
      continue
    seen.add(melody.tune_id)
    encoding = vocabulary.encode(melody.pitches, melody.durations())
    counts['tunes kept'] += 1
    counts['notes'] += len(melody)
    counts['intervals folded'] += encoding.folded
    counts['durations snapped'] += encoding.snapped
    counts.update(melody.counts)
    counts.update({f'interval id {i}': 1 for i in set(encoding.intervals)})
    counts.update({f'duration id {d}': 1 for d in set(encoding.durations)})
    yield melody.tune_id, {
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
    }


def statistics(counts):
  """The build statistics as an ordered dict of plain numbers, vocabulary coverage last."""
  used_intervals = sum(1 for key in counts if key.startswith('interval id '))
  used_durations = sum(1 for key in counts if key.startswith('duration id '))
  table = {key: counts[key] for key in sorted(counts) if not key.startswith(('interval id',
                                                                              'duration id'))}
  table['interval vocabulary used'] = (
      f'{used_intervals}/{vocabulary.NUM_INTERVALS - vocabulary.NUM_SPECIAL}')
  table['duration vocabulary used'] = (
      f'{used_durations}/{vocabulary.NUM_DURATIONS - vocabulary.NUM_SPECIAL}')
  return table


def format_table(table):
  """The statistics as an aligned two-column text table."""
  width = max(len(key) for key in table)
  return '\n'.join(f'{key:<{width}}  {value:>10}' for key, value in table.items())
