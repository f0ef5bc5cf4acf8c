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

One custom training loop serves every distribution strategy. Keras 3 `fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585), so that strategy needs this loop
anyway; a second path through `fit` for the others would mean two checkpoint formats,
two resume paths and two ways of counting tokens, and a loss that `fit` averages per
replica rather than per token.
"""

import dataclasses
import json
import math
import os
import shutil
import time

from absl import app
from absl import flags
from absl import logging
import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from stylexfer import model as melody_model
from stylexfer import windows

FLAGS = flags.FLAGS
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


def _read_metrics(path, completed_epochs):
  if not tf.io.gfile.exists(path):
    return []
  with tf.io.gfile.GFile(path) as f:
    epochs = json.load(f).get('epochs', [])
  # Epochs after the restored checkpoint were lost with the killed run.
  return [entry for entry in epochs if entry['epoch'] <= completed_epochs]


def _write_json(path, value):
  with tf.io.gfile.GFile(path + '.tmp', 'w') as f:
    json.dump(value, f, indent=2, sort_keys=True)
  tf.io.gfile.rename(path + '.tmp', path, overwrite=True)


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
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(write_dir, 'checkpoints'), max_to_keep=2)
  latest = tf.train.latest_checkpoint(os.path.join(model_dir, 'checkpoints'))
  if latest:
    checkpoint.restore(latest).assert_existing_objects_matched()
    logging.info('Resumed from %s after epoch %d.', latest, int(epoch.numpy()))

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
          model.save_weights(best_weights_path)

    epoch.assign(current)
    manager.save(checkpoint_number=current)
    if not chief:
      tf.io.gfile.rmtree(os.path.join(write_dir, 'checkpoints'))
    if chief:
      history.append({'epoch': current, **logs})
      _write_json(metrics_path, metrics())
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
    _write_json(metrics_path, metrics())
    _save_final(config, model, best_weights_path if val_batches is not None else None,
                os.path.join(model_dir, 'model.keras'))
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
  final.save(path)


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
  train(config, train_melodies, val_melodies, FLAGS.model_dir, training,
        strategy=strategy, run_info={
            'dataset': source, 'data_dir': FLAGS.data_dir, 'preset': FLAGS.preset,
            'overrides': list(FLAGS.override),
            'distribution_strategy': FLAGS.distribution_strategy,
        })


def run():
  """Console-script entry point."""
  define_flags()
  flags.mark_flags_as_required(['model_dir'])
  app.run(main)


if __name__ == '__main__':
  run()
