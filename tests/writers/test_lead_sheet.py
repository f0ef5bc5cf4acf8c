"""The written lead sheet: what the input says is kept, and a copyist would not correct it."""

import fractions
import re
import xml.etree.ElementTree as ET

from music21 import converter, key as m21_key, meter, note, stream, tempo
import pytest

import fixtures
from stylexfer.reading import abc_reader
from stylexfer.reading import lead_sheet
from stylexfer.reading import readers
from stylexfer.writers import abc_writer
from stylexfer.writers import measures
from stylexfer.writers import midi_writer
from stylexfer.writers import notation
from stylexfer.writers import note_values
from stylexfer.writers import render

Fraction = fractions.Fraction


@pytest.fixture(scope='module')
def lead():
  return abc_reader.parse_abc_tune(fixtures.LEAD_SHEET, 'lead.abc', '1', 'Lead Sheet')


def _chords_by_bar(melody):
  """[(bar index, place in the bar, text)] of a melody's chord symbols."""
  tune = notation.layout(melody)
  starts = tune.bar_starts(tune.pickup + tune.quarters)
  return [(notation.bar_index(starts, at), at - starts[notation.bar_index(starts, at)], text)
          for at, text in tune.chords]


def test_the_reader_keeps_what_a_lead_sheet_says(lead):
  assert [text for _, text in lead.chords] == fixtures.LEAD_SHEET_CHORDS  # not "^fine"
  assert lead.header == fixtures.LEAD_SHEET_HEADER
  assert lead.tempo == 96 and lead.key == lead_sheet.Key(1, 'minor')
  assert lead.style == 'reel'                                   # from R:
  assert 'G#4' in lead.spellings and 'D#5' in lead.spellings and 'A-4' not in lead.spellings
  assert lead.bar_marks[3]['ending'] == '1' and lead.bar_marks[4]['ending'] == '2'


def test_tune_types_are_named_one_way():
  assert [lead_sheet.style_name(name) for name in
          ('Reel', ' slip  Jig', 'SlipJig', 'double jig', 'HARDBOP', '')] == [
              'reel', 'slip jig', 'slip jig', 'jig', 'hardbop', '']


def test_every_format_writes_it_back(lead, tmp_path):
  files = render.write_all(lead, str(tmp_path), 'lead', formats=('mid', 'musicxml', 'abc'))
  text = open(files['abc'], encoding='utf-8').read()
  for line in ('T:Lead Sheet', 'T:for the tests', 'C:A. Composer', 'R:reel', 'O:Nowhere',
               "N:written for stylexfer's tests", 'Q:1/4=96', 'K:Em clef=treble'):
    assert re.search(f'(?m)^{re.escape(line)}$', text), line
  assert 'fine' not in text
  for fmt in ('abc', 'musicxml'):
    back = readers.read_melody(files[fmt])
    assert back.pitches == lead.pitches and back.durations() == lead.durations(), fmt
    assert back.tempo == 96 and back.key.sharps == 1, fmt
    assert back.spellings == lead.spellings, fmt  # G sharp stays G sharp
    assert _chords_by_bar(back) == _chords_by_bar(lead), fmt
    assert ('composer', 'A. Composer') in back.header, fmt
    assert {m.get('ending') for m in back.bar_marks.values()} >= {'1', '2'}, fmt
  root = ET.parse(files['musicxml']).getroot()
  assert [e.text for e in root.iter('ending') if e.get('type') == 'start'] == ['1.', '2.']
  assert root.find('.//clef/sign').text == 'G'
  assert root.find('.//creator').text == 'A. Composer'
  assert root.find('.//measure').get('implicit') == 'yes'  # the pickup
  assert root.find('.//score-instrument/instrument-name').text
  assert root.find('.//midi-instrument/midi-program').text == '1'
  assert root.find('.//metronome/per-minute').text == '96'
  assert len(root.findall('.//harmony')) == len(fixtures.LEAD_SHEET_CHORDS)
  midi = converter.parse(files['mid'])
  assert midi.flatten().getElementsByClass(tempo.MetronomeMark)[0].number == 96
  assert midi.flatten().getElementsByClass(m21_key.KeySignature)[0].sharps == 1
  # The pickup is a bar of its own meter; the tune's meter follows it.
  signatures = [ts.ratioString for ts in midi.flatten().getElementsByClass(meter.TimeSignature)]
  assert signatures[:2] == ['1/8', '4/4']
  assert readers.read_melody(files['mid']).time_signature == '4/4'


