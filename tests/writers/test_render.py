"""Tests of the writers: bars and ties, ABC, MusicXML, MIDI, SVG/PNG and audio."""

import fractions
import os
import random
import re
import wave

from music21 import converter
import numpy as np
import pytest

import fixtures
from stylexfer.reading import abc_reader
from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import readers
from stylexfer.tokens import vocabulary
from stylexfer.writers import abc_writer
from stylexfer.writers import audio
from stylexfer.writers import measures
from stylexfer.writers import midi_writer
from stylexfer.writers import musicxml_writer
from stylexfer.writers import notation
from stylexfer.writers import note_values
from stylexfer.writers import playing
from stylexfer.writers import render

Fraction = fractions.Fraction


@pytest.mark.parametrize('quarters,pieces', [
    (Fraction(1), [Fraction(1)]),
    (Fraction(3, 2), [Fraction(3, 2)]),
    (Fraction(5, 4), [Fraction(1), Fraction(1, 4)]),
    (Fraction(5, 6), [Fraction(2, 3), Fraction(1, 6)]),  # a triplet quarter and eighth
    (Fraction(1, 3), [Fraction(1, 3)]),
    (Fraction(5, 24), [Fraction(1, 6), Fraction(1, 24)]),
    (Fraction(8), [Fraction(8)]),
])
def test_notatable_pieces(quarters, pieces):
  assert note_values.notatable_pieces(quarters) == pieces


def test_every_grid_value_splits_into_notatable_pieces():
  for value in vocabulary.DURATION_GRID:
    pieces = note_values.notatable_pieces(value)
    assert sum(pieces) == value
    assert all(piece in note_values.NOTATABLE for piece in pieces)


@pytest.mark.parametrize('place,quarters,pieces', [
    (Fraction(3, 4), Fraction(7, 12), [Fraction(1, 4), Fraction(1, 3)]),  # 16th, triplet
    (Fraction(2, 3), Fraction(7, 12), [Fraction(1, 3), Fraction(1, 4)]),
    (Fraction(1, 2), Fraction(5, 4), [Fraction(1, 2), Fraction(3, 4)]),
    (Fraction(1, 2), Fraction(13, 4), [Fraction(1, 2), Fraction(2), Fraction(3, 4)]),
    (Fraction(11, 6), Fraction(1, 3), [Fraction(1, 6), Fraction(1, 6)]),
    (Fraction(3, 4), Fraction(1, 2), [Fraction(1, 4), Fraction(1, 4)]),
    (Fraction(0), Fraction(5, 4), [Fraction(1), Fraction(1, 4)]),
    # Whole: from a beat, an off-beat syncopation, a quarter-note triplet's middle note,
    # a value inside one beat.
    (Fraction(1), Fraction(3), [Fraction(3)]),
    (Fraction(1, 2), Fraction(1), [Fraction(1)]),
    (Fraction(2, 3), Fraction(2, 3), [Fraction(2, 3)]),
    (Fraction(1, 4), Fraction(1, 2), [Fraction(1, 2)]),
])
def test_beat_pieces_cut_at_the_beats_a_duration_crosses(place, quarters, pieces):
  assert note_values.beat_pieces(place, quarters) == pieces


def test_bars_tie_notes_over_bar_lines_and_keep_the_pickup():
  tune = notation.Layout([60, 62, 64], [Fraction(1), Fraction(3), Fraction(4)], '4/4',
                         pickup=Fraction(3))
  bars = measures.bars(tune)
  assert [[(p.pitch, p.quarters, p.tie) for p in bar] for bar in bars] == [
      [(60, 1, '')],
      [(62, 3, ''), (64, 1, 'start')],
      [(64, 3, 'stop')],
  ]


def random_tune(seed, time_signature, pickup, length=40):
  rng = random.Random(seed)
  grid = vocabulary.DURATION_GRID
  return notation.Layout([rng.randint(40, 90) for _ in range(length)],
                         [rng.choice(grid) for _ in range(length)], time_signature, pickup,
                         f'Random {seed}')


TUNES = [
    notation.Layout(fixtures.JIG_PITCHES, fixtures.JIG_DURATIONS, '6/8', Fraction(5, 2), 'Jig'),
    notation.Layout(fixtures.DOUBLE_STOP_PITCHES, fixtures.DOUBLE_STOP_DURATIONS, '4/4', 0, 'X'),
    notation.Layout([58, 63, 61, 66, 70, 51, 75], [1, 2, 1, 3, 0.5, 0.5, 4], '3/4', 1, 'Flats'),
    random_tune(1, '4/4', Fraction(1, 3)),
    random_tune(2, '6/8', Fraction(0)),
    random_tune(3, '3/4', Fraction(5, 24)),
    random_tune(4, '5/4', Fraction(2)),
]


