"""Runs notebooks/restyle.ipynb headless against a tiny exported model and a fixture tune,
from a folder outside the repository, and checks it restyles as stylexfer-restyle does."""

import os
import subprocess
import sys

import pytest

import fixtures

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, 'notebooks', 'restyle.ipynb')


def test_notebook_shows_scores_and_players_and_restyles_as_the_program(tiny_genres, tmp_path,
                                                                       monkeypatch):
  tune = fixtures.write_abc(str(tmp_path))
  for name, value in {'MODELS_DIR': tiny_genres, 'INPUT': tune, 'TUNE': 'Pickup Jig',
                      'TO': 'jazz', 'SEED': '3', 'OUT': str(tmp_path / 'out')}.items():
    monkeypatch.setenv(f'STYLEXFER_{name}', value)
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  nbclient.NotebookClient(notebook, timeout=300, kernel_name='python3',
                          resources={'metadata': {'path': str(tmp_path)}}).execute()

  outputs = [o for cell in notebook.cells if cell.cell_type == 'code'
             for o in cell.get('outputs', [])]
  assert not [o for o in outputs if o.get('output_type') == 'error']
  shown = [o['data']['text/html'] for o in outputs if 'text/html' in o.get('data', {})]
  assert len(shown) == 2  # the melody before and after
  for html in shown:
    assert '<svg' in html and '<audio controls src="data:audio/mpeg;base64,' in html
  assert 'Pickup Jig (jazz)' in shown[1]
  # Nothing on stderr: TensorFlow's start-up notices are kept out of the cells.
  assert not [o for o in outputs if o.get('name') == 'stderr'], outputs
  written = tmp_path / 'out' / 'pickup-jig-jazz.abc'
  assert written.is_file() and (tmp_path / 'out' / 'pickup-jig-jazz.wav').is_file()

  # The program with the same model, tune and seed, and its defaults for the rest.
  subprocess.run([sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={tune}',
                  '--tune=Pickup Jig', '--to=jazz', '--seed=3',
                  f'--models_dir={tiny_genres}', f'--out={tmp_path / "cli"}'],
                 check=True, cwd=tmp_path, capture_output=True)
  assert written.read_text() == (tmp_path / 'cli' / 'pickup-jig.jazz.abc').read_text()