def test_a_new_rhythm_keeps_the_lead_sheet_and_its_chords_in_their_bars(lead, tmp_path):
  eighths = lead.with_rhythm([Fraction(1, 2)] * (len(lead) - 1) + [Fraction(1)], title='New')
  assert (eighths.tempo, eighths.key, eighths.header, eighths.spellings) == (
      lead.tempo, lead.key, lead.header, lead.spellings)
  assert _chords_by_bar(eighths) == _chords_by_bar(lead)
  files = render.write_all(eighths, str(tmp_path), 'new', formats=('musicxml', 'abc'))
  for fmt in ('abc', 'musicxml'):
    assert _chords_by_bar(readers.read_melody(files[fmt])) == _chords_by_bar(lead), fmt


ADDITIVE = ("X:1\nT:Seven\nM:2+3+2/8\nL:1/8\nK:D\nAB cde fg|ab c'ba gf|"
            '[M:3+2+2/8] e2d cB A2|A2 B3 A2|]\n')


def test_an_additive_meter_is_written_back_with_its_groups(tmp_path):
  melody = abc_reader.parse_abc_tune(ADDITIVE, 'seven.abc', '1', 'Seven')
  # A new rhythm in the same bars: a dotted rhythm where the first two eighths were.
  new = melody.with_rhythm([Fraction(3, 4), Fraction(1, 4)] + melody.durations()[2:],
                           title='New')
  for version, stem in ((melody, 'before'), (new, 'after')):
    files = render.write_all(version, str(tmp_path), stem, formats=('mid', 'musicxml', 'abc'))
    text = open(files['abc'], encoding='utf-8').read()
    assert re.search(r'(?m)^M:2\+3\+2/8$', text) and '[M:3+2+2/8]' in text, text
    root = ET.parse(files['musicxml']).getroot()
    assert [(t.findtext('beats'), t.findtext('beat-type')) for t in root.iter('time')] == [
        ('2+3+2', '8'), ('3+2+2', '8')]
    # MIDI has no groups: its meter is the sum.
    signatures = [ts.ratioString for ts in converter.parse(files['mid']).flatten()
                  .getElementsByClass(meter.TimeSignature)]
    assert set(signatures) == {'7/8'}
    for fmt in ('abc', 'musicxml', 'mid'):
      back = readers.read_melody(files[fmt])
      assert back.pitches == version.pitches and back.durations() == version.durations(), fmt
      assert back.time_signature == ('7/8' if fmt == 'mid' else '2+3+2/8'), fmt
  # Eighths are beamed by the groups, 2+3+2 and then 3+2+2.
  before = open(tmp_path / 'before.abc', encoding='utf-8').read()
  assert "AB cde fg | ab c'ba gf | [M:3+2+2/8] e2 d cB A2 |" in before


def test_a_midi_melody_gets_one_key_in_both_scores(tmp_path):
  part = stream.Part([meter.TimeSignature('4/4')] + [
      note.Note(p, quarterLength=1) for p in (62, 64, 66, 67, 69, 71, 73, 74)])
  path = str(tmp_path / 'no-key.mid')
  stream.Score([part]).write('midi', fp=path)
  melody = readers.read_melody(path)
  assert melody.key.sharps == 2  # D major or B minor, chosen once when read
  restyled = melody.with_rhythm([Fraction(1, 3)] * 6 + [Fraction(1, 2), Fraction(1, 2)] +
                                [])
  before = render.write_all(melody, str(tmp_path), 'before', formats=('abc',))
  after = render.write_all(restyled, str(tmp_path), 'after', formats=('abc',))
  keys = [re.search(r'(?m)^K:(\S+)', open(f['abc']).read()).group(1) for f in (before, after)]
  assert keys[0] == keys[1] and keys[0] in ('D', 'Bm')


def _tune(durations, sounding=None, marks=None, time_signature='4/4', pickup=0):
  return notation.Layout([60 + i % 12 for i in range(len(durations))], durations,
                         time_signature, pickup, 'T', sounding=sounding, marks=marks)


