import fractions
import os

import pytest

from stylexfer.reading import melody as melody_lib
import fixtures


@pytest.fixture(scope='module')
def abc_path(tmp_path_factory):
  return fixtures.write_abc(str(tmp_path_factory.mktemp('abc')))


def test_split_abc_keeps_the_header_and_numbers_the_tunes(abc_path):
  tunes = melody_lib.split_abc(open(abc_path).read())
  assert [(number, title) for number, title, _ in tunes] == [
      ('1', 'Pickup Jig'), ('2', 'Double Stops'), ('3', 'Only Rests'), ('4', 'Too Short')]
  assert all(text.startswith('%abc-2.1') for _, _, text in tunes)


def test_abc_tune_reads_pitches_rhythm_bars_and_sections(abc_path):
  text = melody_lib.split_abc(open(abc_path).read())[0][2]
  jig = melody_lib.parse_abc_tune(text, abc_path, '1', 'Pickup Jig')
  assert jig.pitches == fixtures.JIG_PITCHES
  assert jig.durations() == [fractions.Fraction(d) for d in fixtures.JIG_DURATIONS]
  assert jig.time_signature == '6/8'
  assert (jig.bars[0], jig.beats[0]) == (0, fractions.Fraction(5, 2))  # the pickup
  assert (jig.bars[1], jig.beats[1]) == (1, 0)
  assert jig.phrases[0] == jig.phrases[16] == 0           # first strain
  assert jig.phrases[17] == jig.phrases[-1] == 1          # after the repeat sign
  assert not jig.counts


def test_abc_chords_keep_the_top_note_and_are_counted(abc_path):
  text = melody_lib.split_abc(open(abc_path).read())[1][2]
  tune = melody_lib.parse_abc_tune(text, abc_path, '2', 'Double Stops')
  assert tune.pitches == fixtures.DOUBLE_STOP_PITCHES
  assert tune.durations() == [fractions.Fraction(d).limit_denominator(3)
                              for d in fixtures.DOUBLE_STOP_DURATIONS]
  assert tune.counts['chord_notes_dropped'] == 3
  assert tune.counts['polyphonic_tunes'] == 1


def test_abc_tune_without_notes_names_the_file_and_tune(abc_path):
  with pytest.raises(melody_lib.NoNotesError, match=r"tunes.abc: tune X:3 'Only Rests' has no"):
    melody_lib.read_abc(abc_path)


@pytest.mark.parametrize('suffix', ['.mid', '.musicxml'])
def test_score_files_read_back_the_top_line(tmp_path, suffix):
  path = fixtures.write_score(str(tmp_path / f'tune{suffix}'))
  melody, = melody_lib.read_melodies(path)
  assert melody.pitches == fixtures.SCORE_PITCHES
  assert melody.durations() == [fractions.Fraction(d) for d in fixtures.SCORE_DURATIONS]
  assert melody.time_signature == '3/4'
  assert melody.counts['chord_notes_dropped'] == 1
  # The half note on the last beat of bar 2 is tied over the bar line: one note.
  assert (melody.bars[6], melody.beats[6]) == (2, 2)
  assert (melody.bars[7], melody.beats[7]) == (3, 1)


def test_missing_empty_and_corrupt_files_are_named(tmp_path):
  with pytest.raises(melody_lib.UnreadableFileError, match='nowhere.mid: no such file'):
    melody_lib.read_melodies(str(tmp_path / 'nowhere.mid'))
  empty = tmp_path / 'empty.mid'
  empty.write_bytes(b'')
  with pytest.raises(melody_lib.UnreadableFileError, match='empty.mid: the file is empty'):
    melody_lib.read_melodies(str(empty))
  corrupt = tmp_path / 'corrupt.mid'
  corrupt.write_bytes(b'MThd\x00\x00\x00\x06garbage' + os.urandom(64))
  with pytest.raises(melody_lib.UnreadableFileError, match='corrupt.mid: cannot be parsed'):
    melody_lib.read_melodies(str(corrupt))
  with pytest.raises(melody_lib.UnreadableFileError, match="unknown melody format '.txt'"):
    melody_lib.read_melodies(str(tmp_path / 'notes.txt'))
  with pytest.raises(melody_lib.UnreadableFileError, match='missing.abc: cannot be read'):
    melody_lib.read_melodies(str(tmp_path / 'missing.abc'))


def test_bar_lengths_and_the_form_are_read_from_the_bar_lines():
  text = ('X:1\nT:Form\nM:4/4\nL:1/8\nK:G\n'
          '|:GABc d2B2|[1 A4 G4:|[2 A4 D4||\n[M:3/4] ABc def|g6|]\n')
  tune = melody_lib.parse_abc_tune(text, 'form.abc', '1', 'Form')
  by_bar = dict(zip(tune.bars, tune.bar_lengths))
  # music21 drops the [M:3/4] inside the tune; the bars' own lengths keep it.
  assert by_bar == {0: 4, 1: 4, 2: 4, 3: 3, 4: 3}
  assert tune.bar_marks == {
      0: {'left': 'repeat'}, 1: {'right': 'repeat', 'ending': '1'},
      2: {'right': 'double', 'ending': '2'}, 3: {'left': 'double'}, 4: {'right': 'final'}}


def test_a_pickup_bar_counts_whole(abc_path):
  number, title, text = melody_lib.split_abc(open(abc_path).read())[0]
  jig = melody_lib.parse_abc_tune(text, abc_path, number, title)
  assert jig.bar_lengths[0] == jig.bar_lengths[1] == fractions.Fraction(3)
