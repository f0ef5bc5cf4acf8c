"""Trains one genre's melody model: python -m stylexfer.train --dataset=folk --model_dir=DIR.

A killed run restarted with the same flags resumes from its last epoch checkpoint. The
model directory ends up holding:

  config.json          the resolved model and training configuration
  checkpoints/         model, optimizer and epoch counter after every epoch
  train/, validation/  TensorBoard summaries
  metrics.json         per-epoch losses, accuracies and throughput (tokens/s)
  best.weights.h5      weights of the epoch with the lowest validation loss
  model.keras          the final model (the best epoch's weights, or the last epoch's
                       when there is no validation data)
  articulation.json    where the genre rests: the sounding length of each duration
                       (stylexfer.articulation), which the export writes back as rests

One custom training loop serves every distribution strategy. Keras 3 `fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585), so that strategy needs this loop
anyway; a second path through `fit` for the others would mean two checkpoint formats,
two resume paths and two ways of counting tokens, and a loss that `fit` averages per
replica rather than per token.
"""

import contextlib
import dataclasses
import io
import json
import math
import os
import re
import shutil
import sys
import time
import zipfile

from absl import app
from absl import flags
from absl import logging
import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2
import tensorflow_datasets as tfds

from stylexfer import articulation
from stylexfer import model as melody_model
from stylexfer import windows

FLAGS = flags.FLAGS
PROGRAM = 'stylexfer-train'
STRATEGIES = ('one_device', 'mirrored', 'multi_worker_mirrored', 'tpu')
HEADS = ('pitch', 'duration')


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
  """How to train: the values behind the command-line flags of the same names."""
  epochs: int = 30
  batch_size: int = 64           # global: split across replicas
  learning_rate: float = 1e-3
  lr_schedule: str = 'cosine'    # constant | cosine
  seed: int = 0
  patience: int = 5              # epochs without a better validation loss; 0: never stop
  steps_per_epoch: int = 0       # 0: one pass over the training windows
  clipnorm: float = 1.0          # LSTM gradients spike on long windows
  shuffle_buffer: int = 10_000


def define_flags():
  """Defines the command-line flags; every one is optional so tests can skip them."""
  flags.DEFINE_string('dataset', 'folk', 'Corpus config of the melodies data set: '
                      'folk_oneills, folk or jazz.')
  flags.DEFINE_string('data_dir', None, 'TFDS data folder holding the built melodies.')
  flags.DEFINE_string('model_dir', None, 'Where checkpoints, summaries, metrics and the '
                      'final model go; a run restarted here resumes.')
  flags.DEFINE_enum('preset', 'default', sorted(melody_model.PRESETS), 'Model size.')
  flags.DEFINE_multi_string('override', [], 'key=value overriding a field of the preset '
                            '(embedding_width, lstm_units, lstm_layers, dropout, window).')
  defaults = TrainingConfig()
  flags.DEFINE_integer('epochs', defaults.epochs, 'Epochs to train in all (a resumed run '
                       'counts the epochs already done).')
  flags.DEFINE_integer('batch_size', defaults.batch_size, 'Global batch size in windows.')
  flags.DEFINE_float('learning_rate', defaults.learning_rate, 'Adam learning rate.')
  flags.DEFINE_enum('lr_schedule', defaults.lr_schedule, ['constant', 'cosine'],
                    'Learning rate schedule over all epochs.')
  flags.DEFINE_integer('seed', defaults.seed, 'Seed for initial weights and shuffling.')
  flags.DEFINE_integer('patience', defaults.patience, 'Stop after this many epochs '
                       'without a lower validation loss; 0 never stops early.')
  flags.DEFINE_integer('steps_per_epoch', defaults.steps_per_epoch, 'Steps per epoch; '
                       '0 makes an epoch one pass over the training windows.')
  flags.DEFINE_enum('distribution_strategy', 'one_device', STRATEGIES,
                    'tf.distribute strategy; multi_worker_mirrored reads TF_CONFIG.')
  flags.DEFINE_string('tpu', '', 'TPU address (grpc://...) or name, for --distribution_'
                      'strategy=tpu.')
  flags.DEFINE_integer('synthetic', 0, 'For tests and throughput runs: train on this many '
                       'synthetic melodies instead of --dataset.')
  flags.DEFINE_integer('cpu_devices', 0, 'For tests: split the CPU into this many logical '
                       'devices, so that mirrored runs on a machine without GPUs.')


