import dataclasses
import fractions
import os
from xml.etree import ElementTree

from music21 import converter
from music21 import corpus
import pytest

from stylexfer.reading import abc_reader
from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.reading import readers
from stylexfer.reading import score_reader
from stylexfer.writers import musicxml_writer
from stylexfer.writers import notation
import fixtures


@pytest.fixture(scope='module')
def abc_path(tmp_path_factory):
  return fixtures.write_abc(str(tmp_path_factory.mktemp('abc')))


def test_split_abc_keeps_the_header_and_numbers_the_tunes(abc_path):
  tunes = abc_reader.split_abc(open(abc_path).read())
  assert [(number, title) for number, title, _ in tunes] == [
      ('1', 'Pickup Jig'), ('2', 'Double Stops'), ('3', 'Only Rests'), ('4', 'Too Short')]
  assert all(text.startswith('%abc-2.1') for _, _, text in tunes)


def test_abc_tune_reads_pitches_rhythm_bars_and_sections(abc_path):
  text = abc_reader.split_abc(open(abc_path).read())[0][2]
  jig = abc_reader.parse_abc_tune(text, abc_path, '1', 'Pickup Jig')
  assert jig.pitches == fixtures.JIG_PITCHES
  assert jig.durations() == [fractions.Fraction(d) for d in fixtures.JIG_DURATIONS]
  assert jig.time_signature == '6/8'
  assert (jig.bars[0], jig.beats[0]) == (0, fractions.Fraction(5, 2))  # the pickup
  assert (jig.bars[1], jig.beats[1]) == (1, 0)
  assert jig.phrases[0] == jig.phrases[16] == 0           # first strain
  assert jig.phrases[17] == jig.phrases[-1] == 1          # after the repeat sign
  assert not jig.counts


def test_abc_chords_keep_the_top_note_and_are_counted(abc_path):
  text = abc_reader.split_abc(open(abc_path).read())[1][2]
  tune = abc_reader.parse_abc_tune(text, abc_path, '2', 'Double Stops')
  assert tune.pitches == fixtures.DOUBLE_STOP_PITCHES
  assert tune.durations() == [fractions.Fraction(d).limit_denominator(3)
                              for d in fixtures.DOUBLE_STOP_DURATIONS]
  assert tune.counts[melody_lib.CHORD_NOTES] == 3
  assert tune.counts[melody_lib.POLYPHONIC] == 1


def test_abc_tune_without_notes_names_the_file_and_tune(abc_path):
  with pytest.raises(melody_lib.NoNotesError, match=r"tunes.abc: tune X:3 'Only Rests' has no"):
    abc_reader.read_abc(abc_path)


@pytest.mark.parametrize('suffix', ['.mid', '.musicxml'])
def test_score_files_read_back_the_top_line(tmp_path, suffix):
  path = fixtures.write_score(str(tmp_path / f'tune{suffix}'))
  melody, = readers.read_melodies(path)
  assert melody.pitches == fixtures.SCORE_PITCHES
  assert melody.durations() == [fractions.Fraction(d) for d in fixtures.SCORE_DURATIONS]
  assert melody.time_signature == '3/4'
  assert melody.counts[melody_lib.CHORD_NOTES] == 1
  # The half note on the last beat of bar 2 is tied over the bar line: one note.
  assert (melody.bars[6], melody.beats[6]) == (2, 2)
  assert (melody.bars[7], melody.beats[7]) == (3, 1)


