import fractions

import pytest

from stylexfer.reading import melody as melody_lib
from stylexfer.tokens import vocabulary
from stylexfer.reading import wjazzd
import fixtures


@pytest.fixture(params=['csv', 'csv.gz', 'sqlite'])
def wjazzd_file(request, tmp_path):
  if request.param == 'sqlite':
    return fixtures.write_wjazzd_sqlite(str(tmp_path / 'wjazzd.db'))
  return fixtures.write_wjazzd_csv(str(tmp_path / f'wjazzd_melody.{request.param}'))


def test_solos_take_their_rhythm_from_the_metrical_grid(wjazzd_file):
  melodies, errors = wjazzd.read_wjazzd(wjazzd_file)
  assert [m.tune_id for m in melodies] == ['melid:1', 'melid:2']
  assert [type(e) for e in errors] == [melody_lib.UnreadableFileError]
  assert 'solo melid 3 has a malformed row' in str(errors[0])
  solo = melodies[0]
  assert solo.pitches == fixtures.SOLO_PITCHES
  # Triplets stay exact, the 3/4 bar is 3 beats long and the silent bar 2 lengthens
  # the last note of bar 1; the final note keeps its sounding length (1/8 beat).
  expected = [fractions.Fraction(d).limit_denominator(12) for d in fixtures.SOLO_DURATIONS]
  assert solo.durations()[:-1] == expected[:-1]
  assert solo.durations()[-1] == fractions.Fraction(1, 8)
  assert solo.bars == [0, 0, 0, 0, 0, 0, 1, 1, 3, 3]
  assert solo.beats[3:6] == [3, fractions.Fraction(10, 3), fractions.Fraction(11, 3)]
  assert solo.phrases == [1, 1, 1, 1, 1, 2, 2, 2, 3, 3]


def test_solos_carry_their_style_feel_and_tempo(wjazzd_file):
  first, second = wjazzd.read_wjazzd(wjazzd_file)[0]
  assert (first.style, first.feel, first.tempo) == ('postbop', 'latin', 240.0)
  # A feel that changes within the solo is none; a missing tempo is unknown.
  assert (second.style, second.feel, second.tempo) == ('bebop', '', None)


def test_solos_without_their_metadata_are_still_read(tmp_path):
  path = fixtures.write_wjazzd_csv(str(tmp_path / 'wjazzd_melody.csv'), meta=False)
  melodies, _ = wjazzd.read_wjazzd(path)
  assert [(m.style, m.feel, m.tempo) for m in melodies] == [('', '', None)] * 2


def test_solo_tokens_fold_the_two_octave_leap(wjazzd_file):
  solo = wjazzd.read_wjazzd(wjazzd_file)[0][0]
  encoding = vocabulary.encode(solo.pitches, solo.durations())
  assert encoding.folded == 1                            # 79 -> 31 is -48 semitones
  assert vocabulary.interval_value(encoding.intervals[-1]) == -24
  assert encoding.snapped == 0


def test_a_table_without_the_melody_columns_is_named(tmp_path):
  path = tmp_path / 'other.csv'
  path.write_text('melid,pitch\n1,60\n')
  with pytest.raises(melody_lib.UnreadableFileError, match='other.csv: not a WJazzD melody '
                     'table, missing columns bar, beat'):
    wjazzd.read_wjazzd(str(path))


def test_corrupt_files_are_named(tmp_path):
  gz = tmp_path / 'broken.csv.gz'
  gz.write_bytes(b'\x1f\x8b\x08\x00 not really gzip')
  with pytest.raises(melody_lib.UnreadableFileError, match='broken.csv.gz: cannot be read'):
    wjazzd.read_wjazzd(str(gz))
  db = tmp_path / 'broken.db'
  db.write_bytes(b'not an sqlite database' * 100)
  with pytest.raises(melody_lib.UnreadableFileError, match='broken.db: cannot be read as a '
                     'WJazzD sqlite'):
    wjazzd.read_wjazzd(str(db))
  with pytest.raises(melody_lib.UnreadableFileError, match='absent.db: no such file'):
    wjazzd.read_wjazzd(str(tmp_path / 'absent.db'))