@pytest.mark.parametrize('tune', TUNES, ids=[t.title for t in TUNES])
def test_abc_parses_back_to_the_same_melody(tune):
  tune.tempo = 100
  text = abc_writer.to_abc(tune)
  assert text.startswith('X:1\nT:') and f'M:{tune.time_signature}\n' in text
  assert re.search(r'(?m)^L:1/(8|16)$', text)
  melody = abc_reader.parse_abc_tune(text, 'written.abc', '1', tune.title)
  assert melody.pitches == tune.pitches
  # The last note is followed by a rest where it ends inside a beat of triplets (the
  # bracket's beat is written whole): the rest lengthens its duration, not its sound.
  assert melody.durations()[:-1] == tune.durations[:-1]
  assert melody.lengths[-1] == tune.sounding[-1]
  assert melody.time_signature == tune.time_signature
  assert melody.beats[0] == tune.pickup


@pytest.mark.parametrize('tune', TUNES[:4], ids=[t.title for t in TUNES[:4]])
def test_musicxml_and_midi_read_back(tune, tmp_path):
  path = musicxml_writer.write_musicxml(tune, str(tmp_path / 'tune.musicxml'))
  melody = readers.read_melodies(path)[0]
  assert melody.pitches == tune.pitches
  assert melody.durations()[:-1] == tune.durations[:-1]  # a rest may close the last beat
  assert (melody.time_signature, melody.beats[0]) == (tune.time_signature, tune.pickup)
  tune.tempo = 90
  midi = midi_writer.write_midi(tune, str(tmp_path / 'tune.mid'))
  notes = converter.parse(midi, quantizePost=False).stripTies().flatten().notes
  assert [n.pitch.midi for n in notes] == tune.pitches


def test_the_key_is_music21s_analysis_unless_another_signature_fits_far_better():
  from music21 import note, stream  # pylint: disable=g-import-not-at-top
  walk = random.Random(3)
  pitches = [62]
  for _ in range(300):
    pitches.append(min(84, max(50, pitches[-1] + walk.choice([-3, -2, -1, 1, 2, 4]))))
  durations = [Fraction(walk.choice([1, 1, 2, 3, 6]), 6) for _ in pitches]
  for tune in TUNES[:3]:
    every_note = stream.Part([note.Note(p, quarterLength=float(d))
                              for p, d in zip(tune.pitches, tune.durations)])
    assert lead_sheet.key_for(tune.pitches, tune.durations).sharps == (
        every_note.analyze('key').sharps)
  # D major, tonic and dominant: two sharps, and the mode music21 names.
  assert lead_sheet.key_for([62, 66, 69, 74, 73, 69, 62], [1] * 7) == lead_sheet.Key(2, 'major')
  # A chromatic line fits no key: the signature nearest C among the best, never 7 sharps.
  chromatic = notation.Layout([60 + i % 12 for i in range(48)], [Fraction(1, 4)] * 48, '4/4')
  assert abs(chromatic.key.sharps) <= 1
  assert lead_sheet.key_for(pitches, durations).sharps == 0


def test_svg_and_png(tmp_path):
  path = musicxml_writer.write_musicxml(TUNES[0], str(tmp_path / 'jig.musicxml'))
  svg = render.render_svg(path, str(tmp_path / 'jig.svg'))
  assert svg.lstrip().startswith('<svg')
  png = render.png_bytes(svg)
  if png is None:
    pytest.skip('no SVG rasterizer (resvg-py or cairosvg) installed')
  assert png[:8] == b'\x89PNG\r\n\x1a\n'
  assert int.from_bytes(png[16:20], 'big') == render.PNG_WIDTH  # IHDR: a tune's page
  assert render.png_bytes_elsewhere(svg) == png  # drawn by another process


