"""The end-to-end pipeline on a small generated WJazzD-shaped corpus, with a tiny model.

Its genre is named `mine`: a genre of one's own restyles, generates and plays with what its
SavedModel holds, as the shipped ones do, with no code that names it.
"""

import csv
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

import fixtures
import stylexfer


FIRST_PITCHES = (58, 60, 62)


def _write_solos(path, solos=30, notes=48, seed=0):
  """WJazzD-shaped rows: swung 8ths and triplets on a 4/4 grid, enough for every split."""
  rng = np.random.default_rng(seed)
  with open(path, 'w', newline='') as f:
    writer = csv.DictWriter(f, fixtures.COLUMNS)
    writer.writeheader()
    for melid in range(1, solos + 1):
      pitch, beat_index = FIRST_PITCHES[melid % 3], 0.0
      for _ in range(notes):
        division = int(rng.choice([2, 3]))
        for tatum in range(1, division + 1):
          bar, beat = divmod(int(beat_index), 4)
          if beat_index or tatum > 1:  # the solo's first note keeps its first pitch
            pitch = int(np.clip(pitch + rng.integers(-4, 5), 50, 80))
          writer.writerow({
              'melid': melid, 'solo': f'Solo_{melid}', 'bar': bar, 'beat': beat + 1,
              'beatdur': 0.5, 'denom': 4, 'division': division, 'duration': 0.1, 'num': 4,
              'onset': (beat_index + (tatum - 1) / division) * 0.5, 'period': 4,
              'pitch': float(pitch), 'subtatum': 0, 'tatum': tatum, 'phrase_id': 1})
        beat_index += 1


def test_pipeline_builds_trains_exports_merges_and_evaluates(tmp_path):
  manual = tmp_path / 'corpora' / 'jazz-wjazzd'
  manual.mkdir(parents=True)
  _write_solos(str(manual / 'wjazzd_melody.csv'))
  work = tmp_path / 'work'
  result = subprocess.run(
      [sys.executable, '-m', 'stylexfer.programs.pipeline', f'--work_dir={work}',
       f'--manual_dir={tmp_path / "corpora"}', '--genres=mine,bop', '--datasets=jazz,jazz',
       '--preset=tiny', '--epochs=1'],
      capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('mine', 'bop', 'mine_bop', 'bop_mine'):
    assert os.path.isfile(work / 'models' / name / '1' / 'saved_model.pb'), name
  merged = tf.saved_model.load(str(work / 'models' / 'mine_bop' / '1'))
  out = merged.signatures['generate'](
      batch_size=tf.constant(2), length=tf.constant(8), temperature=tf.constant(1.0),
      top_p=tf.constant(1.0), seed=tf.constant(3, tf.int64), style=tf.constant(''),
      tempo=tf.constant(0.0))
  assert out['durations'].shape == (2, 8)
  table = (work / 'evaluation.md').read_text()
  assert '| mine | pitch |' in table and '| bop | duration |' in table
  assert (work / 'runs' / 'mine' / 'model.keras').is_file()
  _mine_restyles_and_generates(work / 'models', tmp_path)


def _mine_restyles_and_generates(models, tmp_path):
  # What the genre needs at run time was measured on its own melodies: their middle first
  # pitch, and no compound time in a corpus of 4/4 solos.
  mine = stylexfer.load('mine', models_dir=str(models))
  assert mine.traits.first_pitch == 60 and not mine.traits.compound_meter
  assert mine.swing == 1.0
  for melody in mine.generate(count=3, length=24, seed=1):
    assert melody.pitches[0] == 60 and melody.time_signature == '4/4'
    assert melody.title.startswith('Mine')
  tune = fixtures.write_abc(str(tmp_path))
  restyled = mine.restyle(stylexfer.read(tune))
  assert restyled.title.endswith('(mine)')
  # The program takes the genre by name from --models_dir, as it takes folk or jazz.
  out = tmp_path / 'restyled'
  result = subprocess.run(
      [sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={tune}', '--to=mine',
       f'--models_dir={models}', f'--out={out}'],
      capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'restyled to mine' in result.stdout, result.stdout
  assert {'.abc', '.mid', '.musicxml'} <= {p.suffix for p in out.iterdir()}
