"""Swing ratios from a WJazzD table whose soloists swing by numbers chosen here."""

import csv
import gzip
import os

import pytest

import fixtures
from stylexfer.evaluation import swing
from stylexfer.reading import wjazzd


def _solo(melid, tempo, ratio, bars, first_bar=0):
  """Rows of a 4/4 solo of swung eighths: every beat a long and a short note whose
  inter-onset times stand in `ratio`, at `tempo` quarter notes a minute, then one note on
  the beat after the last."""
  beat_seconds = 60 / tempo
  long = beat_seconds * ratio / (1 + ratio)
  rows = []

  def note(bar, beat, division, tatum, seconds):
    rows.append({'melid': melid, 'solo': f'Solo_{melid}', 'bar': bar, 'beat': beat,
                 'beatdur': beat_seconds, 'denom': 4, 'division': division,
                 'duration': beat_seconds / 4, 'num': 4, 'onset': seconds, 'period': 4,
                 'pitch': 60.0, 'subtatum': 0, 'tatum': tatum, 'phrase_id': 1})

  for k in range(4 * bars):
    bar, beat, start = first_bar + k // 4, k % 4 + 1, 3.0 + k * beat_seconds
    note(bar, beat, 2, 1, start)
    note(bar, beat, 2, 2, start + long)
  note(first_bar + bars, 1, 1, 1, 3.0 + 4 * bars * beat_seconds)
  return rows


def _write(path, rows):
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'wt', newline='') as f:
    writer = csv.DictWriter(f, fixtures.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
  return path


def test_every_eighth_pair_gives_its_ratio_in_its_tempo_band(tmp_path):
  # 2:1 at 100 quarters a minute (8 pairs over two bars, two of them across a bar
  # line), 1.5:1 at 180 (4 pairs), straight at 300 (4 pairs) in a lead-in bar below 0.
  rows = _solo(1, 100, 2.0, 2) + _solo(2, 180, 1.5, 1) + _solo(3, 300, 1.0, 1, first_bar=-1)
  table = _write(str(tmp_path / "wjazzd_melody.csv.gz"), rows)
  found = swing.measure(table)
  assert (found['solos'], found['pairs']) == (3, 16)
  assert found['median'] == pytest.approx(1.75)
  assert found['mean'] == pytest.approx((8 * 2 + 4 * 1.5 + 4 * 1) / 16)
  assert found['geometric_mean'] == pytest.approx(2 ** 0.5 * 1.5 ** 0.25)
  assert found['quartiles'] == pytest.approx([1.375, 2.0])
  assert [(b['low'], b['high'], b['pairs'], pytest.approx(b['median']))
          for b in found['by_tempo']] == [(0, 120, 8, 2.0), (160, 200, 4, 1.5),
                                          (250, 400, 4, 1.0)]
  assert found['played'] is None
  assert swing.measure(table, 1.11)['played'] == 1.11


def test_only_eighths_followed_by_the_next_beat_are_pairs(tmp_path):
  rows = _solo(1, 120, 2.0, 1)
  del rows[-1]              # beat 4's eighths are followed by nothing
  rows[5].update(division=3)  # beat 3's second note is a triplet's
  found = swing.measure(_write(str(tmp_path / 'wjazzd_melody.csv'), rows))
  assert found['pairs'] == 2 and found['median'] == pytest.approx(2.0)
  # The fixture's solos are played on their grid: its one eighth pair is straight.
  straight = swing.measure(fixtures.write_wjazzd_csv(str(tmp_path / 'straight.csv')))
  assert (straight['solos'], straight['pairs'], straight['median']) == (3, 1, 1.0)


def test_a_table_without_eighth_pairs_has_no_ratios(tmp_path):
  rows = [dict(row, division=1, tatum=1) for row in _solo(1, 120, 2.0, 1)[::2]]
  found = swing.measure(_write(str(tmp_path / 'wjazzd_melody.csv'), rows))
  assert found['pairs'] == 0 and found['median'] is None and found['by_tempo'] == []


def test_the_table_is_found_where_the_data_set_builder_looks(tmp_path):
  assert swing.find_table(str(tmp_path)) is None and swing.find_table(None) is None
  plain = _write(str(tmp_path / 'wjazzd_melody.csv'), [])
  assert swing.find_table(str(tmp_path)) == plain
  os.makedirs(tmp_path / 'jazz-wjazzd')
  gzipped = _write(str(tmp_path / 'jazz-wjazzd' / 'wjazzd_melody.csv.gz'), [])
  assert swing.find_table(str(tmp_path)) == gzipped


def test_ratios_by_style_and_feel_come_from_the_solos_metadata(tmp_path):
  rows = _solo(1, 100, 2.0, 2) + _solo(2, 180, 1.5, 1) + _solo(3, 300, 1.0, 1)
  table = _write(str(tmp_path / 'wjazzd_melody.csv'), rows)
  with open(tmp_path / 'wjazzd_meta.csv', 'w', newline='') as f:
    writer = csv.DictWriter(f, ['melid', 'style', 'rhythmfeel', 'avgtempo'])
    writer.writeheader()
    writer.writerows([{'melid': 1, 'style': 'BEBOP', 'rhythmfeel': 'SWING', 'avgtempo': 100},
                      {'melid': 2, 'style': 'BEBOP', 'rhythmfeel': 'SWING', 'avgtempo': 180},
                      {'melid': 3, 'style': 'FUSION', 'rhythmfeel': 'FUNK', 'avgtempo': 300}])
  found = swing.measure(table, labels=wjazzd.solo_labels(table))
  assert [(f['label'], f['solos'], f['pairs'], pytest.approx(f['median']))
          for f in found['by_feel']] == [('funk', 1, 4, 1.0), ('swing', 2, 12, 2.0)]
  assert [f['label'] for f in found['by_style']] == ['bebop', 'fusion']
  assert 'by_feel' not in swing.measure(table)