def test_the_pngs_text_has_no_music_font_symbol_left_undrawable(tmp_path):
  # The PNG's text font draws what Verovio writes in its music font: the tempo's note and
  # the accidentals of chord symbols (Bb was drawn as B and an empty box).
  (melody,) = readers.read_melodies(fixtures.write_abc(
      str(tmp_path), 'chords.abc', 'X:1\nT:Chords\nQ:1/4=96\nM:4/4\nL:1/4\nK:C\n'
      '"F#m"A B c d|"Bb"B A G F|"Ebmaj7"E F G A|"C"C4|]\n'))
  path = musicxml_writer.write_musicxml(notation.layout(melody), str(tmp_path / 'c.musicxml'))
  drawn = render.raster_svg(render.render_svg(path, str(tmp_path / 'c.svg')))
  text = ''.join(re.findall(r'<tspan[^>]*>([^<]*)</tspan>', drawn))
  assert '\u266d' in text and '\u266f' in text  # the flat of Bb and Eb, the sharp of F#
  assert not re.search('[\ue000-\uf8ff]', text), [hex(ord(c)) for c in text if c > '\ue000']


def test_a_png_is_drawn_here_when_no_other_process_can_draw_it(tmp_path, monkeypatch):
  svg = ('<svg width="84px" height="30px" version="1.1" xmlns="http://www.w3.org/2000/svg">'
         '<rect x="10" y="10" width="20" height="10" fill="black"/></svg>')
  here = render.png_bytes(svg)
  if here is None:
    pytest.skip('no SVG rasterizer (resvg-py or cairosvg) installed')
  monkeypatch.setattr(render.sys, 'executable', str(tmp_path / 'no-python'))
  assert render.png_bytes_elsewhere(svg) == here


def test_pages_are_stacked_into_one_picture_with_every_note_and_unique_ids(tmp_path):
  import xml.etree.ElementTree as ET  # pylint: disable=g-import-not-at-top
  tune = melody_lib.Melody.from_durations(fixtures.JIG_PITCHES * 8, fixtures.JIG_DURATIONS * 8,
                                          '6/8', Fraction(5, 2), 'Jig')
  path = musicxml_writer.write_musicxml(notation.layout(tune, 1.0),
                                        str(tmp_path / 'jig.musicxml'))
  one = render.render_svg(path, str(tmp_path / 'one.svg'), page_height=60000)
  stacked = render.render_svg(path, str(tmp_path / 'pages.svg'), page_height=700)
  pages = stacked.count('<svg y="')
  assert pages >= 3
  root = ET.fromstring(stacked)
  ids = [element.get('id') for element in root.iter() if element.get('id')]
  assert len(ids) == len(set(ids))
  classes = lambda svg: sorted(re.findall(r'class="(note|measure|tuplet|tie)\b', svg))
  assert classes(stacked) == classes(one)
  heights = [float(h) for h in re.findall(r'<svg y="[\d.]+px" width="[\d.]+px" '
                                           r'height="([\d.]+)px"', stacked)]
  assert float(render._SIZE.search(stacked).group(2)) == pytest.approx(sum(heights))
  used = set(re.findall(r'xlink:href="#([^"]+)"', stacked))
  defined = set(re.findall(r'<g id="([^"]+)">', stacked.split('</defs>')[0]))
  assert used <= defined


def test_a_long_pages_png_keeps_to_the_pixel_budget_not_below_the_engravings_size():
  page = '<svg width="840px" height="{}px" version="1.1" xmlns="http://www.w3.org/2000/svg">'
  assert render.png_width(page.format(1200)) == render.PNG_WIDTH
  width = render.png_width(page.format(13202))  # 4,000 notes
  assert 840 < width < render.PNG_WIDTH
  assert width * (width * 13202 / 840) <= render.PNG_PIXELS
  assert render.png_width(page.format(200_000)) == 840
  long_page = (page.format(40_000) + '<rect x="0" y="0" width="840" height="40000" '
               'fill="black"/></svg>')
  png = render.png_bytes(long_page)
  if png is None:
    pytest.skip('no SVG rasterizer (resvg-py or cairosvg) installed')
  assert int.from_bytes(png[16:20], 'big') == 840


def test_plucked_audio_is_44k_16_bit_and_as_long_as_the_tune(tmp_path):
  path = audio.write_wav([(0, 1, 60), (1, 1, 64), (2, 2, 67)], str(tmp_path / 'a.wav'),
                         tempo=120, synthesizer='pluck')
  with wave.open(path) as f:
    assert (f.getframerate(), f.getsampwidth(), f.getnchannels()) == (44100, 2, 1)
    frames = f.readframes(f.getnframes())
  samples = np.frombuffer(frames, '<i2')
  assert len(samples) == pytest.approx((4 * 0.5 + audio.RELEASE_SECONDS) * 44100, abs=2)
  assert np.abs(samples).max() > 20000
  # A plucked string, not a beep: the tone decays within each note.
  first = np.abs(samples[:22050].astype(float))
  assert first[:2205].mean() > 2 * first[-2205:].mean()


