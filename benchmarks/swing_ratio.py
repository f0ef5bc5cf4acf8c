"""Measures how WJazzD's soloists swing eighth notes: the beat-upbeat ratio, by tempo.

  python benchmarks/swing_ratio.py --wjazzd=../shared/corpora/jazz-wjazzd/wjazzd_melody.csv.gz

An eighth pair is a note on a beat (tatum 1 of a beat divided in two) followed by a note
on that beat's second eighth (tatum 2 of 2) and a note on the next beat. Its ratio is the
time from the first onset to the second over the time from the second to the third, from
the onsets in seconds (the metrical grid notates swung eighths as straight). Prints the
median ratio over all pairs and per tempo band (quarter notes a minute, from beatdur).
"""

import collections
import csv
import gzip

from absl import app
from absl import flags
import numpy as np

flags.DEFINE_string('wjazzd', None, 'WJazzD melody CSV (.csv or .csv.gz).')


def pairs(rows):
  """(ratio, tempo) of every eighth pair in one solo's rows, ordered by onset."""
  found = []
  for a, b, c in zip(rows, rows[1:], rows[2:]):
    same_beat = a['bar'] == b['bar'] and a['beat'] == b['beat']
    if not (same_beat and a['division'] == b['division'] == '2' and a['tatum'] == '1'
            and b['tatum'] == '2'):
      continue
    next_beat = ((c['bar'] == a['bar'] and int(c['beat']) == int(a['beat']) + 1) or
                 (c['bar'] != a['bar'] and c['beat'] == '1')) and c['tatum'] == '1'
    if not next_beat:
      continue
    first = float(b['onset']) - float(a['onset'])
    second = float(c['onset']) - float(b['onset'])
    if first > 0 and second > 0:
      found.append((first / second, 60.0 / float(a['beatdur'])))
  return found


def main(argv):
  del argv
  opener = gzip.open if flags.FLAGS.wjazzd.endswith('.gz') else open
  solos = collections.defaultdict(list)
  with opener(flags.FLAGS.wjazzd, 'rt', encoding='utf-8', newline='') as f:
    for row in csv.DictReader(f):
      solos[row['melid']].append(row)
  found = [p for rows in solos.values() for p in pairs(rows)]
  ratios = np.array([r for r, _ in found])
  tempos = np.array([t for _, t in found])
  print(f'{len(ratios)} eighth pairs in {len(solos)} solos: mean ratio {np.mean(ratios):.2f}, median ratio '
        f'{np.median(ratios):.2f}, geometric mean {np.exp(np.mean(np.log(ratios))):.2f}, '
        f'quartiles {np.percentile(ratios, 25):.2f}..{np.percentile(ratios, 75):.2f}')
  print('| tempo (quarters/min) | pairs | median ratio |')
  print('| --- | ---: | ---: |')
  for low, high in ((0, 120), (120, 160), (160, 200), (200, 250), (250, 400)):
    band = ratios[(tempos >= low) & (tempos < high)]
    if len(band):
      print(f'| {low}-{high} | {len(band)} | {np.median(band):.2f} |')


if __name__ == '__main__':
  flags.mark_flag_as_required('wjazzd')
  app.run(main)
