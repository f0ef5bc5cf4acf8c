"""Trains one genre's melody model, resuming a killed run from its last good checkpoint.

A run folder ends up holding:

  config.json          the resolved model and training configuration
  checkpoints/         model, optimizer and epoch counters after every epoch
  train/, validation/  TensorBoard summaries
  metrics.json         per-epoch losses, accuracies and throughput (tokens/s)
  best.weights.h5      weights of the epoch with the lowest validation loss
  model.keras          the final model (the best epoch's weights, or the last epoch's
                       when there is no validation data)

One custom training loop serves every distribution strategy. Keras 3 `fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585), so that strategy needs this loop
anyway; a second path through `fit` for the others would mean two checkpoint formats,
two resume paths and two ways of counting tokens, and a loss that `fit` averages per
replica rather than per token. The pieces are the task (stylexfer.training.task), the
checkpoints, the summaries and the best epoch, each in its own module.
"""

import math
import os
import shutil
import time

from absl import logging
import keras
import tensorflow as tf

from stylexfer.dataset import windows
from stylexfer.training import checkpoints as checkpoints_lib
from stylexfer.training import config as config_lib
from stylexfer.training import early_stopping
from stylexfer.training import files
from stylexfer.training import strategy as strategy_lib
from stylexfer.training import summaries as summaries_lib
from stylexfer.training import task as task_lib


def _batches(config, training, strategy, train_melodies, val_melodies, styles):
  # Without files to split, every worker reads all windows and keeps its share.
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  train_batches = windows.train_batches(
      windows.melody_windows(train_melodies, config.window, styles), training.batch_size,
      seed=training.seed, shuffle_buffer=training.shuffle_buffer).with_options(options)
  val_batches = None
  if val_melodies is not None:
    val_batches = strategy.experimental_distribute_dataset(windows.eval_batches(
        windows.melody_windows(val_melodies, config.window, styles),
        training.batch_size).with_options(options))
  return iter(strategy.experimental_distribute_dataset(train_batches)), val_batches


def _add(totals, sums):
  for key, value in sums.items():
    totals[key] = totals.get(key, 0.0) + float(value)


def train(config, train_melodies, val_melodies, run_dir,
          training=config_lib.TrainingConfig(), strategy=None, on_epoch_end=None,
          run_info=None, verbose=1, styles=None):
  """Trains a MelodyModel, resuming from run_dir's last checkpoint if there is one.

  Args:
    config: MelodyConfig of the model.
    train_melodies, val_melodies: datasets of melody records (dicts with int `intervals`
      and `durations`); val_melodies may be None (then no early stopping).
    run_dir: folder for the outputs listed in this module's docstring.
    training: TrainingConfig.
    strategy: a tf.distribute.Strategy; the default strategy when None.
    on_epoch_end: called as on_epoch_end(epoch, logs) after each epoch's checkpoint.
    run_info: extra JSON-able facts for config.json (data set, strategy name).
    verbose: 1 for a progress bar on the chief, 0 for none.
    styles: the genre's styles (stylexfer.tokens.conditions.Styles), `config.styles` of
      them; None: the melodies' styles are not heard.

  Returns:
    (model, metrics): the trained model and the contents of metrics.json.
  """
  strategy = strategy or tf.distribute.get_strategy()
  chief = strategy_lib.is_chief(strategy)
  write_dir = _open_run(run_dir, strategy, chief, config, training, run_info)
  keras.utils.set_random_seed(training.seed)

  num_windows = windows.count_windows(train_melodies, config.window)
  steps_per_epoch = training.steps_per_epoch or max(1, num_windows // training.batch_size)
  if len(styles.names if styles else ()) != config.styles:
    raise ValueError(f'the model hears {config.styles} styles, not {styles}')
  train_iterator, val_batches = _batches(config, training, strategy, train_melodies,
                                         val_melodies, styles)
  with strategy.scope():
    task = task_lib.Task(config, training, strategy, training.epochs * steps_per_epoch)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name='epoch')
    best = early_stopping.BestEpoch(run_dir, training.patience)
  checkpoints = checkpoints_lib.EpochCheckpoints(
      run_dir, write_dir, chief, model=task.model, optimizer=task.optimizer, epoch=epoch,
      best_epoch=best.epoch, best_val_loss=best.val_loss)
  latest = checkpoints.restore()
  if latest:
    logging.info('Resumed from %s after epoch %d.', latest, int(epoch.numpy()))

  metrics_path = os.path.join(run_dir, 'metrics.json')
  history = files.read_metrics(metrics_path, int(epoch.numpy())) if chief else []
  summaries = summaries_lib.Summaries(run_dir, chief)
  stopped_early = False

  def metrics():
    return {'epochs': history, 'completed_epochs': int(epoch.numpy()), **best.metrics(),
            'stopped_early': stopped_early, 'steps_per_epoch': steps_per_epoch,
            'train_windows': num_windows, 'num_replicas': strategy.num_replicas_in_sync}

  while int(epoch.numpy()) < training.epochs:
    if val_batches is not None and best.should_stop(int(epoch.numpy())):
      stopped_early = True
      logging.info('Stopping early: no better validation loss since epoch %d.',
                   int(best.epoch.numpy()))
      break
    current = int(epoch.numpy()) + 1
    if chief and verbose:
      print(f'Epoch {current}/{training.epochs}')
    logs = _train_epoch(task, train_iterator, steps_per_epoch, verbose if chief else 0,
                        current, checkpoints)

    if val_batches is not None:
      logs.update(_validate(task, val_batches))
    # Before anything of the epoch is kept: a NaN checkpoint would become the one a
    # resumed run starts from, and NaN weights the final model.
    _check_finite(task.model, current, logs, checkpoints)
    if val_batches is not None:
      best.update(current, logs['val_loss'], task.model, chief, checkpoints.keeps())

    epoch.assign(current)
    checkpoints.save(current, write_dir)
    if chief:
      history.append({'epoch': current, **logs})
      _write_epoch(run_dir, current, logs, metrics(), summaries)
    logging.info('Epoch %d: %s', current,
                 ', '.join(f'{key} {value:.4g}' for key, value in logs.items()))
    if on_epoch_end is not None:
      on_epoch_end(current, logs)

  if chief:
    _write_final(run_dir, config, task.model, metrics(), checkpoints.folder,
                 best.weights_path if val_batches is not None else None)
  else:
    shutil.rmtree(write_dir, ignore_errors=True)
  return task.model, metrics()