def test_soundfont_lookup(tmp_path, monkeypatch):
  monkeypatch.setenv('STYLEXFER_SOUNDFONT', str(tmp_path / 'missing.sf2'))
  assert audio.find_soundfont() is None
  font = tmp_path / 'piano.sf2'
  font.write_bytes(b'RIFF')
  assert audio.find_soundfont(str(font)) == str(font)
  monkeypatch.setenv('STYLEXFER_SOUNDFONT', str(font))
  assert audio.find_soundfont() == str(font)


FORM = notation.Layout(
    [67, 69, 71, 72, 74, 71, 69, 67, 69, 62, 67, 69, 71, 72, 74],
    [0.5, 0.5, 0.5, 0.5, 1, 1, 4, 4, 3, 1, 1, 1, 1, 1, 1], '4/4', 0, 'Form',
    sounding=[0.5] * 6 + [2, 4, 3, 1, 1, 1, 1, 1, 1], bar_lengths=[4, 4, 4, 3, 3, 3],
    marks={0: {'left': 'repeat'}, 1: {'right': 'repeat', 'ending': '1'},
           2: {'ending': '2', 'right': 'double'}})


def test_rests_repeats_endings_and_meter_changes_read_back_from_abc():
  text = abc_writer.to_abc(FORM)
  assert '|:' in text and ':|' in text and '[1' in text and '[2' in text
  assert '[M:3/4]' in text and 'z' in text
  melody = abc_reader.parse_abc_tune(text, 'form.abc', '1', 'Form')
  assert melody.pitches == FORM.pitches
  assert melody.durations()[:-1] == FORM.durations[:-1]
  # A note sounds as long as written; the rest after it is part of its duration.
  assert melody.lengths[:-1] == FORM.sounding[:-1]
  assert [melody.bar_marks[b].get(side) for b, side in
          ((0, 'left'), (1, 'right'), (1, 'ending'), (2, 'ending'))] == [
              'repeat', 'repeat', '1', '2']
  assert dict(zip(melody.bars, melody.bar_lengths)) == {0: 4, 1: 4, 2: 4, 3: 3, 4: 3, 5: 3}


def test_musicxml_keeps_rests_repeats_and_endings(tmp_path):
  path = musicxml_writer.write_musicxml(FORM, str(tmp_path / 'form.musicxml'))
  melody = readers.read_melodies(path)[0]
  assert melody.pitches == FORM.pitches
  assert melody.lengths[:-1] == FORM.sounding[:-1]
  assert melody.bar_marks[melody.bars[0]] == {'left': 'repeat'}
  endings = {mark.get('ending') for mark in melody.bar_marks.values()}
  assert {'1', '2'} <= endings


def test_midi_plays_the_repeats_and_the_rests(tmp_path):
  path = midi_writer.write_midi(FORM, str(tmp_path / 'form.mid'))
  notes = converter.parse(path, quantizePost=False).flatten().notes
  played = [n.pitch.midi for n in notes]
  # Bar 0, ending 1, bar 0 again, ending 2, then the 3/4 bars.
  assert played == FORM.pitches[:7] + FORM.pitches[:6] + FORM.pitches[7:]
  assert float(notes[1].quarterLength) == 0.5  # a rest after it, not held on
  assert float(notes[7].offset) == 8.0         # the second pass starts after two bars


def test_swing_plays_eighth_pairs_long_short_and_leaves_the_notation_straight(tmp_path):
  straight = notation.Layout([60, 62, 64, 65], [0.5] * 4, '4/4', 0, 'Eighths')
  swung = notation.Layout([60, 62, 64, 65], [0.5] * 4, '4/4', 0, 'Eighths', swing=2.0)
  assert [round(n[0], 3) for n in playing.performance(swung)] == [0, 0.667, 1, 1.667]
  assert [n[0] for n in playing.performance(straight)] == [0, 0.5, 1, 1.5]
  assert measures.bars(swung) == measures.bars(straight)