def test_missing_empty_and_corrupt_files_are_named(tmp_path):
  with pytest.raises(melody_lib.UnreadableFileError, match='nowhere.mid: no such file'):
    readers.read_melodies(str(tmp_path / 'nowhere.mid'))
  empty = tmp_path / 'empty.mid'
  empty.write_bytes(b'')
  with pytest.raises(melody_lib.UnreadableFileError, match='empty.mid: the file is empty'):
    readers.read_melodies(str(empty))
  corrupt = tmp_path / 'corrupt.mid'
  corrupt.write_bytes(b'MThd\x00\x00\x00\x06garbage' + os.urandom(64))
  with pytest.raises(melody_lib.UnreadableFileError, match='corrupt.mid: cannot be parsed'):
    readers.read_melodies(str(corrupt))
  with pytest.raises(melody_lib.UnreadableFileError, match="unknown melody format '.txt'"):
    readers.read_melodies(str(tmp_path / 'notes.txt'))
  with pytest.raises(melody_lib.UnreadableFileError, match='missing.abc: cannot be read'):
    readers.read_melodies(str(tmp_path / 'missing.abc'))


def test_bar_lengths_and_the_form_are_read_from_the_bar_lines():
  text = ('X:1\nT:Form\nM:4/4\nL:1/8\nK:G\n'
          '|:GABc d2B2|[1 A4 G4:|[2 A4 D4||\n[M:3/4] ABc def|g6|]\n')
  tune = abc_reader.parse_abc_tune(text, 'form.abc', '1', 'Form')
  by_bar = dict(zip(tune.bars, tune.bar_lengths))
  # music21 drops the [M:3/4] inside the tune; the bars' own lengths keep it.
  assert by_bar == {0: 4, 1: 4, 2: 4, 3: 3, 4: 3}
  assert tune.bar_marks == {
      0: {'left': 'repeat'}, 1: {'right': 'repeat', 'ending': '1'},
      2: {'right': 'double', 'ending': '2'}, 3: {'left': 'double'}, 4: {'right': 'final'}}


def test_a_pickup_bar_counts_whole(abc_path):
  number, title, text = abc_reader.split_abc(open(abc_path).read())[0]
  jig = abc_reader.parse_abc_tune(text, abc_path, number, title)
  assert jig.bar_lengths[0] == jig.bar_lengths[1] == fractions.Fraction(3)


# Tunes that exercise the ABC translator: ties between equal and different notes, broken
# rhythm, tuplets, grace notes, chords, endings, a meter change, two voices, a bar longer
# than the meter (music21 splits it) and an inline key change.
_TRANSLATOR_TUNES = [
    'X:1\nT:Ties\nM:4/4\nL:1/8\nK:D\nA2-A2 B2-c2|d4- d2 (3efg|a>g f<e {g}f2 e2|[df]4 z4|]\n',
    'X:2\nT:Endings\nM:3/4\nL:1/8\nK:Gm\nD|:G2 B2 d2|[1 c4 B2:|[2 c4 A2||[M:2/4] B2 c2|d4|]\n',
    'X:3\nT:Voices\nM:2/4\nL:1/16\nK:F\nV:1\ncdef gabc|c8|]\nV:2\nC4 F4|C8|]\n',
    'X:4\nT:Long Bar\nM:2/4\nL:1/8\nK:C\nC D E F G A B c|[K:A] c2 B2|A4|]\n',
]


@pytest.mark.parametrize('text', _TRANSLATOR_TUNES + [
    text for _, _, text in abc_reader.split_abc(fixtures.ABC_TUNES)[:2]])
def test_abc_reader_reads_what_music21_converter_reads(text):
  """The unbeamed ABC reader gives exactly the melody of music21's full converter, on the
  text as music21 reads it right (lead_sheet.readable_abc), and adds what the converter
  drops: the header fields and clef of the text, the meters written inline."""
  fast = abc_reader.parse_abc_tune(text, 'tune.abc', '1', 'T')
  score = converter.parse(lead_sheet.readable_abc(text), format='abc')
  full = score_reader.melody_from_score(score, 'tune.abc', tune_id='tune.abc#X:1', title='T')
  fast.warnings = full.warnings = []
  assert fast == dataclasses.replace(full, header=lead_sheet.abc_header(text),
                                     clef=lead_sheet.abc_clef(text), meters=fast.meters)
  assert fast.pitches and fast.bar_lengths
  assert fast.meters == ({fast.bars[-3]: '2/4'} if 'T:Endings' in text else {})