def resolve_config(preset_name, overrides=()):
  """The MelodyConfig of a preset with `key=value` overrides applied."""
  return melody_model.preset(preset_name).override(overrides)


def make_strategy(name, tpu=''):
  """The tf.distribute strategy called `name` (one of STRATEGIES)."""
  if name == 'one_device':
    gpus = tf.config.list_logical_devices('GPU')
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else '/cpu:0')
  if name == 'mirrored':
    # Without GPUs, mirror over the logical CPU devices (see --cpu_devices).
    devices = (tf.config.list_logical_devices('GPU')
               or tf.config.list_logical_devices('CPU'))
    return tf.distribute.MirroredStrategy([device.name for device in devices])
  if name == 'multi_worker_mirrored':
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == 'tpu':
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f'unknown distribution strategy {name!r}; choose one of {STRATEGIES}')


def split_cpu(num_devices):
  """Splits the CPU into logical devices; must run before TensorFlow initializes."""
  cpu = tf.config.list_physical_devices('CPU')[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def _is_chief(strategy):
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == 'chief':
    return True
  has_chief = 'chief' in resolver.cluster_spec().as_dict()
  return resolver.task_type == 'worker' and resolver.task_id == 0 and not has_chief


def _write_dir(model_dir, strategy):
  """model_dir for the chief; a private scratch folder for the other workers.

  Every worker must write its checkpoints (they take part in the same collective
  operations), but only the chief's are kept.
  """
  if _is_chief(strategy):
    return model_dir
  resolver = strategy.cluster_resolver
  return os.path.join(model_dir, f'.worker_{resolver.task_type}_{resolver.task_id}')


def _learning_rate(training, total_steps):
  if training.lr_schedule == 'constant':
    return training.learning_rate
  if training.lr_schedule == 'cosine':
    return keras.optimizers.schedules.CosineDecay(
        training.learning_rate, decay_steps=max(1, total_steps), alpha=0.05)
  raise ValueError(f'unknown lr_schedule {training.lr_schedule!r}')


def _summarize(totals, prefix=''):
  """Per-token means of summed metrics; loss is the sum of both heads' losses."""
  logs = {}
  for head in HEADS:
    count = max(totals.get(f'{head}_count', 0.0), 1.0)
    logs[f'{prefix}{head}_loss'] = totals.get(f'{head}_loss', 0.0) / count
    logs[f'{prefix}{head}_accuracy'] = totals.get(f'{head}_correct', 0.0) / count
  logs[f'{prefix}loss'] = logs[f'{prefix}pitch_loss'] + logs[f'{prefix}duration_loss']
  return logs


def _scalar_summary(tag, value):
  """tf.summary.scalar without the tensorboard package, which TF no longer pulls in."""
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = 'scalars'
  tf.summary.write(tag, tf.constant(value, tf.float32), metadata=metadata)


class TrainingError(RuntimeError):
  """Training cannot go on (a model_dir that cannot be written, a full disk, no intact
  checkpoint); the message names the place and the reason, on one line."""


def _reason(error):
  """The reason of an OSError or a TensorFlow error in a few words."""
  if isinstance(error, OSError):
    return error.strerror or str(error)
  text = ' '.join(getattr(error, 'message', str(error)).split())
  # TensorFlow's file errors read '{{function_node ...}} /path/file; No space left on
  # device [Op:SaveV2]': the reason is after the last '; '.
  text = re.sub(r'\s*\[Op:\w+\]$', '', text).rsplit('; ', 1)[-1]
  return text or type(error).__name__


@contextlib.contextmanager
def _writing(what, keeps=None):
  """Turns a failed write (a full disk, no permission) into a TrainingError saying what
  could not be written, why, and what is kept."""
  try:
    yield
  except (OSError, tf.errors.OpError) as error:
    kept = f'; {keeps}' if keeps else ''
    raise TrainingError(f'cannot write {what}: {_reason(error)}{kept}') from error


def _write_atomically(path, data):
  """Writes bytes or text to a temporary name beside `path`, then renames it into place.

  A full disk or a kill leaves the old file (or none), never a truncated one; tf.io.gfile
  so that a model_dir on a cloud bucket works too.
  """
  temporary = f'{path}.partial-{os.getpid()}'
  try:
    with tf.io.gfile.GFile(temporary, 'wb' if isinstance(data, bytes) else 'w') as f:
      f.write(data)
    tf.io.gfile.rename(temporary, path, overwrite=True)
  except BaseException:
    with contextlib.suppress(tf.errors.OpError, OSError):
      tf.io.gfile.remove(temporary)
    raise


def _keras_bytes(model):
  """The model saved as a .keras archive, built in memory.

  Built in memory, HDF5 never meets a full disk: h5py that runs out of space mid-write
  can crash the process (a segmentation fault while it frees the failed file's objects),
  while the plain write of these bytes fails with an ordinary OSError.
  """
  # keras.saving.save_model wants a path; the function behind it also takes a file object.
  from keras.src.saving import saving_lib  # pylint: disable=g-import-not-at-top
  buffer = io.BytesIO()
  saving_lib.save_model(model, buffer)
  return buffer.getvalue()


def _weights_h5_bytes(model):
  """The model's weights as the bytes of a .weights.h5 file, built in memory.

  A .keras archive holds its weights as exactly such a file (model.weights.h5).
  """
  with zipfile.ZipFile(io.BytesIO(_keras_bytes(model))) as archive:
    return archive.read('model.weights.h5')


def _read_metrics(path, completed_epochs):
  if not tf.io.gfile.exists(path):
    return []
  try:
    with tf.io.gfile.GFile(path) as f:
      epochs = json.load(f).get('epochs', [])
  except (ValueError, AttributeError, tf.errors.OpError) as error:
    logging.warning('%s cannot be read (%s): its history of epochs starts again.', path,
                    error)
    return []
  # Epochs after the restored checkpoint were lost with the killed run.
  return [entry for entry in epochs if entry['epoch'] <= completed_epochs]


def _write_json(path, value):
  _write_atomically(path, json.dumps(value, indent=2, sort_keys=True))


def _checkpoints_newest_first(folder):
  """Path prefixes of the checkpoints in `folder` that have an index file, newest first.

  Found by listing the folder rather than from its `checkpoint` state file, which may be
  the file that is damaged.
  """
  found = []
  for index in tf.io.gfile.glob(os.path.join(folder, 'ckpt-*.index')):
    prefix = index[:-len('.index')]
    number = prefix.rsplit('-', 1)[-1]
    if number.isdigit():
      found.append((int(number), prefix))
  return [prefix for _, prefix in sorted(found, reverse=True)]


def _restore_latest_intact(checkpoint, folder):
  """Restores the newest checkpoint in `folder` that reads back whole; returns its path.

  A damaged newest checkpoint (a garbled, truncated, empty or missing data file, a garbled
  index) is skipped with a warning and the one before it is used, so a resumed run loses
  one epoch, not the run. Returns None when there is no checkpoint; raises TrainingError
  when there are some and none reads back.
  """
  failures = []
  for prefix in _checkpoints_newest_first(folder):
    try:
      checkpoint.restore(prefix).assert_existing_objects_matched()
    except Exception as error:  # pylint: disable=broad-except
      # TensorFlow reports damage as OpError, IndexError, ValueError or AssertionError.
      reason = ' '.join(str(error).split())[:200] or type(error).__name__
      logging.warning('Checkpoint %s is damaged and is skipped: %s', prefix, reason)
      failures.append(f'{os.path.basename(prefix)}: {reason}')
      continue
    if failures:
      logging.warning('Fell back to the checkpoint before the damaged one: %s (epoch %d).',
                      prefix, int(checkpoint.epoch.numpy()))
    return prefix
  if failures:
    raise TrainingError(f'no checkpoint in {folder} reads back ({"; ".join(failures)}): '
                        'move that folder away to start the run again')
  return None


def _repair_checkpoint_state(folder, restored):
  """Rewrites a `checkpoint` state file that is missing or does not parse.

  Without it CheckpointManager forgets the checkpoints on disk: they would never be
  cleaned up, and a later resume could not find the newest one.
  """
  state = os.path.join(folder, 'checkpoint')
  if tf.train.get_checkpoint_state(folder) is not None:
    return
  if tf.io.gfile.exists(state):
    logging.warning('%s is damaged; rewriting it to name %s.', state, restored)
  older = list(reversed(_checkpoints_newest_first(folder)))
  kept = older[:older.index(restored) + 1][-2:]
  # The CheckpointState text format as CheckpointManager writes it; it only ever deletes
  # checkpoints that have a timestamp.
  _write_atomically(state, ''.join(
      [f'model_checkpoint_path: "{os.path.basename(kept[-1])}"\n'] +
      [f'all_model_checkpoint_paths: "{os.path.basename(prefix)}"\n' for prefix in kept] +
      [f'all_model_checkpoint_timestamps: '
       f'{tf.io.gfile.stat(prefix + ".index").mtime_nsec / 1e9}\n' for prefix in kept]))


def _remove_partial_checkpoints(folder):
  """Removes what a failed save left: TensorFlow writes ckpt-N_temp/ before ckpt-N."""
  for partial in tf.io.gfile.glob(os.path.join(folder, 'ckpt-*_temp')):
    with contextlib.suppress(tf.errors.OpError, OSError):
      tf.io.gfile.rmtree(partial)


def _write_config(model_dir, config, training, run_info):
  """Writes config.json; refuses a model_dir that holds a model of another shape."""
  path = os.path.join(model_dir, 'config.json')
  resolved = {
      'model': dataclasses.asdict(config),
      'training': dataclasses.asdict(training),
      **(run_info or {}),
  }
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as f:
      previous = json.load(f)['model']
    if previous != resolved['model']:
      raise ValueError(f'{model_dir} holds a run with model config {previous}, not '
                       f'{resolved["model"]}: use another --model_dir')
  _write_json(path, resolved)


def train(config, train_melodies, val_melodies, model_dir, training=TrainingConfig(),
          strategy=None, on_epoch_end=None, run_info=None, verbose=1):
  """Trains a MelodyModel, resuming from model_dir's last checkpoint if there is one.

  Args:
    config: MelodyConfig of the model.
    train_melodies, val_melodies: datasets of melody records (dicts with int `intervals`
      and `durations`); val_melodies may be None (then no early stopping).
    model_dir: folder for the outputs listed in this module's docstring.
    training: TrainingConfig.
    strategy: a tf.distribute.Strategy; the default strategy when None.
    on_epoch_end: called as on_epoch_end(epoch, logs) after each epoch's checkpoint.
    run_info: extra JSON-able facts for config.json (data set, strategy name).
    verbose: 1 for a progress bar on the chief, 0 for none.

  Returns:
    (model, metrics): the trained model and the contents of metrics.json.
  """
  strategy = strategy or tf.distribute.get_strategy()
  chief = _is_chief(strategy)
  write_dir = _write_dir(model_dir, strategy)
  if tf.io.gfile.exists(write_dir) and not tf.io.gfile.isdir(write_dir):
    raise TrainingError(f'cannot write to the model folder {write_dir}: it is a file')
  with _writing(f'to the model folder {write_dir}'):
    tf.io.gfile.makedirs(write_dir)
    if chief:
      _write_config(model_dir, config, training, {
          **(run_info or {}), 'num_replicas': strategy.num_replicas_in_sync})
  keras.utils.set_random_seed(training.seed)

  num_windows = windows.count_windows(train_melodies, config.window)
  steps_per_epoch = training.steps_per_epoch or max(1, num_windows // training.batch_size)
  # Without files to split, every worker reads all windows and keeps its share.
  options = tf.data.Options()
  options.experimental_distribute.auto_shard_policy = (
      tf.data.experimental.AutoShardPolicy.DATA)
  train_batches = windows.train_batches(
      windows.melody_windows(train_melodies, config.window), training.batch_size,
      seed=training.seed, shuffle_buffer=training.shuffle_buffer).with_options(options)
  train_iterator = iter(strategy.experimental_distribute_dataset(train_batches))
  val_batches = None
  if val_melodies is not None:
    val_batches = strategy.experimental_distribute_dataset(windows.eval_batches(
        windows.melody_windows(val_melodies, config.window),
        training.batch_size).with_options(options))

  with strategy.scope():
    model = melody_model.build_model(config)
    # Keras clips each replica's share of the gradient before the replicas' sum, so with
    # several replicas the clip on the whole gradient is looser: a guard, not a tuning.
    optimizer = keras.optimizers.Adam(
        _learning_rate(training, training.epochs * steps_per_epoch),
        global_clipnorm=training.clipnorm or None)
    optimizer.build(model.trainable_variables)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name='epoch')
    best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name='best_epoch')
    best_val_loss = tf.Variable(math.inf, dtype=tf.float32, trainable=False,
                                name='best_val_loss')
  checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch,
                                   best_epoch=best_epoch, best_val_loss=best_val_loss)
  checkpoint_dir = os.path.join(model_dir, 'checkpoints')
  latest = _restore_latest_intact(checkpoint, checkpoint_dir)
  if latest:
    logging.info('Resumed from %s after epoch %d.', latest, int(epoch.numpy()))
    if chief:
      with _writing(f'the checkpoint state in {checkpoint_dir}'):
        _repair_checkpoint_state(checkpoint_dir, latest)
  # Two checkpoints, so that a damaged newest one costs one epoch (see above).
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(write_dir, 'checkpoints'), max_to_keep=2)

  def replica_train_step(features, targets):
    with tf.GradientTape() as tape:
      sums = melody_model.head_sums(targets, model(features, training=True))
      # Divide by the tokens of all replicas: the gradients are summed across replicas,
      # so the step follows the mean loss per token of the whole global batch.
      counts = tf.distribute.get_replica_context().all_reduce(
          tf.distribute.ReduceOp.SUM, [sums[f'{head}_count'] for head in HEADS])
      loss = tf.add_n([sums[f'{head}_loss'] / tf.maximum(count, 1.0)
                       for head, count in zip(HEADS, counts)])
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return sums

  def replica_eval_step(features, targets):
    return melody_model.head_sums(targets, model(features, training=False))

  def reduce_sums(per_replica):
    return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for key, value in per_replica.items()}

  @tf.function
  def train_step(iterator):
    features, targets = next(iterator)
    return reduce_sums(strategy.run(replica_train_step, args=(features, targets)))

  @tf.function
  def eval_step(features, targets):
    return reduce_sums(strategy.run(replica_eval_step, args=(features, targets)))

  metrics_path = os.path.join(model_dir, 'metrics.json')
  history = _read_metrics(metrics_path, int(epoch.numpy())) if chief else []
  writers = {
      split: (tf.summary.create_file_writer(os.path.join(model_dir, split)) if chief
              else tf.summary.create_noop_writer())
      for split in ('train', 'validation')
  }
  best_weights_path = os.path.join(model_dir, 'best.weights.h5')
  stopped_early = False

  def metrics():
    return {
        'epochs': history,
        'completed_epochs': int(epoch.numpy()),
        'best_epoch': int(best_epoch.numpy()),
        'best_val_loss': (float(best_val_loss.numpy())
                          if math.isfinite(best_val_loss.numpy()) else None),
        'stopped_early': stopped_early,
        'steps_per_epoch': steps_per_epoch,
        'train_windows': num_windows,
        'num_replicas': strategy.num_replicas_in_sync,
    }

  while int(epoch.numpy()) < training.epochs:
    if (val_batches is not None and training.patience
        and int(epoch.numpy() - best_epoch.numpy()) >= training.patience):
      stopped_early = True
      logging.info('Stopping early: no better validation loss since epoch %d.',
                   int(best_epoch.numpy()))
      break
    current = int(epoch.numpy()) + 1
    if chief and verbose:
      print(f'Epoch {current}/{training.epochs}')
    progress = keras.utils.Progbar(
        steps_per_epoch, verbose=verbose if chief else 0,
        stateful_metrics=['loss', 'pitch_accuracy', 'duration_accuracy'])
    totals = {}
    started = time.perf_counter()
    for step in range(steps_per_epoch):
      for key, value in train_step(train_iterator).items():
        totals[key] = totals.get(key, 0.0) + float(value)
      running = _summarize(totals)
      progress.update(step + 1, [(key, running[key]) for key in progress.stateful_metrics])
    seconds = time.perf_counter() - started
    logs = _summarize(totals)
    # Tokens are the scored duration targets: every note plus END, padding excluded.
    logs['tokens_per_second'] = totals.get('duration_count', 0.0) / seconds
    logs['seconds'] = seconds
    logs['learning_rate'] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    # What a failed write leaves: the last checkpoint saved whole.
    keeps = (f'the last good checkpoint, {manager.latest_checkpoint}, is kept: free some '
             'space and run again with the same flags to resume from it'
             if manager.latest_checkpoint else 'no epoch was saved yet')
    if val_batches is not None:
      val_totals = {}
      for features, targets in val_batches:
        for key, value in eval_step(features, targets).items():
          val_totals[key] = val_totals.get(key, 0.0) + float(value)
      logs.update(_summarize(val_totals, prefix='val_'))
      if logs['val_loss'] < best_val_loss.numpy():
        best_val_loss.assign(logs['val_loss'])
        best_epoch.assign(current)
        if chief:
          with _writing(best_weights_path, keeps):
            _write_atomically(best_weights_path, _weights_h5_bytes(model))

    epoch.assign(current)
    with _writing(f'the epoch {current} checkpoint in {write_dir}', keeps):
      try:
        manager.save(checkpoint_number=current)
      finally:
        _remove_partial_checkpoints(os.path.join(write_dir, 'checkpoints'))
    if not chief:
      tf.io.gfile.rmtree(os.path.join(write_dir, 'checkpoints'))
    if chief:
      history.append({'epoch': current, **logs})
      keeps = f'the epoch {current} checkpoint is saved'
      with _writing(metrics_path, keeps):
        _write_json(metrics_path, metrics())
      with _writing(f'the summaries in {model_dir}', keeps):
        for split, writer in writers.items():
          with writer.as_default(step=current):
            for key, value in logs.items():
              if key.startswith('val_') == (split == 'validation'):
                _scalar_summary(key.removeprefix('val_'), value)
          writer.flush()
    logging.info('Epoch %d: %s', current,
                 ', '.join(f'{key} {value:.4g}' for key, value in logs.items()))
    if on_epoch_end is not None:
      on_epoch_end(current, logs)

  if chief:
    keeps = f'the checkpoints in {os.path.join(model_dir, "checkpoints")} are kept'
    with _writing(metrics_path, keeps):
      _write_json(metrics_path, metrics())
    final_path = os.path.join(model_dir, 'model.keras')
    with _writing(final_path, keeps + ': free some space and run again to write it'):
      _save_final(config, model, best_weights_path if val_batches is not None else None,
                  final_path)
  else:
    shutil.rmtree(write_dir, ignore_errors=True)
  return model, metrics()