@pytest.mark.parametrize('marks,count,order', [
    ({}, 3, [0, 1, 2]),
    ({0: {'left': 'repeat'}, 1: {'right': 'repeat'}}, 3, [0, 1, 0, 1, 2]),
    ({1: {'right': 'repeat'}, 2: {'left': 'repeat'}, 3: {'right': 'repeat'}}, 4,
     [0, 1, 0, 1, 2, 3, 2, 3]),
    ({0: {'left': 'repeat'}, 1: {'right': 'repeat', 'ending': '1'}, 2: {'ending': '2'}},
     4, [0, 1, 0, 2, 3]),
])
def test_play_order(marks, count, order):
  assert playing.play_order(marks, count) == order


def test_tuplets_next_to_a_bar_line_are_written_in_every_format(tmp_path):
  text = ('X:1\nT:Tuplets\nM:4/4\nL:1/8\nK:C\n'
          '(3abc d2 (3efg a2|(3:2:4 ABcd e4|(5abcde f4|]\n')
  melody = abc_reader.parse_abc_tune(text, 'tuplets.abc', '1', 'Tuplets')
  files = render.write_all(melody, str(tmp_path), 'tuplets', formats=('musicxml', 'abc'))
  for fmt in ('musicxml', 'abc'):
    assert readers.read_melodies(files[fmt])[0].pitches == melody.pitches, fmt


def _without_date(path):
  with open(path, encoding='utf-8') as f:
    return re.sub(r'<encoding-date>[^<]*</encoding-date>', '', f.read())


def test_wav_written_in_blocks_holds_every_sample(tmp_path):
  samples = (1.2 * np.sin(np.arange(600_000) * 0.01)).astype(np.float32)  # 3 blocks, clipped
  path = audio.save_wav(samples, str(tmp_path / 'blocks.wav'))
  with wave.open(path) as f:
    assert f.getnframes() == len(samples)
    read = np.frombuffer(f.readframes(f.getnframes()), '<i2')
  assert np.array_equal(read, (np.clip(samples, -1, 1) * np.float32(32767)).astype('<i2'))


_FORKED_WRITE = '''
import pickle, sys
from stylexfer.reading import melody
from stylexfer.reading import readers
from stylexfer.writers import render
tune, out, stem = pickle.loads(bytes.fromhex(sys.argv[1]))
with render.Writer() as writer:
  first = writer.write(tune, out, stem, formats=('mid', 'musicxml', 'abc', 'wav'),
                       synthesizer='pluck')
  second = writer.write(tune, out + '/mid', stem)  # a file, not a folder
  third = writer.write(tune, out + '/again', stem, formats=('abc',))
  print(writer.elsewhere, type(first).__name__, sorted(first.result()))
  try:
    second.result()
  except Exception as error:
    print(type(error).__name__)
  print(type(third).__name__, sorted(third.result()))
  # Any function runs there in turn: reading a melody back, or failing to.
  print(writer.run(readers.read_melody, out + '/jig.abc').result().pitches == tune.pitches)
  try:
    writer.run(readers.read_melody, out + '/none.abc').result()
  except melody.MelodyError as error:
    print(type(error).__name__, str(error).endswith('none.abc: no such file'))
'''


def test_writing_in_a_forked_process_writes_the_same_files(tmp_path):
  import pickle
  import subprocess
  import sys
  tune = melody_lib.Melody.from_durations(fixtures.JIG_PITCHES, fixtures.JIG_DURATIONS, '6/8',
                                          Fraction(5, 2), 'Jig')
  here = render.write_all(tune, str(tmp_path / 'here'), 'jig',
                          formats=('mid', 'musicxml', 'abc', 'wav'), synthesizer='pluck')
  forked = tmp_path / 'forked'
  forked.mkdir()
  (forked / 'mid').write_text('a file')
  done = subprocess.run(
      [sys.executable, '-c', _FORKED_WRITE,
       pickle.dumps((tune, str(forked), 'jig')).hex()],
      capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  # A process that has not loaded TensorFlow writes in a forked copy, one job after
  # another; errors come back, and a failed job does not stop the next.
  assert done.stdout.splitlines() == [
      "True Future ['abc', 'mid', 'musicxml', 'wav']", 'OutputError', "Future ['abc']",
      'True', 'UnreadableFileError True']
  assert (forked / 'again' / 'jig.abc').read_text() == open(here['abc']).read()
  for fmt, path in here.items():
    there = str(forked / os.path.basename(path))
    if fmt == 'musicxml':
      assert _without_date(there) == _without_date(path)
    else:
      with open(path, 'rb') as a, open(there, 'rb') as b:
        assert a.read() == b.read(), fmt