def test_a_tuplet_bracket_covers_one_beat_and_rests_in_it_a_third_at_most():
  # The README reel's bar 10 before: two rests, 16th triplets tied into 8th triplets.
  durations = [Fraction(1, 6), Fraction(1, 6), Fraction(1, 3) + Fraction(1, 3),
               Fraction(1, 3), Fraction(1, 3), Fraction(2, 3), Fraction(2, 3), Fraction(1)]
  sounding = [Fraction(1, 6), Fraction(1, 6), Fraction(1, 3)] + durations[3:]
  tune = _tune(durations, sounding, pickup=Fraction(1, 3))
  for pieces in measures.bars(tune):
    groups = _groups(pieces)
    for group in groups:
      span = sum(p.quarters for p in group)
      assert span in (Fraction(1, 2), Fraction(1)) or (
          span == 2 and all(p.written >= 1 for p in group))
      assert all(p.quarters <= span / 3 for p in group if p.pitch is None)
      assert group[0].place % (span if span <= 1 else 1) == 0  # it starts on its beat
      assert len({p.tuplet_span for p in group}) == 1
    assert all(p.written in note_values.NOTATABLE for p in pieces)


def _groups(pieces):
  groups, current = [], None
  for piece in pieces:
    if piece.tuplet == 'only':
      groups.append([piece])
    elif piece.tuplet == 'start':
      current = [piece]
    elif piece.tuplet and current is not None:
      current.append(piece)
      if piece.tuplet == 'stop':
        groups.append(current)
        current = None
  return groups


@pytest.mark.parametrize('durations,spans', [
    ([Fraction(1, 3)] * 12, [1] * 4),                 # eighth triplets: one group a beat
    ([Fraction(2, 3)] * 6, [2, 2]),                   # quarter triplets: two beats a group
    ([Fraction(1, 6)] * 3 + [Fraction(1, 2)] * 3 + [Fraction(1, 6)] * 6 + [1],
     [Fraction(1, 2)] * 3),                           # 16th triplets: half a beat
])
def test_triplets_are_grouped_by_the_beat(durations, spans):
  pieces = measures.bars(_tune(durations))[0]
  groups = _groups(pieces)
  assert [sum(p.quarters for p in group) for group in groups] == spans
  assert all(p.tie == '' for p in pieces)  # nothing written in pieces


def test_no_note_is_tied_over_a_repeat_sign_an_ending_or_a_double_bar():
  # The last note of bar 0 sounds into bar 1, over a right repeat sign.
  marks = {0: {'left': 'repeat', 'right': 'repeat'}, 1: {'ending': '1'}}
  tune = _tune([1, 1, 1, 2, 3], marks=marks)
  bars = measures.bars(tune)
  assert bars[0][-1].tie == '' and bars[1][0].pitch is None  # a rest opens bar 1
  assert measures.section_ends(tune.marks, 3) == {0, 1}
  plain = measures.bars(_tune([1, 1, 1, 2, 3]))
  assert plain[0][-1].tie == 'start'  # without the repeat sign it is tied


@pytest.mark.parametrize('place,quarters,pieces', [
    (0, 4, [4]),                                    # a whole bar
    (Fraction(1, 2), Fraction(3, 2), [Fraction(1, 2), Fraction(1)]),  # to the beat, then
    (Fraction(1, 4), Fraction(7, 4), [Fraction(1, 4), Fraction(1, 2), Fraction(1)]),
    (1, 2, [1, 1]),                                 # a half rest only on beats 1 and 3
    (2, 2, [2]),
])
def test_rests_lie_on_their_own_values(place, quarters, pieces):
  assert note_values.rest_pieces(place, quarters, Fraction(4)) == pieces


def test_a_tune_ends_where_its_input_ended_and_no_bar_is_short():
  melody = abc_reader.parse_abc_tune(
      'X:1\nT:End\nM:4/4\nL:1/8\nK:D\nA|D2 FA dAFA|cAec d3 z|]\n', 'end.abc', '1', 'End')
  # The same bars (the pickup, eight eighths) and a busier last bar ending early.
  busy = melody.with_rhythm([Fraction(1, 2)] * 9 + [Fraction(1, 4)] * 4)
  tune = notation.layout(busy)
  bars = measures.bars(tune)
  assert [sum(p.quarters for p in bar) for bar in bars] == [Fraction(1, 2), 4, 4]
  last = [p for p in bars[-1] if p.pitch is not None][-1]
  assert (last.pitch, last.place + last.quarters) == (melody.pitches[-1], Fraction(7, 2))
  assert bars[-1][-1].pitch is None  # the input's last rest


