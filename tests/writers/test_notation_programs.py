"""Every ABC and MusicXML file the project writes opens without a message in the programs
musicians use: abc2midi, abcm2ps and abcjs for ABC, MuseScore 3 and LilyPond for MusicXML.

`bash .ci/run` installs the programs (Debian's abcmidi, abcm2ps, musescore3, lilypond;
abcjs from npm into .ci/abcjs); without them these tests fail, naming what is missing.
The files: fixture tunes as written back (the `.before` copies), restyles of them by the
shipped models at strength 1 and 0.5, and generated melodies of every combination.
"""

import concurrent.futures
import fractions
import os
import pathlib

from absl import flags
import pytest

import fixtures
from stylexfer.evaluation import notation_programs
from stylexfer.programs import generate
from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import readers
from stylexfer.serving import client
from stylexfer.serving import loading
from stylexfer.writers import notation
from stylexfer.writers import playing
from stylexfer.writers import render

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE_PATH = str(ROOT / '.ci' / 'abcjs' / 'node_modules')
REEL = ROOT / 'stylexfer' / 'examples' / 'the_stylexfer_reel.abc'

# Fixture tunes for what the writers must get right: 16th-note triplets in 2/2 with a
# pickup and endings, a jig in 6/8, meter changes, quarter-note triplets.
TRIPLET_REEL = """\
X:1
T:Triplet Reel
M:2/2
L:1/8
K:D
A|:(3d/e/f/d AF DFAd|(3GAB dB (3A/B/c/d AF|[1 DFAd (3e/f/g/f e2:|[2 fedc d2 z||
"""
METERS = """\
X:1
T:Meters
M:3/4
L:1/8
Q:3/8=60
K:F
c2 A2 F2|(3G2A2B2 c2|[M:2/4] d2 c2|[M:6/8] fed cBA|G3 F3|]
"""
TUNES = {'reel': REEL.read_text(), 'lead-sheet': fixtures.LEAD_SHEET,
         'triplet-reel': TRIPLET_REEL, 'meters': METERS,
         'jig': abc_reader.split_abc(fixtures.ABC_TUNES)[0][2],
         'double-stops': abc_reader.split_abc(fixtures.ABC_TUNES)[1][2]}


def _require(programs):
  absent = notation_programs.missing(programs, NODE_PATH)
  if absent:
    pytest.fail(f'not installed: {", ".join(absent)} (bash .ci/run installs them)')


def _melody(name):
  return abc_reader.parse_abc_tune(TUNES[name], f'{name}.abc', '1', name)


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
  """{tune name: path} of the fixture tunes as ABC files."""
  folder = tmp_path_factory.mktemp('inputs')
  return {name: fixtures.write_abc(str(folder), f'{name}.abc', text)
          for name, text in TUNES.items()}


@pytest.fixture(scope='module')
def written(tmp_path_factory):
  """{label: path} of every file written for the checks; a label starts with the name of
  the fixture tune it was written from."""
  out = tmp_path_factory.mktemp('written')
  files = {}
  models = {genre: loading.load(loading.find_model(genre, None)) for genre in ('folk', 'jazz')}
  for name in TUNES:
    melody = _melody(name)
    for fmt, path in render.write_all(melody, str(out), f'{name}.before',
                                      formats=('musicxml', 'abc')).items():
      files[f'{name}.before.{fmt}'] = path
    for genre, strength in (('jazz', 1.0), ('jazz', 0.5), ('folk', 1.0)):
      durations, sounding = client.restyle_durations(
          models[genre], melody.pitches, melody.durations(), strength, 1.0, 0.9, 1,
          form=melody.form())
      restyled = melody.with_rhythm(durations, sounding, f'{melody.title} ({genre})')
      stem = f'{name}.{genre}-{strength:g}'
      for fmt, path in render.write_all(restyled, str(out), stem,
                                        formats=('musicxml', 'abc')).items():
        files[f'{stem}.{fmt}'] = path
  for genre, rhythm in (('folk', 'folk'), ('folk', 'jazz'), ('jazz', 'jazz'), ('jazz', 'folk')):
    flag_values = flags.FlagValues()
    generate.define_flags(flag_values)
    flag_values(['generate', f'--genre={genre}', f'--rhythm={rhythm}', '--count=2',
                 '--length=48', '--seed=5', f'--out={out}', '--synthesizer=pluck'])
    for n, made in enumerate(generate.generate_tunes(flag_values, out=open(os.devnull, 'w'))):
      for fmt in ('abc', 'musicxml'):
        files[f'generated {genre}/{rhythm} {n + 1}.{fmt}'] = made[fmt]
  return files


def _said(files, programs, inputs=None):
  """{(label, program): lines} for every file and program that said something its input
  (the fixture tune the label starts with, if any) does not make it say too."""
  jobs = [(label, program, path) for label, path in files.items()
          for program in notation_programs.programs_for(path) if program in programs]
  with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(lambda job: notation_programs.program_messages(
        job[1], job[2], NODE_PATH), jobs))
    said = {}
    for (label, program, _), lines in zip(jobs, results):
      source = (inputs or {}).get(label.split('.')[0])
      if lines and source:
        lines = notation_programs.not_caused_by(lines, notation_programs.program_messages(
            program, source, NODE_PATH))
      if lines:
        said[(label, program)] = lines
    return said


def test_abc_files_read_without_a_message(written, inputs):
  _require(notation_programs.ABC_PROGRAMS)
  abc = {label: path for label, path in written.items() if path.endswith('.abc')}
  assert len(abc) >= 30
  assert _said(abc, notation_programs.ABC_PROGRAMS, inputs) == {}