def _open_run(run_dir, strategy, chief, config, training, run_info):
  """Makes this worker's folder of the run (the chief writes config.json) and returns it."""
  write_dir = strategy_lib.write_dir(run_dir, strategy)
  if tf.io.gfile.exists(write_dir) and not tf.io.gfile.isdir(write_dir):
    raise files.TrainingError(f'cannot write to the run folder {write_dir}: it is a file')
  with files.writing(f'to the run folder {write_dir}'):
    tf.io.gfile.makedirs(write_dir)
    if chief:
      files.write_config(run_dir, config, training, {
          **(run_info or {}), 'num_replicas': strategy.num_replicas_in_sync})
  return write_dir


def _write_final(run_dir, config, model, metrics, checkpoint_folder, best_weights):
  """metrics.json and model.keras (the best epoch's weights where there was validation)."""
  keeps = f'the checkpoints in {checkpoint_folder} are kept'
  metrics_path = os.path.join(run_dir, 'metrics.json')
  with files.writing(metrics_path, keeps):
    files.write_json(metrics_path, metrics)
  final_path = os.path.join(run_dir, 'model.keras')
  with files.writing(final_path, keeps + ': free some space and run again to write it'):
    early_stopping.save_final(config, model, best_weights, final_path)


def _validate(task, val_batches):
  """The validation logs (`val_` names) of one pass over the validation batches."""
  totals = {}
  for features, targets in val_batches:
    _add(totals, task.eval_step(features, targets))
  return summaries_lib.summarize(totals, prefix='val_')


def _write_epoch(run_dir, current, logs, metrics, summaries):
  """metrics.json and the TensorBoard summaries after an epoch's checkpoint is saved."""
  keeps = f'the epoch {current} checkpoint is saved'
  metrics_path = os.path.join(run_dir, 'metrics.json')
  with files.writing(metrics_path, keeps):
    files.write_json(metrics_path, metrics)
  with files.writing(f'the summaries in {run_dir}', keeps):
    summaries.write(current, logs)


def _not_finite(what, epoch, checkpoints):
  latest = checkpoints.manager.latest_checkpoint
  kept = (f'the last good checkpoint, {latest}, is kept' if latest
          else 'no epoch was saved')
  return files.TrainingError(
      f'{what} in epoch {epoch}, so training stopped (a learning rate too high for this '
      f'model?): nothing of epoch {epoch} is saved; {kept}')


def _check_finite(model, epoch, logs, checkpoints):
  """Raises TrainingError where the epoch's losses or the model's weights are NaN or
  infinite.

  Keras's TerminateOnNaN watches only the loss, and only inside `fit`; the last step of
  an epoch can make the weights NaN with its loss still finite.
  """
  for key in ('loss', 'val_loss'):
    if key in logs and not math.isfinite(logs[key]):
      raise _not_finite(f'the {key} became {logs[key]}', epoch, checkpoints)
  for variable in model.trainable_variables:
    if not bool(tf.reduce_all(tf.math.is_finite(variable))):
      raise _not_finite(f'the weights of {variable.path} became NaN or infinite', epoch,
                        checkpoints)


def _train_epoch(task, train_iterator, steps_per_epoch, verbose, epoch, checkpoints):
  """One epoch of train steps with a progress bar; the epoch's logs.

  Stops at the first step whose loss is NaN or infinite (TrainingError): the steps
  after it would only spend time.
  """
  progress = keras.utils.Progbar(
      steps_per_epoch, verbose=verbose,
      stateful_metrics=['loss', 'pitch_accuracy', 'duration_accuracy'])
  totals = {}
  started = time.perf_counter()
  for step in range(steps_per_epoch):
    _add(totals, task.train_step(train_iterator))
    running = summaries_lib.summarize(totals)
    if not math.isfinite(running['loss']):
      raise _not_finite(f'the loss became {running["loss"]} at step {step + 1}', epoch,
                        checkpoints)
    progress.update(step + 1, [(key, running[key]) for key in progress.stateful_metrics])
  seconds = time.perf_counter() - started
  logs = summaries_lib.summarize(totals)
  # Tokens are the scored duration targets: every note plus END, padding excluded.
  logs['tokens_per_second'] = totals.get('duration_count', 0.0) / seconds
  logs['seconds'] = seconds
  logs['learning_rate'] = task.current_learning_rate()
  return logs
