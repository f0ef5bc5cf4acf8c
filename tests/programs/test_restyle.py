"""End-to-end tests of stylexfer-restyle and stylexfer-generate on tiny exported loading."""

import fractions
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import wave

from absl import flags
from music21 import converter
import numpy as np
import pytest

import fixtures
from stylexfer.programs import generate
from stylexfer.reading import readers
from stylexfer.serving import loading
from stylexfer.writers import notation
from stylexfer.writers import playing
from stylexfer.programs import restyle
from stylexfer.tokens import vocabulary
from stylexfer.serving import client

Fraction = fractions.Fraction
GRID = set(vocabulary.DURATION_GRID)
TEMPO = 120
JAZZ_SWING = fixtures.TRAITS['jazz'].swing_ratio


@pytest.fixture(scope='module')
def model_dir(tiny_genres):
  """Untrained tiny folk and jazz SavedModels under <dir>/<genre>/1/."""
  return tiny_genres


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
  folder = str(tmp_path_factory.mktemp('inputs'))
  empty = os.path.join(folder, 'empty.mid')
  open(empty, 'w').close()
  garbage = os.path.join(folder, 'garbage.mid')
  with open(garbage, 'wb') as f:
    f.write(b'this is not a MIDI file')
  return {
      'abc': fixtures.write_abc(folder),
      'musicxml': fixtures.write_score(os.path.join(folder, 'waltz.musicxml')),
      'midi': fixtures.write_score(os.path.join(folder, 'waltz.mid'), chords=()),
      'empty_abc': fixtures.write_abc(folder, 'empty.abc', ''),
      'empty_midi': empty,
      'garbage': garbage,
      'text': fixtures.write_abc(folder, 'notes.txt', 'c d e'),
      'missing': os.path.join(folder, 'missing.abc'),
  }


def run_program(module, args, capsys):
  """Runs a program's main on fresh flags; returns (exit status, stdout, stderr)."""
  flag_values = flags.FlagValues()
  module.define_flags(flag_values)
  flag_values(['program'] + list(args))
  status = module.main(['program'], flag_values)
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def read_back(path):
  """The one melody in a written file, as stylexfer reads it."""
  melodies = readers.read_melodies(path)
  assert len(melodies) == 1
  return melodies[0]


def midi_without_quantizing(path):
  """Pitches and onsets of a MIDI file exactly as written (music21 would snap to 16ths)."""
  notes = converter.parse(path, quantizePost=False).stripTies().flatten().notes
  return [n.pitch.midi for n in notes], [Fraction(n.offset).limit_denominator(96)
                                         for n in notes]