def test_abc_reader_reads_oneills_as_music21_converter_does():
  path = str(sorted(corpus.getWork('oneills1850'))[0])
  tunes = abc_reader.split_abc(melody_files.read_text(path))
  for number, title, text in tunes[:6]:
    fast = abc_reader.parse_abc_tune(text, path, number, title)
    full = score_reader.melody_from_score(converter.parse(text, format='abc'), path,
                                          tune_id=fast.tune_id, title=title)
    assert (fast.pitches, fast.onsets, fast.lengths, fast.bars, fast.beats, fast.phrases,
            fast.bar_lengths, fast.bar_marks, fast.time_signature, fast.counts) == (
                full.pitches, full.onsets, full.lengths, full.bars, full.beats, full.phrases,
                full.bar_lengths, full.bar_marks, full.time_signature, full.counts)


def test_reading_a_score_in_place_leaves_the_same_melody():
  score = fixtures.melody_stream(fixtures.SCORE_PITCHES, fixtures.SCORE_DURATIONS, '3/4')
  copied = score_reader.melody_from_score(score, 'a')
  assert score_reader.melody_from_score(score, 'a', in_place=True) == copied


# One melody type: a melody made from durations, and the same tones with a new rhythm.

def test_a_melody_from_durations_lies_in_its_bars():
  made = melody_lib.Melody.from_durations(
      [67, 69, 71, 72, 74], [1, 0.5, 1.5, 3, 2], '6/8', pickup=2, title='Made',
      sounding=[1, 0.5, 1, 3, 1])
  # 6/8 bars hold 3 quarters; the pickup is 2 into the first bar.
  assert made.bars == [0, 1, 1, 1, 2]
  assert made.beats == [2, 0, fractions.Fraction(1, 2), 2, 2]
  assert made.bar_lengths == [3, 3, 3, 3, 3]
  assert made.durations() == [1, fractions.Fraction(1, 2), fractions.Fraction(3, 2), 3, 2]
  assert made.lengths[-1] == 1  # it sounds 1 of its 2: the melody ends on a rest
  assert made.form()[2] == 2.0 and list(made.form()[0]) == [0, 1, 1, 1, 2]


def test_with_rhythm_keeps_tones_bars_form_and_the_last_rest():
  text = 'X:1\nT:Form\nM:4/4\nL:1/4\nK:G\n|:GABc|d2B2:|\n'
  melody = abc_reader.parse_abc_tune(text, 'form.abc', '1', 'Form')
  new = melody.with_rhythm([fractions.Fraction(1, 2)] * 2 + [1, 2] + [2, 1, 1],
                           sounding=[fractions.Fraction(1, 2)] * 2 + [1, 2, 2, 1, 1],
                           title='Form (jazz)')
  assert new.pitches == melody.pitches and new.title == 'Form (jazz)'
  assert new.bars == [melody.bars[0]] * 4 + [melody.bars[0] + 1] * 3
  assert new.bar_marks == melody.bar_marks
  # The tune ends where it ended: a last note drawn short lasts, and sounds, to the end.
  longer = melody.with_rhythm([1] * 5 + [2], sounding=[1] * 6)
  assert longer.durations()[-1] == 3 and longer.lengths[-1] == 3
  # ... and where the tune ended on a rest, the rest stays.
  rest = abc_reader.parse_abc_tune(text.replace('B2:|', 'B z:|'), 'form.abc', '1', 'Form')
  assert rest.durations()[-1] == 2 and rest.lengths[-1] == 1
  shorter = rest.with_rhythm([1] * 5 + [fractions.Fraction(1, 2)])
  assert shorter.durations()[-1] == 3 and shorter.lengths[-1] == 2