def test_the_clef_follows_the_input_or_the_range():
  low = [43 + i % 12 for i in range(24)]
  assert lead_sheet.clef_for([67, 72, 76]) == 'treble'
  assert lead_sheet.clef_for([52, 55, 57, 60, 64, 67]) == 'treble-8'
  assert lead_sheet.clef_for(low) == 'bass'
  assert lead_sheet.clef_for(low, 'alto') == 'alto'
  melody = abc_reader.parse_abc_tune('X:1\nT:C\nM:4/4\nL:1/4\nK:C clef=bass\nC,D,E,F,|]\n',
                                     'c.abc', '1', 'C')
  assert melody.clef == 'bass'
  assert 'K:C clef=bass' in abc_writer.to_abc(notation.layout(melody))


def test_chords_are_chords_and_annotations_are_not():
  assert lead_sheet.chord('F#m7b5').kind == 'half-diminished'
  assert lead_sheet.chord('Bb/D') == lead_sheet.Chord('Bb/D', 'B', -1, 'major', '', 'D', 0)
  assert lead_sheet.chord('Cmaj7').kind == 'major-seventh'
  assert lead_sheet.chord('G7alt').kind == 'other'
  for text in ('SEGUE', '^text', '>', 'Fine', 'D.C. al fine'):
    assert lead_sheet.chord(text) is None
  read = abc_reader.parse_abc_tune(
      'X:1\nT:A\nM:4/4\nL:1/4\nK:C\n"SEGUE"C ">"D "^hi"E "Dm7"F|]\n', 'a.abc', '1', 'A')
  assert read.pitches == [60, 62, 64, 65] and read.chords == [(3, 'Dm7')]


def test_the_midi_file_carries_the_meters_the_key_and_the_tempo(tmp_path):
  tune = notation.Layout([60, 62, 64, 65, 67], [1, 1, 1, 3, 2], '3/4', 2, 'Waltz',
                         tempo=84, key=lead_sheet.Key(-1))
  path = midi_writer.write_midi(tune, str(tmp_path / 'w.mid'))
  read = converter.parse(path)
  signatures = [(ts.ratioString, float(ts.offset))
                for ts in read.flatten().getElementsByClass(meter.TimeSignature)]
  assert signatures[:2] == [('1/4', 0.0), ('3/4', 1.0)]
  assert read.flatten().getElementsByClass(m21_key.KeySignature)[0].sharps == -1
  assert read.flatten().getElementsByClass(tempo.MetronomeMark)[0].number == 84
  back = readers.read_melody(path)
  assert (back.time_signature, back.beats[0], back.tempo) == ('3/4', 2, 84)


def test_abc_tuplet_groups_hold_at_most_nine_notes_and_keep_their_times():
  # 64th-note triplets, twelve to a half beat: abcjs reads one digit of a group's count.
  tune = notation.Layout([60 + i % 12 for i in range(25)], [Fraction(1, 24)] * 24 + [3],
                         '4/4')
  text = abc_writer.to_abc(tune)
  counts = [int(n) for n in re.findall(r'\(3:2:(\d+)', text)]
  assert max(counts) <= 9 and sum(counts) == 24
  back = abc_reader.parse_abc_tune(text, 'x.abc', '1', 'x')
  assert back.durations()[:-1] == tune.durations[:-1]


def test_a_performed_gap_is_part_of_the_note_and_a_rest_starts_where_a_score_writes_one():
  # Gaps of a 24th (a performance) vanish; a rest 3/8 into a beat moves to its third.
  sounding = notation.written_rests([Fraction(1, 2), Fraction(1, 2), Fraction(2)],
                                    [Fraction(11, 24), Fraction(5, 12), Fraction(3, 8)])
  assert sounding == [Fraction(1, 2), Fraction(1, 2), Fraction(1, 3)]
  assert notation.written_rests([Fraction(1)], [Fraction(1, 4)]) == [Fraction(1, 4)]