def check_outputs(files, pitches, time_signature=None, pickup=None, swing=1.0):
  """The written MIDI, MusicXML, ABC, SVG, PNG and WAV hold the melody; returns durations.

  MIDI and audio play the melody as the score reads: repeats played out, eighths swung.
  """
  assert set(files) >= {'mid', 'musicxml', 'abc', 'svg', 'wav'}
  durations = None
  for fmt in ('musicxml', 'abc'):
    melody = read_back(files[fmt])
    if fmt == 'musicxml':
      played = playing.performance(notation.layout(melody, swing))
    assert melody.pitches == pitches, fmt
    # Every duration is drawn from the grid but the last, which ends where the tune ends.
    assert set(melody.durations()[:-1]) <= GRID, fmt
    durations = durations or melody.durations()
    assert melody.durations() == durations, fmt
    if time_signature:
      assert melody.time_signature == time_signature, fmt
    if pickup is not None:
      assert melody.beats[0] == pickup, fmt
  midi_pitches, midi_onsets = midi_without_quantizing(files['mid'])
  assert midi_pitches == [pitch for _, _, pitch in played]
  np.testing.assert_allclose([float(o) for o in midi_onsets], [o for o, _, _ in played],
                             atol=1 / 96)
  with open(files['svg'], encoding='utf-8') as f:
    assert f.read().lstrip().startswith('<svg')
  if 'png' in files:
    with open(files['png'], 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  with wave.open(files['wav']) as audio:
    assert audio.getframerate() == 44100 and audio.getsampwidth() == 2
    seconds = audio.getnframes() / audio.getframerate()
  expected = max(onset + length for onset, length, _ in played) * 60 / TEMPO
  assert expected <= seconds <= expected + 4
  return durations


def files_of(out, stem):
  return {os.path.splitext(name)[1][1:]: os.path.join(out, name)
          for name in os.listdir(out) if name.startswith(stem + '.') and
          name.count('.') == stem.count('.') + 1}


def test_restyle_abc_tune_keeps_pitches_pickup_and_meter(model_dir, inputs, tmp_path,
                                                         capsys):
  out = str(tmp_path)
  status, stdout, stderr = run_program(restyle, [
      f'--input={inputs["abc"]}', '--to=jazz', '--from=folk', '--seed=3',
      f'--models_dir={model_dir}', f'--out={out}', '--synthesizer=pluck'], capsys)
  assert status == 0, stderr
  assert 'duration head' in stdout and 'heard as' in stdout and 'jazz - folk' in stdout
  assert re.search(r'restyled to jazz \(strength 1, seed 3, bars; \d+ of 32 durations '
                   r'changed\)', stdout), stdout
  assert stderr == ''
  restyled = check_outputs(files_of(out, 'pickup-jig.jazz'), fixtures.JIG_PITCHES, '6/8',
                           Fraction(5, 2), JAZZ_SWING)
  before = check_outputs(files_of(out, 'pickup-jig.before'), fixtures.JIG_PITCHES, '6/8',
                         Fraction(5, 2))
  assert before == [Fraction(d) for d in fixtures.JIG_DURATIONS]
  assert restyled != before  # an untrained model does not draw the jig back


def test_restyle_is_deterministic_and_strength_zero_keeps_the_rhythm(model_dir, inputs,
                                                                     tmp_path, capsys):
  texts = []
  for run, strength in enumerate((0.5, 0.5, 0.0)):
    out = str(tmp_path / str(run))
    status, _, stderr = run_program(restyle, [
        f'--input={inputs["abc"]}', '--tune=Pickup Jig', '--to=jazz', f'--strength={strength}',
        '--seed=7', f'--models_dir={model_dir}', f'--out={out}', '--synthesizer=pluck'], capsys)
    assert status == 0, stderr
    with open(os.path.join(out, 'pickup-jig.jazz.abc')) as f:
      texts.append(f.read())
  assert texts[0] == texts[1]
  kept = read_back(os.path.join(str(tmp_path / '2'), 'pickup-jig.jazz.abc'))
  assert kept.durations() == [Fraction(d) for d in fixtures.JIG_DURATIONS]


def test_restyle_like_a_target_melody_keeps_pitches_and_differs_from_plain(
    model_dir, inputs, tmp_path, capsys):
  # The shipped jazz model: an untrained one's odds are so even that a melody heard
  # first moves them too little to change a draw.
  texts = {}
  for label, extra in (('plain', []), ('like', [f'--like={inputs["midi"]}']),
                       ('like-abc', [f'--like={inputs["abc"]}', '--like_tune=2'])):
    out = str(tmp_path / label)
    status, stdout, stderr = run_program(restyle, [
        f'--input={inputs["abc"]}', '--to=jazz', '--seed=5', f'--swing={JAZZ_SWING}',
        f'--out={out}', '--synthesizer=pluck'] + extra, capsys)
    assert status == 0, stderr
    assert (', like ' in stdout) == bool(extra)
    check_outputs(files_of(out, 'pickup-jig.jazz'), fixtures.JIG_PITCHES, '6/8',
                  Fraction(5, 2), JAZZ_SWING)
    with open(os.path.join(out, 'pickup-jig.jazz.abc')) as f:
      texts[label] = f.read()
  # The duration head heard another melody first, so it drew another rhythm. The tiny
  # model is untrained: its near-even odds may leave one draw as it was, not both.
  assert texts['like'] != texts['plain'] and texts['like-abc'] != texts['plain']
  status, _, stderr = run_program(restyle, [
      f'--input={inputs["abc"]}', '--to=jazz', f'--like={inputs["missing"]}',
      f'--models_dir={model_dir}', f'--out={tmp_path}'], capsys)
  assert status == 1 and stderr.count('\n') == 1 and 'missing.abc: no such file' in stderr


@pytest.mark.parametrize('source', ['musicxml', 'midi'])
def test_restyle_score_files(model_dir, inputs, tmp_path, capsys, source):
  out = str(tmp_path)
  status, _, stderr = run_program(restyle, [
      f'--input={inputs[source]}', '--to=folk', f'--models_dir={model_dir}', f'--out={out}'],
      capsys)
  assert status == 0, stderr
  stem = [n for n in os.listdir(out) if n.endswith('.folk.abc')][0][:-len('.abc')]
  check_outputs(files_of(out, stem), fixtures.SCORE_PITCHES, '3/4', Fraction(0))
  if source == 'musicxml':  # the fixture has a chord: reduced to its top line, with a warning
    assert len(stderr.strip().splitlines()) == 1
    assert 'polyphonic' in stderr and 'top line' in stderr
  else:
    assert stderr == ''


def test_restyle_chooses_tune_by_title_and_warns_on_polyphony(model_dir, inputs, tmp_path,
                                                              capsys):
  out = str(tmp_path)
  status, _, stderr = run_program(restyle, [
      f'--input={inputs["abc"]}', '--tune=double', '--to=jazz', f'--models_dir={model_dir}',
      f'--out={out}', '--synthesizer=pluck'], capsys)
  assert status == 0
  assert stderr.startswith('warning:') and len(stderr.strip().splitlines()) == 1
  assert read_back(os.path.join(out, 'double-stops.jazz.abc')).pitches == (
      fixtures.DOUBLE_STOP_PITCHES)


BAD_RESTYLE = [
    ('missing', [], 'no such file'),
    ('empty_abc', [], 'empty'),
    ('empty_midi', [], 'empty'),
    ('garbage', [], 'cannot be parsed'),
    ('text', [], 'unknown melody format'),
    ('abc', ['--tune=3'], 'no pitched notes'),
    ('abc', ['--tune=9'], 'there is no tune 9'),
    ('abc', ['--tune=Reel of Nowhere'], "no tune is titled 'Reel of Nowhere'"),
    ('abc', ['--to=rock'], "unknown genre 'rock'"),
    ('abc', ['--from=polka'], "unknown genre 'polka'"),
    ('abc', ['--strength=1.5'], '--strength must be in [0, 1], got 1.5'),
    ('abc', ['--strength=-0.1'], '--strength must be in [0, 1], got -0.1'),
    ('abc', ['--top_p=0'], '--top_p must be in (0, 1]'),
    ('musicxml', ['--tune=2'], 'is chosen among the tunes of an ABC file'),
]


@pytest.mark.parametrize('source,args,message', BAD_RESTYLE,
                         ids=[f'{s}{"".join(a)}' for s, a, _ in BAD_RESTYLE])
def test_restyle_bad_input_one_line(model_dir, inputs, tmp_path, capsys, source, args,
                                    message):
  arguments = [f'--input={inputs[source]}', '--to=jazz', f'--models_dir={model_dir}',
               f'--out={tmp_path}'] + args
  status, stdout, stderr = run_program(restyle, arguments, capsys)
  assert status == 1
  lines = stderr.strip().splitlines()
  assert len(lines) == 1, stderr
  assert lines[0].startswith('stylexfer-restyle: error: ')
  assert message in lines[0]
  assert stdout == ''


def test_missing_models_say_how_to_get_them(inputs, tmp_path, capsys, monkeypatch):
  monkeypatch.setattr(loading, 'PRETRAINED_DIR', str(tmp_path / 'none'))
  status, _, stderr = run_program(restyle, [f'--input={inputs["abc"]}', '--to=jazz'],
                                  capsys)
  assert status == 1 and len(stderr.strip().splitlines()) == 1
  assert 'no pretrained' in stderr and 'stylexfer-export' in stderr
  status, _, stderr = run_program(restyle, [f'--input={inputs["abc"]}', '--to=jazz',
                                            f'--models_dir={tmp_path}'], capsys)
  assert status == 1 and len(stderr.strip().splitlines()) == 1
  assert f"no 'jazz' model in {tmp_path}" in stderr


def test_programs_run_as_modules_without_traceback(inputs, tmp_path):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  for module, args, message in [
      ('stylexfer.programs.restyle', [f'--input={inputs["missing"]}', '--to=jazz'], 'no such file'),
      # Said before TensorFlow starts (and prints its notices), like a missing file.
      ('stylexfer.programs.restyle', [f'--input={inputs["abc"]}', '--tune=9', '--to=jazz'],
       'there is no tune 9'),
      ('stylexfer.programs.generate', ['--genre=rock'], "unknown genre 'rock'")]:
    done = subprocess.run([sys.executable, '-m', module] + args, capture_output=True,
                          text=True, cwd=str(tmp_path), env=env, timeout=120)
    assert done.returncode == 1
    assert 'Traceback' not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert message in done.stderr


def test_restyle_as_a_command_prints_everything_and_leaves_no_process_behind(tmp_path):
  # The program ends with os._exit once its outputs are written (common.run_then_exit):
  # its lines must still come out, and the forked writer must have ended, or the pipes
  # it holds would keep this call waiting.
  reel = os.path.join(os.path.dirname(restyle.__file__), '..', 'examples',
                      'the_stylexfer_reel.abc')
  buffered = {k: v for k, v in os.environ.items() if k != 'PYTHONUNBUFFERED'}
  done = subprocess.run([sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={reel}',
                         '--to=jazz', '--from=folk', f'--out={tmp_path}'],
                        capture_output=True, text=True, timeout=300, env=buffered)
  assert done.returncode == 0, done.stderr[-2000:]
  lines = done.stdout.splitlines()
  assert lines[0].startswith('The Stylexfer Reel: ') and 'restyled to jazz' in lines[0]
  # How far the rhythm moved, and which genre each rhythm is heard as, said in words.
  assert lines[1].startswith("rhythm, mean log-probability per note under each genre's")
  assert re.match(r'\s+before\s+-\d+\.\d+\s+-\d+\.\d+\s+[-+]\d+\.\d+\s+heard as (folk|jazz)$',
                  lines[3]), lines[3]
  assert lines[5].startswith('A rhythm is heard as the genre whose head')
  assert lines[-2].startswith('before: ') and lines[-1].startswith('jazz: ')
  written = lines[-2].split()[1:] + lines[-1].split()[1:]
  assert len(written) == 12 and sorted(written) == sorted(str(p) for p in tmp_path.iterdir())


@pytest.mark.parametrize('genre,rhythm', [('folk', 'folk'), ('folk', 'jazz'),
                                          ('jazz', 'jazz'), ('jazz', 'folk')])
def test_generate_every_combination(model_dir, tmp_path, capsys, genre, rhythm):
  out = str(tmp_path)
  status, stdout, stderr = run_program(generate, [
      f'--genre={genre}', f'--rhythm={rhythm}', '--count=2', '--length=16', '--seed=5',
      f'--models_dir={model_dir}', f'--out={out}', '--synthesizer=pluck'], capsys)
  assert status == 0, stderr
  for n in (1, 2):
    files = files_of(out, f'{genre}-{rhythm}-5-{n}')
    pitches = read_back(files['abc']).pitches
    assert len(pitches) == 16
    assert all(client.LOWEST <= p <= client.HIGHEST for p in pitches)
    time_signature = read_back(files['musicxml']).time_signature
    assert time_signature == '4/4' if rhythm == 'jazz' else time_signature in ('4/4', '6/8')
    check_outputs(files, pitches, time_signature, Fraction(0),
                  JAZZ_SWING if rhythm == 'jazz' else 1.0)
  expected_models = os.path.join(model_dir, genre, '1')
  if rhythm != genre:
    expected_models += ' + ' + os.path.join(model_dir, rhythm, '1')
  assert f'models: {expected_models}' in stdout


def test_generate_same_seed_same_melody_with_or_without_a_merged_model(model_dir, tmp_path,
                                                                       capsys):
  merged_dir = str(tmp_path / 'models')
  shutil.copytree(model_dir, merged_dir)
  # A genre export has the signatures a merged export has: it stands in for one here.
  shutil.copytree(os.path.join(model_dir, 'folk'), os.path.join(merged_dir, 'folk_jazz'))
  texts = []
  for run, models in enumerate([merged_dir, merged_dir, model_dir]):
    out = str(tmp_path / f'out{run}')
    status, stdout, stderr = run_program(generate, [
        '--genre=folk', '--rhythm=jazz', '--length=12', '--seed=11', '--time_signature=3/4',
        f'--models_dir={models}', f'--out={out}', '--synthesizer=pluck'], capsys)
    assert status == 0, stderr
    # The pitch model draws, the rhythm model redraws in the drawn bars: one meaning.
    assert (f'models: {os.path.join(models, "folk", "1")} + '
            f'{os.path.join(models, "jazz", "1")}') in stdout
    with open(os.path.join(out, 'folk-jazz-11-1.abc')) as f:
      texts.append(f.read())
  assert texts[0] == texts[1] == texts[2] and 'M:3/4' in texts[0]


@pytest.mark.parametrize('args,message', [
    (['--genre=rock'], "unknown genre 'rock'"),
    (['--genre=folk', '--rhythm=disco'], "unknown genre 'disco'"),
    (['--genre=folk', '--count=0'], '--count must be in'),
    (['--genre=folk', '--length=0'], '--length must be in'),
    (['--genre=folk', '--temperature=0'], '--temperature must be a finite number >= 0.001'),
    (['--genre=folk', '--time_signature=x/y'], 'is not a time signature'),
    ([], 'no genre'),
])
def test_generate_bad_input_one_line(model_dir, tmp_path, capsys, args, message):
  status, _, stderr = run_program(
      generate, args + [f'--models_dir={model_dir}', f'--out={tmp_path}'], capsys)
  assert status == 1
  assert len(stderr.strip().splitlines()) == 1 and message in stderr
  assert stderr.startswith('stylexfer-generate: error: ')


def test_time_signature_follows_the_rhythm():
  jig = [Fraction(d) for d in fixtures.JIG_DURATIONS[1:]]  # from the downbeat
  assert client.choose_time_signature(True, jig) == '6/8'
  assert client.choose_time_signature(True, [Fraction(1)] * 8 + [Fraction(2)]) == '4/4'
  assert client.choose_time_signature(True, [Fraction(1, 2)] * 16) == '4/4'
  assert client.choose_time_signature(False, jig) == '4/4'


def test_find_model_takes_the_newest_version(model_dir, tmp_path):
  shutil.copytree(os.path.join(model_dir, 'jazz', '1'), str(tmp_path / 'jazz' / '2'))
  shutil.copytree(os.path.join(model_dir, 'jazz', '1'), str(tmp_path / 'jazz' / '10'))
  (tmp_path / 'jazz' / '11').mkdir()  # no saved_model.pb: not a version
  assert loading.find_model('jazz', str(tmp_path)) == str(tmp_path / 'jazz' / '10')
  assert loading.available(str(tmp_path)) == ['jazz']
  assert loading.find_merged('folk', 'jazz', str(tmp_path)) is None


def _processes_naming(marker):
  """Pids of the processes whose command line holds `marker`."""
  found = []
  for entry in os.listdir('/proc'):
    try:
      with open(f'/proc/{entry}/cmdline', 'rb') as f:
        if marker.encode() in f.read():
          found.append(int(entry))
    except (OSError, ValueError):
      continue
  return found


@pytest.mark.skipif(not os.path.isdir('/proc'), reason='reads /proc')
def test_a_restyle_killed_mid_run_leaves_no_process_of_it(tmp_path):
  # SIGTERM, as `timeout` or a supervisor sends it, reaches the program alone; its forked
  # writer (the same command line) must end with it.
  reel = os.path.join(os.path.dirname(restyle.__file__), '..', 'examples',
                      'the_stylexfer_reel.abc')
  out = tmp_path / 'killed'
  program = subprocess.Popen(
      [sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={reel}', '--to=jazz',
       f'--out={out}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 120
  while len(_processes_naming(str(out))) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)  # until the writer's copy is forked
  assert len(_processes_naming(str(out))) >= 2
  program.send_signal(signal.SIGTERM)
  program.wait(timeout=60)
  deadline = time.monotonic() + 30
  while _processes_naming(str(out)) and time.monotonic() < deadline:
    time.sleep(0.1)
  assert _processes_naming(str(out)) == []
