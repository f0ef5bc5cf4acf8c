"""stylexfer.load / stylexfer.read from a folder outside the repository: the shipped
models restyle, generate, score and write; the merged and library paths agree; the
README's Python runs as written."""

import os
import re
import subprocess
import sys

from absl import flags
import numpy as np
import pytest

import stylexfer
from stylexfer.programs import generate
from stylexfer.serving import controls
from stylexfer.serving import merged

README = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, 'README.md')


@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
  """Every test here runs from a folder that is not the repository's."""
  monkeypatch.chdir(tmp_path)
  return tmp_path


@pytest.fixture(scope='module')
def shipped():
  return {genre: stylexfer.load(genre) for genre in ('folk', 'jazz')}


def test_load_by_name_path_and_version_folder(shipped):
  jazz = shipped['jazz']
  assert jazz.genre == 'jazz' and jazz.path.endswith(os.path.join('jazz', '1'))
  assert {'restyle_notes', 'generate_notes', 'serving_default'} <= set(jazz.signatures)
  for where in (jazz.path, os.path.dirname(jazz.path)):
    assert stylexfer.load(where).path == jazz.path
  with pytest.raises(Exception, match="unknown genre 'polka'"):
    stylexfer.load('polka')


def test_restyle_the_reel_keeps_what_it_says_and_writes_every_format(shipped, elsewhere):
  reel = stylexfer.read(stylexfer.REEL)
  restyled = shipped['jazz'].restyle(reel, seed=1)
  assert isinstance(restyled, stylexfer.Melody)
  assert restyled.pitches == reel.pitches and restyled.tempo == reel.tempo == 110
  assert restyled.title == 'The Stylexfer Reel (jazz)' and restyled.swing > 1
  assert restyled.durations() != reel.durations()
  assert restyled.form()[0].tolist() == reel.form()[0].tolist()  # every note in its bar
  files = restyled.write('out')
  assert sorted(files) == ['abc', 'mid', 'musicxml', 'png', 'svg', 'wav']
  assert all(os.path.isfile(path) and os.path.dirname(path) == 'out'
             for path in files.values())
  # Strength 0 keeps the rhythm; the same seed gives the same restyle.
  assert shipped['jazz'].restyle(reel, strength=0).durations() == reel.durations()
  assert shipped['jazz'].restyle(reel, seed=1) == restyled


def test_a_style_and_a_tempo_are_heard_and_named(shipped):
  reel, jazz = stylexfer.read(stylexfer.REEL), shipped['jazz']
  assert jazz.styles == ('swing', 'latin', 'twobeat')
  assert shipped['folk'].styles == ('reel', 'jig', 'hornpipe', 'slip jig', 'waltz')
  latin = jazz.restyle(reel, seed=1, style='latin')
  assert latin.title == 'The Stylexfer Reel (jazz, latin)'
  assert latin.durations() != jazz.restyle(reel, seed=1, style='swing').durations()
  assert jazz.restyle(reel, seed=1, style='Funk') == latin  # funk is played as latin
  # The tempo asked for is heard and written; the reel's own (110) is the default.
  slow = jazz.restyle(reel, seed=1, tempo=60)
  assert slow.tempo == 60
  assert slow.durations() != jazz.restyle(reel, seed=1, tempo=300).durations()
  assert jazz.restyle(reel, seed=1, tempo=110) == jazz.restyle(reel, seed=1)
  hornpipes = shipped['folk'].generate(count=1, length=24, style='hornpipe', tempo=90, seed=2)
  assert hornpipes[0].title.startswith('Folk (hornpipe)') and hornpipes[0].tempo == 90


@pytest.mark.parametrize('pitch,rhythm', [('folk', 'folk'), ('folk', 'jazz'),
                                          ('jazz', 'folk'), ('jazz', 'jazz')])
def test_generate_each_combination(shipped, pitch, rhythm):
  melodies = shipped[pitch].generate(count=2, length=24, rhythm=shipped[rhythm], seed=5)
  assert len(melodies) == 2 and all(len(m) == 24 for m in melodies)
  assert melodies[0].pitches != melodies[1].pitches
  assert melodies[0].title.startswith(pitch.capitalize())
  assert melodies[0].swing == shipped[rhythm].swing
  for melody in melodies:  # a generated tune ends at a bar line
    bar = float(melody.bar_lengths[-1])
    assert float(melody.end) % bar == 0


def test_score_gives_each_note_its_log_probability(shipped):
  reel = stylexfer.read(stylexfer.REEL)
  scores = shipped['folk'].score(reel)
  assert scores.pitch.shape == (len(reel) - 1,) and scores.rhythm.shape == (len(reel),)
  assert np.all(scores.rhythm <= 0) and np.all(np.isfinite(scores.pitch))
  # A folk reel's rhythm is likelier under the folk head than under the jazz head.
  assert scores.rhythm.mean() > shipped['jazz'].score(reel).rhythm.mean()


