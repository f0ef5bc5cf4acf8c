"""Runs notebooks/restyle.ipynb headless against a tiny exported model and a fixture tune."""

import os

import keras
import pytest

import fixtures
from stylexfer.model import melody_model
from stylexfer.serving import genre as genre_lib

nbformat = pytest.importorskip('nbformat')
nbclient = pytest.importorskip('nbclient')
pytest.importorskip('ipykernel')

NOTEBOOK = os.path.join(os.path.dirname(__file__), os.pardir, 'notebooks', 'restyle.ipynb')


def test_notebook_restyles_and_shows_score_and_audio(tmp_path, monkeypatch):
  keras.utils.set_random_seed(0)
  genre_lib.export(melody_model.build_model(melody_model.preset('tiny')), 'jazz',
                   str(tmp_path / 'm'))
  tune = fixtures.write_abc(str(tmp_path))
  for name, value in {'MODELS_DIR': str(tmp_path / 'm'), 'INPUT': tune, 'TUNE': 'Pickup Jig',
                      'TO': 'jazz', 'SEED': '3', 'OUT': str(tmp_path / 'out')}.items():
    monkeypatch.setenv(f'STYLEXFER_{name}', value)
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  nbclient.NotebookClient(notebook, timeout=300, kernel_name='python3',
                          resources={'metadata': {'path': str(tmp_path)}}).execute()

  outputs = [o for cell in notebook.cells if cell.cell_type == 'code'
             for o in cell.get('outputs', [])]
  assert not [o for o in outputs if o.get('output_type') == 'error']
  svgs = [o for o in outputs if 'image/svg+xml' in o.get('data', {})]
  audios = [o for o in outputs if '<audio' in o.get('data', {}).get('text/html', '')]
  assert len(svgs) == 2 and len(audios) == 2  # before and after
  assert os.path.isfile(tmp_path / 'out' / 'jazz.wav')
  assert os.path.isfile(tmp_path / 'out' / 'jazz.abc')