def _midi_file(path, notes, ticks=480):
  """A one-track MIDI file of (onset, length, pitch) in quarter notes, as a keyboard
  records them (lengths may overlap the next note)."""
  from music21 import midi  # pylint: disable=g-import-not-at-top
  track = midi.MidiTrack(1)
  events = sorted([(int(on * ticks), 1, p, 90) for on, _, p in notes] +
                  [(int((on + length) * ticks), 0, p, 0) for on, length, p in notes])
  now = 0
  for tick, _, pitch, velocity in events:
    track.events.append(midi.DeltaTime(track, time=tick - now))
    event = midi.MidiEvent(track, type=midi.ChannelVoiceMessages.NOTE_ON, channel=1)
    event.pitch, event.velocity = pitch, velocity
    track.events.append(event)
    now = tick
  end = midi.MidiEvent(track, type=midi.MetaEvents.END_OF_TRACK)
  end.data = b''
  track.events += [midi.DeltaTime(track, time=0), end]
  track.updateEvents()
  song = midi.MidiFile()
  song.ticksPerQuarterNote = ticks
  song.tracks.append(track)
  with open(path, 'wb') as f:
    f.write(song.writestr())
  return str(path)


def test_midi_as_keyboards_record_it_is_one_line_on_the_written_grid(tmp_path):
  # Legato: each note held a tenth of a quarter into the next; then 16th-note triplets.
  legato = [(i / 2, 0.6, p) for i, p in enumerate([60, 62, 64, 65, 67])]
  triplets = [(2.5 + i / 6, 1 / 6, p) for i, p in enumerate([69, 71, 72])]
  melody = readers.read_melody(_midi_file(tmp_path / 'keys.mid',
                                          legato + triplets + [(3, 1, 74)]))
  assert melody.pitches == [60, 62, 64, 65, 67, 69, 71, 72, 74]
  assert melody.durations()[:8] == [fractions.Fraction(1, 2)] * 5 + [
      fractions.Fraction(1, 6)] * 3
  assert not melody.counts.get(melody_lib.POLYPHONIC)
  assert melody.key is not None and melody.spellings == []


@pytest.mark.parametrize('double', ['::', ':|:'])
def test_a_double_repeat_keeps_the_note_before_it_and_both_repeats(tmp_path, double):
  """As the Nottingham tunes write it: "G"G:: in the middle of a line."""
  path = tmp_path / 'double.abc'
  path.write_text('X:1\nT:Double\nM:4/4\nL:1/4\nK:G\n|:g/2e/2|dB AG|"D7"AG "G"G' + double +
                  '\ng/2a/2|b2 ag|"C"ag "G"g:|\n')
  melody = readers.read_melody(str(path))
  assert melody.pitches == [79, 76, 74, 71, 69, 67, 69, 67, 67, 79, 81, 83, 81, 79, 81, 79, 79]
  marks = melody.bar_marks
  assert marks[2]['right'] == 'repeat' and marks[3]['left'] == 'repeat'


def test_a_byte_order_mark_is_not_part_of_the_tune(tmp_path):
  path = tmp_path / 'bom.abc'
  path.write_bytes('\ufeffX:1\nT:Marked\nM:4/4\nL:1/8\nK:G\nGABc d2e2|]\n'.encode('utf-8'))
  (melody,) = readers.read_melodies(str(path))
  assert melody.title == 'Marked' and len(melody) == 6


def test_control_characters_never_reach_a_title_or_the_written_files(tmp_path):
  # A NUL and an ESC in a title made ill-formed MusicXML and went raw to a terminal.
  path = tmp_path / 'control.abc'
  path.write_text('X:1\nT:Bad\x00 \x1b[31mTitle\nC:Who\x07\nM:4/4\nL:1/8\nK:G\n'
                  '"G\x01"GABc d2e2|]\n', encoding='utf-8')
  (melody,) = readers.read_melodies(str(path))
  assert melody.title == 'Bad [31mTitle'
  assert all(melody_lib.printable(text) == text for _, text in melody.header + melody.chords)
  written = tmp_path / 'control.musicxml'
  musicxml_writer.write_musicxml(notation.layout(melody), str(written))
  ElementTree.parse(written)  # well-formed


