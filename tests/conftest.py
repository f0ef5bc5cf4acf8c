"""Fixtures shared by the export and merge tests: tiny models and a TensorFlow-only Python."""

import dataclasses
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from stylexfer.model import melody_model

# Calls signatures of a SavedModel in a fresh interpreter that imports tensorflow alone,
# as TF Serving or a Colab without this package would: requests and results are .npz
# files keyed '<signature>/<tensor>'.
_FRESH_SCRIPT = textwrap.dedent('''\
    import collections
    import sys

    import numpy as np
    import tensorflow as tf

    saved_model, requests_file, outputs_file = sys.argv[1:]
    loaded = tf.saved_model.load(saved_model)
    requests = collections.defaultdict(dict)
    with np.load(requests_file) as stored:
      for key in stored.files:
        signature, name = key.split('/')
        requests[signature][name] = tf.constant(stored[key])
    outputs = {}
    for signature, inputs in requests.items():
      for name, value in loaded.signatures[signature](**inputs).items():
        value = value.numpy()
        # Strings come back as an object array, which np.load would refuse.
        outputs[f'{signature}/{name}'] = value.astype(bytes) if value.dtype == object else value
    ours = sorted(m for m in sys.modules if m.split('.')[0] == 'stylexfer')
    if ours:
      sys.exit(f'the fresh interpreter imported {ours}')
    np.savez(outputs_file, **outputs)
''')


def _tiny_model(seed, styles=0):
  keras.utils.set_random_seed(seed)
  return melody_model.build_model(
      dataclasses.replace(melody_model.preset('tiny'), styles=styles))


@pytest.fixture(scope='session')
def tiny_model():
  """A function (seed, styles=0) -> untrained `tiny` MelodyModel hearing that many styles,
  whose weights depend only on its arguments."""
  return _tiny_model


@pytest.fixture(scope='session')
def tiny_genres(tmp_path_factory):
  """A models folder of untrained tiny folk (seed 0) and jazz (seed 1) SavedModels under
  <dir>/<genre>/1/, with the shipped genres' traits. Shared by every test module that only
  reads it: an export takes 10 to 20 s. A test that adds models copies or links it."""
  import fixtures  # pylint: disable=g-import-not-at-top
  from stylexfer.serving import genre as genre_lib  # pylint: disable=g-import-not-at-top
  folder = tmp_path_factory.mktemp('tiny_genres')
  for seed, genre in enumerate(('folk', 'jazz')):
    traits = fixtures.TRAITS[genre]
    genre_lib.export(_tiny_model(seed, len(traits.styles)), genre, str(folder), traits=traits)
  return str(folder)


def _as_npz(requests):
  return {f'{signature}/{name}': np.asarray(value)
          for signature, inputs in requests.items() for name, value in inputs.items()}


@pytest.fixture(scope='module')
def fresh_tensorflow(tmp_path_factory):
  """A function (saved_model, requests) -> outputs that runs in a fresh TF-only Python.

  `requests` maps signature names to dicts of numpy inputs (their dtypes are the
  signature's); outputs come back as {signature: {name: numpy array}}.
  """
  folder = tmp_path_factory.mktemp('fresh')
  script = folder / 'call_signatures.py'
  script.write_text(_FRESH_SCRIPT)

  def call(saved_model, requests):
    requests_file, outputs_file = folder / 'requests.npz', folder / 'outputs.npz'
    np.savez(requests_file, **_as_npz(requests))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    done = subprocess.run(
        [sys.executable, str(script), str(saved_model), str(requests_file),
         str(outputs_file)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = {}
    with np.load(outputs_file) as stored:
      for key in stored.files:
        signature, name = key.split('/')
        outputs.setdefault(signature, {})[name] = stored[key]
    return outputs

  return call


@pytest.fixture(scope='session')
def saved_model_cli():
  """Path of the saved_model_cli that belongs to this Python."""
  return os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')


@pytest.fixture
def saved_model_cli_run(saved_model_cli, tmp_path):
  """Calls a signature through `saved_model_cli run`; returns {output name: array}.

  The inputs are scalars (as the generate signatures take), passed as --input_exprs.
  """
  def run(saved_model, signature, inputs):
    exprs = ';'.join(f'{name}={value.item()!r}' for name, value in inputs.items())
    out = tmp_path / f'cli_{signature}'
    subprocess.run([saved_model_cli, 'run', '--dir', str(saved_model), '--tag_set', 'serve',
                    '--signature_def', signature, '--input_exprs', exprs,
                    '--outdir', str(out)], capture_output=True, check=True)
    return {path.stem: np.load(path) for path in out.glob('*.npy')}
  return run