def _save_final(config, trained, best_weights_path, path):
  """Saves a plain (undistributed) copy of the model with the best or last weights."""
  final = melody_model.build_model(config)
  if best_weights_path and tf.io.gfile.exists(best_weights_path):
    final.load_weights(best_weights_path)
  else:
    final.set_weights(trained.get_weights())
  # Written whole or not at all: a kill during a direct save once left a 454-byte
  # model.keras that is not a zip.
  _write_atomically(path, _keras_bytes(final))


def main(argv):
  del argv  # Unused.
  if FLAGS.cpu_devices:
    split_cpu(FLAGS.cpu_devices)
  # Strategies that talk to other processes must exist before any other TF work.
  strategy = make_strategy(FLAGS.distribution_strategy, FLAGS.tpu)
  config = resolve_config(FLAGS.preset, FLAGS.override)
  training = TrainingConfig(
      epochs=FLAGS.epochs, batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate,
      lr_schedule=FLAGS.lr_schedule, seed=FLAGS.seed, patience=FLAGS.patience,
      steps_per_epoch=FLAGS.steps_per_epoch)
  if FLAGS.synthetic:
    train_melodies = windows.synthetic_melodies(FLAGS.synthetic, seed=FLAGS.seed)
    val_melodies = windows.synthetic_melodies(max(1, FLAGS.synthetic // 10),
                                              seed=FLAGS.seed + 1)
    source = f'synthetic:{FLAGS.synthetic}'
  else:
    train_melodies = windows.load_split(FLAGS.dataset, 'train', FLAGS.data_dir)
    val_melodies = windows.load_split(FLAGS.dataset, 'validation', FLAGS.data_dir)
    source = FLAGS.dataset
  try:
    train(config, train_melodies, val_melodies, FLAGS.model_dir, training,
          strategy=strategy, run_info={
              'dataset': source, 'data_dir': FLAGS.data_dir, 'preset': FLAGS.preset,
              'overrides': list(FLAGS.override),
              'distribution_strategy': FLAGS.distribution_strategy,
          })
    if not FLAGS.synthetic:
      # Where the genre rests, for the export to write rests back (stylexfer.articulation).
      articulation.save(FLAGS.model_dir, articulation.sounding_values(
          tfds.as_numpy(train_melodies)))
  except TrainingError as error:
    print(f'{PROGRAM}: error: {" ".join(str(error).split())}', file=sys.stderr)
    return 1
  return 0


def run():
  """Console-script entry point."""
  define_flags()
  flags.mark_flags_as_required(['model_dir'])
  app.run(main)


if __name__ == '__main__':
  run()
