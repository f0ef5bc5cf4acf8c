import fractions

import pytest

from stylexfer.tokens import vocabulary as v


def test_vocabulary_sizes():
  assert v.NUM_INTERVALS == 3 + 49
  assert v.NUM_DURATIONS == 3 + 56
  assert (v.PAD, v.START, v.END) == (0, 1, 2)


@pytest.mark.parametrize('semitones, token', [(-24, 3), (-23, 4), (0, 27), (23, 50), (24, 51)])
def test_interval_ids_at_the_edges(semitones, token):
  assert v.interval_id(semitones) == token
  assert v.interval_value(token) == semitones


@pytest.mark.parametrize('semitones', [-25, 25, 0.5])
def test_interval_outside_the_range_is_an_error(semitones):
  with pytest.raises(v.TokenError, match='interval'):
    v.interval_id(semitones)


@pytest.mark.parametrize('token', [0, 1, 2, 52, -1])
def test_interval_value_of_a_non_interval_token_is_an_error(token):
  with pytest.raises(v.TokenError, match=f'interval token {token}'):
    v.interval_value(token)


@pytest.mark.parametrize('semitones, folded', [(25, 13), (36, 24), (37, 13), (-25, -13),
                                               (-41, -17), (24, 24), (-24, -24), (0, 0)])
def test_fold_interval_by_octaves(semitones, folded):
  assert v.fold_interval(semitones) == folded


@pytest.mark.parametrize('quarters, token', [
    (fractions.Fraction(1, 24), 3), (fractions.Fraction(1, 12), 4),
    (fractions.Fraction(1, 3), 10), (0.5, 14), (1, 26), (2, 38), (4, 50), (8, 58)])
def test_duration_ids_at_the_edges_and_triplets(quarters, token):
  assert v.duration_id(quarters) == token
  assert v.duration_value(token) == fractions.Fraction(quarters)


@pytest.mark.parametrize('token', [0, 1, 2, 59])
def test_duration_value_of_a_non_duration_token_is_an_error(token):
  with pytest.raises(v.TokenError, match=f'duration token {token}'):
    v.duration_value(token)


def test_off_grid_duration_is_an_error_until_snapped():
  with pytest.raises(v.TokenError, match='not on the duration grid'):
    v.duration_id(0.2)
  assert v.snap_duration(0.2) == fractions.Fraction(5, 24)     # quintuplet -> nearest
  assert v.snap_duration(100) == 8                               # clamped to the longest
  assert v.snap_duration(0.001) == fractions.Fraction(1, 24)     # clamped to the shortest
  assert v.snap_duration(4.1) == 4
  # Halfway between two grid values goes to the shorter one.
  assert v.snap_duration(0.0625) == fractions.Fraction(1, 24)
  assert v.snap_duration(0.5 + 1 / 48) == fractions.Fraction(1, 2)
  assert v.snap_duration(1 + 1 / 24) == 1
  with pytest.raises(v.TokenError, match='not positive'):
    v.snap_duration(0)


def test_encode_decode_round_trips_on_grid_melodies():
  pitches = [60, 62, 64, 65, 84, 60, 60]
  durations = [fractions.Fraction(1, 3)] * 3 + [0.5, 1.5, fractions.Fraction(2, 3), 8]
  encoding = v.encode(pitches, durations)
  assert (encoding.folded, encoding.snapped) == (0, 0)
  assert len(encoding.intervals) == 6 and len(encoding.durations) == 7
  decoded_pitches, decoded_durations = v.decode(
      encoding.first_pitch, encoding.intervals, encoding.durations)
  assert decoded_pitches == pitches
  assert decoded_durations == [fractions.Fraction(d) for d in durations]


def test_encode_counts_folded_intervals_and_snapped_durations():
  encoding = v.encode([60, 90, 40], [0.2, 9, 1])
  assert encoding.folded == 2                       # +30 -> +18, -50 -> -14
  assert encoding.snapped == 2
  pitches, durations = v.decode(encoding.first_pitch, encoding.intervals, encoding.durations)
  assert pitches == [60, 78, 64]
  assert durations == [fractions.Fraction(5, 24), 8, 1]


def test_tables_match_the_token_values():
  intervals, durations = v.interval_table(), v.duration_table()
  for token in range(v.NUM_SPECIAL, v.NUM_INTERVALS):
    assert intervals[token] == v.interval_value(token)
  for token in range(v.NUM_SPECIAL, v.NUM_DURATIONS):
    assert durations[token] == pytest.approx(float(v.duration_value(token)))
  assert intervals[:3].tolist() == [0, 0, 0] and durations[:3].tolist() == [0, 0, 0]


def test_decode_needs_one_more_duration_than_intervals():
  with pytest.raises(v.TokenError, match='need 3 durations'):
    v.decode(60, [27, 27], [26, 26])
