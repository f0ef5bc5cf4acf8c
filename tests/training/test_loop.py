"""Tests of the training program: learning, resuming, and the distribution strategies."""

import dataclasses
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import types

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from stylexfer.model import melody_model
from stylexfer.dataset import windows
from stylexfer.training import config as config_lib
from stylexfer.training import files
from stylexfer.training import loop

REPO = pathlib.Path(__file__).resolve().parents[2]
TINY = melody_model.preset('tiny')
QUICK = config_lib.TrainingConfig(
    epochs=4, batch_size=8, learning_rate=1e-2, lr_schedule='constant', patience=0)


def _subprocess_env(**extra):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env.pop('TF_CONFIG', None)
  env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
  env.update(extra)
  return env


def _run_script(script, tmp_path, timeout=240, **env):
  path = tmp_path / 'script.py'
  path.write_text(textwrap.dedent(script))
  result = subprocess.run([sys.executable, str(path)], env=_subprocess_env(**env),
                          capture_output=True, text=True, timeout=timeout, check=False)
  assert result.returncode == 0, result.stderr[-5000:]
  return result


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _metrics(model_dir):
  return json.loads((model_dir / 'metrics.json').read_text())


def test_training_reduces_loss(tmp_path):
  melodies = windows.synthetic_melodies(24, seed=0, max_notes=120)
  model, metrics = loop.train(
      TINY, melodies, windows.synthetic_melodies(4, seed=1, max_notes=120), str(tmp_path),
      QUICK, verbose=0)
  losses = [entry['loss'] for entry in metrics['epochs']]
  assert len(losses) == 4
  assert losses[-1] < losses[0] - 0.5, losses
  assert metrics['epochs'][-1]['val_loss'] < metrics['epochs'][0]['val_loss']
  assert all(entry['tokens_per_second'] > 0 for entry in metrics['epochs'])
  assert metrics == _metrics(tmp_path)

  written = json.loads((tmp_path / 'config.json').read_text())
  assert melody_model.MelodyConfig(**written['model']) == TINY
  assert written['training']['batch_size'] == 8
  assert list((tmp_path / 'train').glob('events.out.tfevents.*'))
  final = keras.models.load_model(tmp_path / 'model.keras')
  assert final.melody_config == TINY
  # The final model is the epoch with the lowest validation loss: on a falling but noisy
  # validation loss, not necessarily the last one.
  val_losses = [entry['val_loss'] for entry in metrics['epochs']]
  assert metrics['best_epoch'] == 1 + int(np.argmin(val_losses))
  assert metrics['best_val_loss'] == pytest.approx(min(val_losses))
  best = melody_model.build_model(TINY)
  best.load_weights(tmp_path / 'best.weights.h5')
  for saved, kept in zip(final.get_weights(), best.get_weights()):
    np.testing.assert_allclose(saved, kept)
  same_as_last = all(np.allclose(saved, trained)
                     for saved, trained in zip(final.get_weights(), model.get_weights()))
  assert same_as_last == (metrics['best_epoch'] == len(losses))


def test_training_with_bfloat16_matmuls_reduces_loss(tmp_path):
  melodies = windows.synthetic_melodies(24, seed=0, max_notes=120)
  training = dataclasses.replace(QUICK, matmul_dtype='bfloat16')
  model, metrics = loop.train(
      TINY, melodies, windows.synthetic_melodies(4, seed=1, max_notes=120), str(tmp_path),
      training, verbose=0)
  losses = [entry['loss'] for entry in metrics['epochs']]
  assert losses[-1] < losses[0] - 0.5, losses
  assert metrics['epochs'][-1]['val_loss'] < metrics['epochs'][0]['val_loss']
  assert {layer.matmul_dtype for layer in model.pitch_lstms + model.duration_lstms} == {
      'bfloat16'}
  # The weights stay float32, and the setting is the run's, not the saved model's.
  assert {w.dtype for w in model.get_weights()} == {np.dtype('float32')}
  written = json.loads((tmp_path / 'config.json').read_text())
  assert written['training']['matmul_dtype'] == 'bfloat16'
  final = keras.models.load_model(tmp_path / 'model.keras')
  assert final.pitch_lstms[0].matmul_dtype == 'float32'


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
  melodies = windows.synthetic_melodies(12, seed=0, max_notes=80)
  val = windows.synthetic_melodies(2, seed=1, max_notes=80)

  class Killed(Exception):
    pass

  def kill_after_epoch_2(epoch, logs):
    del logs
    if epoch == 2:
      raise Killed

  with pytest.raises(Killed):
    loop.train(TINY, melodies, val, str(tmp_path), QUICK,
               on_epoch_end=kill_after_epoch_2, verbose=0)
  assert _metrics(tmp_path)['completed_epochs'] == 2
  assert not (tmp_path / 'model.keras').exists()

  epochs_run = []
  model, metrics = loop.train(
      TINY, melodies, val, str(tmp_path), QUICK,
      on_epoch_end=lambda epoch, logs: epochs_run.append(epoch), verbose=0)
  assert epochs_run == [3, 4]
  assert [entry['epoch'] for entry in metrics['epochs']] == [1, 2, 3, 4]
  assert metrics['completed_epochs'] == 4
  assert (tmp_path / 'model.keras').exists()
  del model

  # A finished run restarted trains no further.
  epochs_run.clear()
  loop.train(TINY, melodies, val, str(tmp_path), QUICK,
             on_epoch_end=lambda epoch, logs: epochs_run.append(epoch),
             verbose=0)
  assert not epochs_run