def test_a_tune_asked_for_by_a_digit_that_is_no_number_is_looked_up_by_title(abc_path):
  tunes = abc_reader.split_abc(open(abc_path, encoding='utf-8').read())
  with pytest.raises(melody_lib.NoSuchTuneError, match='²'):
    readers.choose_tune(tunes, '²', abc_path)


def _midi_with_gap(path, gap_ticks):
  """A one-track MIDI file: a note, then `gap_ticks` of nothing, then another note."""
  def variable(value):
    out = [value & 0x7f]
    value >>= 7
    while value:
      out.insert(0, 0x80 | (value & 0x7f))
      value >>= 7
    return bytes(out)
  events = (b'\x00\x90\x3c\x40' + variable(480) + b'\x80\x3c\x00' + variable(gap_ticks)
            + b'\x90\x3e\x40' + variable(480) + b'\x80\x3e\x00' + b'\x00\xff\x2f\x00')
  header = b'MThd' + (6).to_bytes(4, 'big') + (0).to_bytes(2, 'big') + (1).to_bytes(2, 'big')
  header += (480).to_bytes(2, 'big')
  path.write_bytes(header + b'MTrk' + len(events).to_bytes(4, 'big') + events)
  return str(path)


@pytest.mark.parametrize('name, text', [
    ('long.abc', 'X:1\nT:Held\nM:4/4\nL:1/8\nK:C\nC99999999 D2|]\n'),
    ('long.musicxml', None),
])
def test_lengths_no_melody_has_are_refused_before_parsing(tmp_path, name, text):
  # These files are tiny; music21 would spend minutes or gigabytes on them.
  if text is None:
    text = ('<?xml version="1.0"?><score-partwise><part-list><score-part id="P1">'
            '<part-name>x</part-name></score-part></part-list><part id="P1"><measure '
            'number="1"><attributes><divisions>1</divisions><time><beats>4</beats>'
            '<beat-type>4</beat-type></time></attributes><note><pitch><step>C</step>'
            '<octave>4</octave></pitch><duration>1000000000000</duration></note></measure>'
            '</part></score-partwise>')
  path = tmp_path / name
  path.write_text(text, encoding='utf-8')
  with pytest.raises(melody_lib.TooLongError, match=str(path.name)):
    readers.read_melodies(str(path))


def test_a_compressed_score_is_scanned_for_lengths_before_parsing(tmp_path, monkeypatch):
  parsed = []
  monkeypatch.setattr(score_reader.converter, 'parse', lambda *a, **k: parsed.append(a))
  note = '<note><pitch><step>C</step><octave>4</octave></pitch><duration>{}</duration></note>'
  score = ('<?xml version="1.0"?><score-partwise><part-list><score-part id="P1"><part-name>'
           'x</part-name></score-part></part-list><part id="P1"><measure number="1">'
           '<attributes><divisions>1</divisions><time><beats>{}</beats><beat-type>8'
           '</beat-type></time></attributes>{}</measure></part></score-partwise>')
  container = ('<container><rootfiles><rootfile full-path="{}"/></rootfiles></container>')
  for name, beats, duration, error, match in (
      ('long.mxl', '4', 10**12, melody_lib.TooLongError, 'long.mxl: a duration of'),
      ('wide.mxl', '30+30+30', 1, melody_lib.TooLongError, 'wide.mxl: .* of 90 beats')):
    # The score the container names is scanned, not the first file of the archive.
    path = fixtures.write_zip(tmp_path / name, {
        'META-INF/container.xml': container.format('s/tune.xml'),
        'a.xml': '<duration>1</duration>',
        's/tune.xml': score.format(beats, note.format(duration))})
    with pytest.raises(error, match=match):
      score_reader.read_score(path)
  # Without a container, the first MusicXML file of the archive is the score.
  path = fixtures.write_zip(tmp_path / 'bare.mxl',
                            {'tune.musicxml': score.format(4, note.format(10**12))})
  with pytest.raises(melody_lib.TooLongError, match='bare.mxl: a duration of'):
    score_reader.read_score(path)
  path = fixtures.write_zip(tmp_path / 'none.mxl', {
      'META-INF/container.xml': container.format('gone.xml'), 'notes.txt': 'no score'})
  with pytest.raises(melody_lib.UnreadableFileError, match='none.mxl: .*holds no score'):
    score_reader.read_score(path)
  assert not parsed  # each refused before music21 unpacked it