@pytest.mark.parametrize('request_, message', [
    (dict(strength=1.5), 'strength must be in [0, 1], got 1.5'),
    (dict(top_p=0.0), 'top_p must be in (0, 1], got 0.0'),
    (dict(temperature=float('nan')), 'temperature must be a finite number >= 0.001'),
    (dict(temperature=1e-12), 'temperature must be a finite number >= 0.001'),
    (dict(push=0.75), 'push must be in [0, 0.5] quarter notes'),
    (dict(structure='loose'), "structure must be one of bars, free, got 'loose'"),
    (dict(style='bebop'), "jazz: unknown style 'bebop': its styles (rhythm feels) are swing, "
     'latin, twobeat'),
    (dict(tempo=5), 'tempo must be between 20 and 400 quarter notes a minute, got 5'),
])
def test_a_bad_request_is_an_error_naming_the_knob(shipped, request_, message):
  with pytest.raises(controls.RequestError, match=re.escape(message)):
    shipped['jazz'].restyle(stylexfer.read(stylexfer.REEL), **request_)


def test_notebook_html_shows_the_score_and_a_player():
  html = stylexfer.read(stylexfer.REEL)._repr_html_()
  assert '<svg' in html and 'data:audio/mpeg;base64,' in html
  assert 'The Stylexfer Reel: 110 notes, 4/4' in html


@pytest.fixture(scope='module')
def tiny_models(tiny_genres, tmp_path_factory):
  """Untrained tiny folk and jazz exports and the merge of jazz tones with folk rhythm
  (a folk rhythm chooses between 4/4 and 6/8; tests/serving/test_merged.py has the
  other merge)."""
  folder = str(tmp_path_factory.mktemp('models'))
  for genre in ('folk', 'jazz'):  # linked: the merge below is this module's own
    os.symlink(os.path.join(tiny_genres, genre), os.path.join(folder, genre))
  merged.merge(os.path.join(folder, 'jazz', '1'), os.path.join(folder, 'folk', '1'), folder)
  return folder


@pytest.mark.slow
def test_a_merged_model_generates_what_the_two_models_do(tiny_models, elsewhere):
  """One meaning for a combination: the merge's own generate (in its graph) and the
  library with the two genres' models give the same melodies for the same seed."""
  merge = stylexfer.load('jazz_folk', models_dir=tiny_models)
  assert merge.merged and merge.rhythm_genre == 'folk'
  jazz = stylexfer.load('jazz', models_dir=tiny_models)
  folk = stylexfer.load('folk', models_dir=tiny_models)
  signatures = set()
  for seed in (0, 7):
    in_graph = merge.generate(count=4, length=48, seed=seed)
    assert in_graph == jazz.generate(count=4, length=48, rhythm=folk, seed=seed)
    signatures |= {m.time_signature for m in in_graph}
  assert signatures == {'4/4', '6/8'}, signatures  # chosen in the graph as in the library
  # The program writes the same with a merge in --models_dir or without.
  only_genres = elsewhere / 'only-genres'
  only_genres.mkdir()
  for genre in ('folk', 'jazz'):
    os.symlink(os.path.join(tiny_models, genre), only_genres / genre)
  written = []
  for models_dir in (tiny_models, str(only_genres)):
    flag_values = flags.FlagValues()
    generate.define_flags(flag_values)
    flag_values(['generate', '--genre=jazz', '--rhythm=folk', '--count=2', '--length=32',
                 '--seed=3', f'--models_dir={models_dir}', f'--out={models_dir}-out',
                 '--synthesizer=pluck'])
    assert generate.main(['generate'], flag_values) == 0
    written.append(open(f'{models_dir}-out/jazz-folk-3-2.abc').read())
  assert written[0] == written[1]


def _readme_python(studio=False):
  """README's Python blocks: those that call a running studio, or the others."""
  with open(README) as f:
    blocks = re.findall(r'```python\n(.*?)```', f.read(), re.S)
  return [block for block in blocks if ('http://127.0.0.1:8000' in block) == studio]


@pytest.mark.slow
@pytest.mark.parametrize('snippet', _readme_python(), ids=lambda s: s.split('\n')[0][:40])
def test_readme_python_runs_as_written_from_another_folder(snippet, elsewhere):
  run = subprocess.run([sys.executable, '-c', snippet], cwd=elsewhere, capture_output=True,
                       text=True, timeout=600)
  assert run.returncode == 0, run.stderr[-2000:]


def test_readme_has_python_to_run():
  assert len(_readme_python()) >= 2


def test_help_exits_0_and_lists_every_flag():
  for program in ('restyle', 'train'):
    run = subprocess.run([sys.executable, '-m', f'stylexfer.programs.{program}', '--help'],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '--seed' in run.stdout and '--helpfull' in run.stdout
    if program == 'restyle':
      for flag in ('--strength', '--tempo', '--models_dir',
                   "--top_p: Nucleus sampling mass, in (0, 1]. (default: '0.9')"):
        assert flag in run.stdout, flag