def test_a_model_dir_of_another_model_is_refused(tmp_path):
  melodies = windows.synthetic_melodies(4, seed=0, max_notes=40)
  one_epoch = config_lib.TrainingConfig(epochs=1, batch_size=4)
  loop.train(TINY, melodies, None, str(tmp_path), one_epoch, verbose=0)
  with pytest.raises(files.TrainingError,
                     match=f'{tmp_path}/config.json holds a run of another model '
                           r'\(lstm_units 16, not 8\).*another --run_dir'):
    loop.train(TINY.override(['lstm_units=8']), melodies, None,
               str(tmp_path), one_epoch, verbose=0)


def test_early_stopping_when_validation_loss_stops_falling(tmp_path):
  # A learning rate of zero leaves the validation loss exactly where it was.
  frozen = config_lib.TrainingConfig(
      epochs=5, batch_size=8, learning_rate=0.0, lr_schedule='constant', patience=1)
  _, metrics = loop.train(
      TINY, windows.synthetic_melodies(8, max_notes=60),
      windows.synthetic_melodies(2, seed=1, max_notes=60), str(tmp_path), frozen,
      verbose=0)
  assert [entry['epoch'] for entry in metrics['epochs']] == [1, 2]
  assert metrics['stopped_early'] and metrics['best_epoch'] == 1


def test_load_split_asks_to_build_the_data_first(tmp_path, monkeypatch):
  # A stand-in builder: this tests the guard, not the melodies builder.
  class UnbuiltBuilder:
    data_dir = str(tmp_path)

    def is_prepared(self):
      return False

  # A stand-in data set module whose builder has the folk config.
  package = types.ModuleType('stylexfer_datasets')
  package.melodies = types.ModuleType('melodies')
  package.melodies.Builder = types.SimpleNamespace(builder_configs={'folk': None})
  requested = []
  monkeypatch.setitem(sys.modules, 'stylexfer_datasets', package)
  monkeypatch.setitem(sys.modules, 'stylexfer_datasets.melodies', package.melodies)
  monkeypatch.setattr(tfds, 'builder',
                      lambda name, data_dir: requested.append(name) or UnbuiltBuilder())
  with pytest.raises(windows.DataNotPreparedError, match='build the data first'):
    windows.load_split('folk', 'train', data_dir=str(tmp_path))
  assert requested == ['melodies/folk']
  # A user's corpus, which has no config, not built in the data folder either.
  with pytest.raises(windows.DataNotPreparedError, match='build it first'):
    windows.load_split('mine', 'train', data_dir=str(tmp_path))
  assert requested == ['melodies/folk']


@pytest.mark.slow
def test_command_line_trains_and_resumes(tmp_path):
  def run(epochs, matmul_dtype='float32'):
    return subprocess.run(
        [sys.executable, '-m', 'stylexfer.programs.train', '--synthetic=16', '--preset=tiny',
         '--override=lstm_units=12', f'--epochs={epochs}', '--batch_size=8',
         '--clipnorm=0.5', '--shuffle_buffer=100', f'--run_dir={tmp_path}',
         f'--matmul_dtype={matmul_dtype}'],
        env=_subprocess_env(), cwd=REPO, capture_output=True, text=True, timeout=240,
        check=False)

  result = run(1)
  assert result.returncode == 0, result.stderr[-5000:]
  written = json.loads((tmp_path / 'config.json').read_text())
  assert written['model']['lstm_units'] == 12
  assert written['dataset'] == 'synthetic:16'
  # Every training setting is a flag, and the run records the settings it resolved.
  assert written['training']['clipnorm'] == 0.5
  assert written['training']['shuffle_buffer'] == 100
  assert written['training']['batch_size'] == 8
  assert written['threads']['inter_op'] == 2  # CPUs alone: the heads' ops side by side
  # Resumed with bfloat16 matmuls: the checkpoint holds float32 weights either way.
  result = run(2, 'bfloat16')
  assert result.returncode == 0, result.stderr[-5000:]
  assert 'Resumed from' in result.stderr
  assert json.loads((tmp_path / 'config.json').read_text())['training']['matmul_dtype'] == (
      'bfloat16')
  assert [entry['epoch'] for entry in _metrics(tmp_path)['epochs']] == [1, 2]
  assert (tmp_path / 'model.keras').exists()


