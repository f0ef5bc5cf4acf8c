"""How WJazzD's soloists swing their eighth notes: the beat-upbeat ratio, by tempo.

An eighth pair is a note on a beat (tatum 1 of a beat divided in two) followed by a note
on that beat's second eighth (tatum 2 of 2) and a note on the next beat. Its ratio is the
time from the first onset to the second over the time from the second to the third, from
the onsets in seconds: the metrical grid writes swung eighths as straight ones, the
seconds keep how they were played. The shipped jazz model plays its eighths at the median
measured here (its traits, stylexfer.tokens.traits).
"""

import collections
import csv
import gzip
import os

import numpy as np


# Where the corpora's folder keeps WJazzD's melody table, as the data set builder looks.
PLACES = ('jazz-wjazzd/wjazzd_melody.csv.gz', 'jazz-wjazzd/wjazzd_melody.csv',
          'wjazzd_melody.csv.gz', 'wjazzd_melody.csv')
TEMPO_BANDS = ((0, 120), (120, 160), (160, 200), (200, 250), (250, 400))
_WHOLE = ('melid', 'bar', 'beat', 'division', 'tatum')


def find_table(manual_dir):
  """The WJazzD melody table (CSV, or gzipped CSV) in the corpora's folder, or None."""
  for place in PLACES if manual_dir else ():
    path = os.path.join(manual_dir, place)
    if os.path.isfile(path):
      return path
  return None


def read_solos(path):
  """{melid: [row]} of a WJazzD melody CSV, each solo's rows in the file's (onset) order;
  a row holds `_WHOLE`'s columns as ints, onset and beatdur (seconds) as floats."""
  opener = gzip.open if path.endswith('.gz') else open
  solos = collections.defaultdict(list)
  with opener(path, 'rt', encoding='utf-8', newline='') as f:
    for row in csv.DictReader(f):
      note = {name: int(float(row[name])) for name in _WHOLE}
      note.update(onset=float(row['onset']), beatdur=float(row['beatdur']))
      solos[note['melid']].append(note)
  return solos


def _next_beat(a, c):
  """Whether note c starts the beat after note a's (in a's bar, or beat 1 of another)."""
  same_bar = c['bar'] == a['bar'] and c['beat'] == a['beat'] + 1
  return (same_bar or (c['bar'] != a['bar'] and c['beat'] == 1)) and c['tatum'] == 1


def eighth_pairs(rows):
  """(ratio, tempo in quarter notes a minute) of every eighth pair in one solo's rows."""
  found = []
  for a, b, c in zip(rows, rows[1:], rows[2:]):
    on_eighths = (a['bar'], a['beat']) == (b['bar'], b['beat']) and (
        a['division'] == b['division'] == 2 and a['tatum'] == 1 and b['tatum'] == 2)
    if not (on_eighths and _next_beat(a, c)):
      continue
    first, second = b['onset'] - a['onset'], c['onset'] - b['onset']
    if first > 0 and second > 0:
      found.append((first / second, 60.0 / a['beatdur']))
  return found


def measure(path, played=None, labels=None):
  """The beat-upbeat ratios of every eighth pair in a WJazzD melody table.

  {'table', 'solos', 'pairs', 'mean', 'median', 'geometric_mean', 'quartiles' [25th, 75th
  percentile], 'by_tempo' [{'low', 'high', 'pairs', 'median'}] for each of TEMPO_BANDS that
  holds pairs, 'played' (`played`: the ratio a model plays its eighths at)}; figures are
  None where no pair is found. With `labels` ({melid: (style, feel, tempo)}, as
  reading.wjazzd.solo_labels reads them) also 'by_style' and 'by_feel': [{'label',
  'solos', 'pairs', 'median', 'quartiles'}].
  """
  solos = read_solos(path)
  by_solo = {melid: eighth_pairs(rows) for melid, rows in solos.items()}
  found = np.array([p for pairs in by_solo.values() for p in pairs]).reshape(-1, 2)
  ratios, tempos = found[:, 0], found[:, 1]
  summary = {'table': path, 'solos': len(solos), 'pairs': len(ratios),
             'played': played}
  if labels is not None:
    for field, place in (('by_style', 0), ('by_feel', 1)):
      summary[field] = _by_label(by_solo, {str(melid): labelled[place]
                                           for melid, labelled in labels.items()})
  if not len(ratios):
    return dict(summary, mean=None, median=None, geometric_mean=None, quartiles=None,
                by_tempo=[])
  bands = [(low, high, ratios[(tempos >= low) & (tempos < high)]) for low, high in TEMPO_BANDS]
  return dict(summary, mean=float(np.mean(ratios)), median=float(np.median(ratios)),
              geometric_mean=float(np.exp(np.mean(np.log(ratios)))),
              quartiles=[float(np.percentile(ratios, q)) for q in (25, 75)],
              by_tempo=[{'low': low, 'high': high, 'pairs': len(band),
                         'median': float(np.median(band))}
                        for low, high, band in bands if len(band)])


def _by_label(by_solo, label_of):
  """[{'label', 'solos', 'pairs', 'median', 'quartiles'}] of the solos of each label."""
  solos, ratios = collections.Counter(), collections.defaultdict(list)
  for melid, pairs in by_solo.items():
    label = label_of.get(str(melid), '')
    if label and pairs:
      solos[label] += 1
      ratios[label] += [ratio for ratio, _ in pairs]
  return [{'label': label, 'solos': solos[label], 'pairs': len(found),
           'median': float(np.median(found)),
           'quartiles': [float(np.percentile(found, q)) for q in (25, 75)]}
          for label, found in sorted(ratios.items())]