# LilyPond's musicxml2ly (2.24) gives chord symbols a voice of their own that drops a
# repeat sign's marker after a bar line, and then warns of the ending it cannot close: on a
# tune with chord symbols and a first ending closed by a repeat sign, as on MuseScore's own
# export of one (BUILD_NOTES.md, known limits). Only that tune may draw only that warning.
_CHORDS_AND_ENDINGS = 'lead-sheet'
_UNCLOSED = 'musicxml2ly: warning: Encountered unprocessed marker <musicxml2ly_conversion.'


def test_musicxml_files_read_without_a_message(written):
  _require(notation_programs.MUSICXML_PROGRAMS)
  musicxml = {label: path for label, path in written.items() if path.endswith('.musicxml')}
  assert len(musicxml) >= 30
  said = _said(musicxml, notation_programs.MUSICXML_PROGRAMS)
  known = {key for key, lines in said.items()
           if key[0].startswith(_CHORDS_AND_ENDINGS) and key[1] == 'lilypond'
           and all(line.startswith(_UNCLOSED) for line in lines)}
  assert {key: lines for key, lines in said.items() if key not in known} == {}


def test_the_checks_hear_what_the_programs_say(tmp_path):
  """A file each program complains about is reported, so a clean run means clean files."""
  _require(notation_programs.ABC_PROGRAMS + notation_programs.MUSICXML_PROGRAMS)
  bad_abc = tmp_path / 'bad.abc'
  bad_abc.write_text('X:1\nT:Bad\nM:4/4\nL:1/48\nK:C\nC12 D12 E12 F12|G8 A8 B8 c24|]\n')
  said = notation_programs.messages(str(bad_abc), NODE_PATH)
  assert all(said[program] for program in notation_programs.ABC_PROGRAMS), said
  bad_xml = tmp_path / 'bad.musicxml'
  # No instrument, and a note a fifth of a quarter long, which no score value is.
  bad_xml.write_text(
      '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="3.1"><part-list>'
      '<score-part id="P1"><part-name/></score-part></part-list><part id="P1">'
      '<measure number="1"><attributes><divisions>5</divisions></attributes><note><pitch>'
      '<step>C</step><octave>4</octave></pitch><duration>1</duration></note></measure>'
      '</part></score-partwise>')
  said = notation_programs.messages(str(bad_xml), NODE_PATH)
  assert said['mscore3'] and said['lilypond'], said


ADDITIVE = """\
X:1
T:Additive
M:2+3+2/8
L:1/8
K:D
AB cde fg|ab c'ba gf|[M:(3+2+2)/8] e2d cB A2|[M:3/4] A2 B2 A2|[M:2+3+2/8] A2 B3 A2|]
"""


def test_an_additive_meter_opens_without_a_message(tmp_path):
  """M:2+3+2/8 as read, and restyled by the shipped jazz model, in every program."""
  programs = notation_programs.ABC_PROGRAMS + notation_programs.MUSICXML_PROGRAMS
  _require(programs)
  melody = abc_reader.parse_abc_tune(ADDITIVE, 'additive.abc', '1', 'Additive')
  assert melody.time_signature == '2+3+2/8'
  durations, sounding = client.restyle_durations(
      loading.load(loading.find_model('jazz', None)), melody.pitches, melody.durations(),
      1.0, 1.0, 0.9, 1, form=melody.form())
  restyled = melody.with_rhythm(durations, sounding, 'Additive (jazz)')
  files = {}
  for version, stem in ((melody, 'before'), (restyled, 'jazz')):
    for fmt, path in render.write_all(version, str(tmp_path), stem,
                                      formats=('mid', 'musicxml', 'abc')).items():
      files[f'{stem}.{fmt}'] = path
  scores = {label: path for label, path in files.items() if not label.endswith('.mid')}
  assert _said(scores, programs) == {}
  for label in ('before.mid', 'jazz.mid'):
    assert notation_programs.convert_with_musescore(
        files[label], str(tmp_path / f'{label}.mscx')) == [], label


@pytest.mark.parametrize('name', ['reel', 'triplet-reel', 'jig', 'lead-sheet'])
def test_what_musescore_exports_reads_back(name, tmp_path):
  """MuseScore's MusicXML and MIDI of a fixture tune read back to its notes and bars: the
  MIDI as played (repeats taken), its pickup a pickup, its triplets single notes."""
  _require(['mscore3'])
  melody = _melody(name)
  ours = render.write_all(melody, str(tmp_path), name, formats=('musicxml',))['musicxml']
  exported = {}
  for fmt in ('musicxml', 'mid'):
    exported[fmt] = str(tmp_path / f'{name}.musescore.{fmt}')
    said = notation_programs.convert_with_musescore(ours, exported[fmt])
    assert os.path.exists(exported[fmt]), said
  back = readers.read_melody(exported['musicxml'])
  assert (back.pitches, back.durations(), back.time_signature) == (
      melody.pitches, melody.durations(), melody.time_signature)
  assert back.form()[2] == melody.form()[2] and list(back.form()[1]) == list(melody.form()[1])
  played = readers.read_melody(exported['mid'])
  tune = notation.layout(melody)
  performance = playing.performance(tune)
  assert played.pitches == [pitch for _, _, pitch in performance]
  onsets = [fractions.Fraction(onset).limit_denominator(48) for onset, _, _ in performance]
  assert [o - played.onsets[0] for o in played.onsets] == onsets
  assert (played.time_signature, played.beats[0]) == (melody.time_signature, tune.pickup)
  assert not played.counts.get(melody_lib.POLYPHONIC)