def test_training_on_cpus_alone_runs_two_ops_of_half_the_cores(tmp_path):
  # Thread pools are sized before TensorFlow starts: a fresh process for each.
  _run_script("""
      import os
      import tensorflow as tf
      from stylexfer.training import strategy as strategy_lib
      assert not tf.config.list_physical_devices('GPU')
      half = max(1, len(os.sched_getaffinity(0)) // 2)
      assert strategy_lib.set_threads() == (half, 2)
      assert tf.config.threading.get_intra_op_parallelism_threads() == half
      assert tf.config.threading.get_inter_op_parallelism_threads() == 2
  """, tmp_path)
  _run_script("""
      import tensorflow as tf
      from stylexfer.training import strategy as strategy_lib
      assert strategy_lib.set_threads(3, 1) == (3, 1)  # asked for: kept
      assert tf.config.threading.get_intra_op_parallelism_threads() == 3
      assert tf.config.threading.get_inter_op_parallelism_threads() == 1
      tf.constant(1.0) + 1.0  # TensorFlow starts with these pools
  """, tmp_path)


@pytest.mark.slow
def test_mirrored_replicas_stay_in_sync(tmp_path):
  # Logical CPU devices must be set up before TensorFlow starts: a fresh process.
  _run_script(f"""
      from stylexfer.model import melody_model
      from stylexfer.training import config as config_lib
      from stylexfer.training import loop
      from stylexfer.training import strategy as strategy_lib
      from stylexfer.dataset import windows
      strategy_lib.split_cpu(2)
      strategy = strategy_lib.make_strategy('mirrored')
      assert strategy.num_replicas_in_sync == 2
      model, metrics = loop.train(
          melody_model.preset('tiny'), windows.synthetic_melodies(16, max_notes=100),
          windows.synthetic_melodies(3, seed=1, max_notes=100), {str(tmp_path)!r},
          config_lib.TrainingConfig(epochs=2, batch_size=8), strategy=strategy,
          verbose=0)
      assert metrics['num_replicas'] == 2
      assert metrics['epochs'][-1]['loss'] < metrics['epochs'][0]['loss']
      for variable in model.weights:
        first, second = variable.value.values
        assert 'CPU:0' in first.device and 'CPU:1' in second.device, variable.path
        assert (first.numpy() == second.numpy()).all(), variable.path
      """, tmp_path)
  assert (tmp_path / 'model.keras').exists()


@pytest.mark.slow
def test_multi_worker_mirrored_on_two_local_workers(tmp_path):
  ports = [_free_port(), _free_port()]
  script = tmp_path / 'worker.py'
  script.write_text(textwrap.dedent(f"""
      import sys
      import numpy as np
      from stylexfer.model import melody_model
      from stylexfer.training import config as config_lib
      from stylexfer.training import loop
      from stylexfer.training import strategy as strategy_lib
      from stylexfer.dataset import windows
      strategy = strategy_lib.make_strategy('multi_worker_mirrored')
      model, metrics = loop.train(
          melody_model.preset('tiny'), windows.synthetic_melodies(16, max_notes=100),
          windows.synthetic_melodies(3, seed=1, max_notes=100), {str(tmp_path / 'run')!r},
          config_lib.TrainingConfig(epochs=2, batch_size=8), strategy=strategy,
          verbose=0)
      np.savez(sys.argv[1], *model.get_weights())
      """))
  workers = []
  for index in range(2):
    tf_config = {'cluster': {'worker': [f'localhost:{port}' for port in ports]},
                 'task': {'type': 'worker', 'index': index}}
    workers.append(subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / f'weights_{index}.npz')],
        env=_subprocess_env(TF_CONFIG=json.dumps(tf_config)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  try:
    for worker in workers:
      _, stderr = worker.communicate(timeout=300)
      assert worker.returncode == 0, stderr[-5000:]
  finally:
    for worker in workers:
      if worker.poll() is None:
        worker.kill()

  weights = [np.load(tmp_path / f'weights_{index}.npz') for index in range(2)]
  assert weights[0].files == weights[1].files
  for name in weights[0].files:
    np.testing.assert_array_equal(weights[0][name], weights[1][name])
  metrics = _metrics(tmp_path / 'run')
  assert metrics['num_replicas'] == 2 and metrics['completed_epochs'] == 2
  assert (tmp_path / 'run' / 'model.keras').exists()
  assert not list((tmp_path / 'run').glob('.worker_*'))  # scratch of worker 1 removed
