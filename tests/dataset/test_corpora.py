"""Checks against the real corpora in ../shared/corpora; skipped where they are absent."""

import collections
import os

import pytest

from stylexfer.dataset import corpus
from stylexfer.tokens import vocabulary
from stylexfer.reading import wjazzd

CORPORA = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'corpora')
pytestmark = [pytest.mark.corpora,
              pytest.mark.skipif(not os.path.isdir(CORPORA), reason='../shared/corpora absent')]


def test_wjazzd_csv_reads_every_solo_and_note():
  melodies, dropped = wjazzd.read_wjazzd(
      os.path.join(CORPORA, 'jazz-wjazzd', 'wjazzd_melody.csv.gz'))
  assert len(melodies) == 456 and not dropped
  assert sum(len(m) for m in melodies) == 200_814
  assert max(len(m) for m in melodies) == 4_954
  # Every inter-onset interval is positive: the metrical grid is in order.
  assert all(d > 0 for m in melodies for d in m.durations())


def test_nottingham_playford_tunes_all_parse_with_their_parts():

  counts = collections.Counter()
  path = os.path.join(CORPORA, 'folk-nottingham', 'abc', 'playford.abc')
  melodies = corpus.read_abc_corpus([path], 'nottingham', counts, processes=1)
  assert len(melodies) == 15 and counts['tunes read'] == 15
  assert all(len(m) >= 16 for m in melodies)
  # Sections come from double bars and repeat signs; five tunes mark their parts only
  # with P: fields, which music21 drops (a known limit).
  assert sum(max(m.phrases) >= 1 for m in melodies) >= 10
  for m in melodies:
    encoding = vocabulary.encode(m.pitches, m.durations())
    assert encoding.snapped == 0                       # folk rhythms lie on the grid