def test_an_additive_meter_is_read_with_its_groups():
  text = ('X:1\nT:Seven\nM:2+3+2/8\nL:1/8\nK:D\nAB cde fg|ab c\'ba gf|'
          '[M:(3+2+2)/8] e2d cB A2|[M:3/4] A2 B2 A2|[M:2+3+2/8] G2 FED C2|]\n')
  melody = abc_reader.parse_abc_tune(text, 'seven.abc', '1', 'Seven')
  assert melody.time_signature == '2+3+2/8'  # music21 alone reads 232/8
  assert melody.meters == {2: '3+2+2/8', 3: '3/4', 4: '2+3+2/8'}
  assert sorted(set(melody.bar_lengths)) == [3, fractions.Fraction(7, 2)]
  assert melody.beats[:8] == [fractions.Fraction(n, 2) for n in range(7)] + [0]
  # Two groupings of one sum, and a sum also stated plainly, are told apart by place.
  both = abc_reader.parse_abc_tune(text.replace('[M:3/4] A2 B2 A2', '[M:7/8] A2 B3 A2'),
                                   'seven.abc', '1', 'Seven')
  assert (both.time_signature, both.meters) == (
      '2+3+2/8', {2: '3+2+2/8', 3: '7/8', 4: '2+3+2/8'})
  assert abc_reader.summed_meters('M:(2+2+3)/8\nK:C\nC|[M:3/4]D|]') == (
      'M:7/8\nK:C\nC|[M:3/4]D|]', ['2+2+3/8', '3/4'])


def test_a_midi_file_with_a_gap_of_days_is_refused_before_parsing(tmp_path):
  path = _midi_with_gap(tmp_path / 'gap.mid', 2 ** 27)
  with pytest.raises(melody_lib.TooLongError, match='gap.mid'):
    readers.read_melodies(path)
  # A gap of a bar reads as a rest.
  (melody,) = readers.read_melodies(_midi_with_gap(tmp_path / 'bar.mid', 4 * 480))
  assert melody.pitches == [60, 62]


def test_musicxml_without_positive_divisions_is_named(tmp_path):
  text = ('<?xml version="1.0"?><score-partwise><part-list><score-part id="P1">'
          '<part-name>x</part-name></score-part></part-list><part id="P1"><measure '
          'number="1"><attributes><divisions>-4</divisions></attributes><note><pitch>'
          '<step>C</step><octave>4</octave></pitch><duration>4</duration></note></measure>'
          '</part></score-partwise>')
  path = tmp_path / 'negative.musicxml'
  path.write_text(text, encoding='utf-8')
  with pytest.raises(melody_lib.UnreadableFileError, match='negative.musicxml.*divisions'):
    readers.read_melodies(str(path))


def test_a_duration_is_read_in_the_divisions_stated_before_it(tmp_path):
  # Divisions of 1, then of 480: a whole note of 1920 is 4 quarters, not 1920.
  note = '<note><pitch><step>C</step><octave>4</octave></pitch><duration>{}</duration></note>'
  text = ('<?xml version="1.0"?><score-partwise><part-list><score-part id="P1">'
          '<part-name>x</part-name></score-part></part-list><part id="P1"><measure '
          'number="1"><attributes><divisions>1</divisions><time><beats>4</beats>'
          '<beat-type>4</beat-type></time></attributes>' + note.format(4) + '</measure>'
          '<measure number="2"><attributes><divisions>480</divisions></attributes>'
          + note.format(1920) + '</measure></part></score-partwise>')
  path = tmp_path / 'divisions.musicxml'
  path.write_text(text, encoding='utf-8')
  (melody,) = readers.read_melodies(str(path))
  assert [float(d) for d in melody.durations()] == [4.0, 4.0]
