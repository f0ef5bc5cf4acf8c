"""Trains one genre's melody model: stylexfer-train --dataset=folk --run_dir=DIR.

  stylexfer-train --dataset=folk --run_dir=runs/folk [--preset=default] [--epochs=30]
  python -m stylexfer.programs.train ...   (the same)

A killed run restarted with the same flags resumes from its last good epoch checkpoint.
The run folder's contents are listed in stylexfer.training.loop; besides them the
program writes articulation.json, where the genre rests: the sounding length of each
duration (stylexfer.tokens.articulation), which the export writes back as rests.
"""

import dataclasses
import sys

from absl import flags
import tensorflow_datasets as tfds

from stylexfer.dataset import windows
from stylexfer.model import layers
from stylexfer.model import melody_model
from stylexfer.programs import shared_flags
from stylexfer.tokens import articulation
from stylexfer.tokens import traits
from stylexfer.training import config as config_lib
from stylexfer.training import files
from stylexfer.training import loop
from stylexfer.training import strategy as strategy_lib

FLAGS = flags.FLAGS
PROGRAM = 'stylexfer-train'
# The help of each TrainingConfig field's flag; every field has one.
_TRAINING_HELP = {
    'epochs': 'Epochs to train in all (a resumed run counts the epochs already done).',
    'batch_size': 'Global batch size in windows.',
    'learning_rate': 'Adam learning rate.',
    'lr_schedule': 'Learning rate schedule over all epochs: constant or cosine.',
    'seed': 'Seed for initial weights and shuffling.',
    'patience': 'Stop after this many epochs without a lower validation loss; 0 never '
                'stops early.',
    'steps_per_epoch': 'Steps per epoch; 0 makes an epoch one pass over the training '
                       'windows.',
    'clipnorm': 'Clip the global gradient norm to this; 0 does not clip.',
    'shuffle_buffer': 'Windows in the shuffle buffer.',
    'matmul_dtype': 'Precision of the LSTM matmuls in training where no GPU runs them: '
                    'bfloat16 nearly halves a train step on CPUs with AVX512_BF16 or AMX '
                    '(and slows it on CPUs without); state, gates and weights stay float32. '
                    'auto: bfloat16 on such CPUs, else float32. GPUs train with cuDNN in '
                    'float32 either way.',
}
_DEFINE = {int: flags.DEFINE_integer, float: flags.DEFINE_float, str: flags.DEFINE_string}
_CHOICES = {'lr_schedule': ['constant', 'cosine'],
            'matmul_dtype': list(layers.MATMUL_DTYPES)}


def define_flags():
  """Defines the command-line flags; every one is optional so tests can skip them."""
  shared_flags.define_dataset('folk')
  shared_flags.define_data_dir()
  shared_flags.define_threads()
  shared_flags.define_run_dir('Where checkpoints, summaries, metrics and the final model '
                              'go; a run restarted here resumes.')
  flags.DEFINE_enum('preset', 'default', sorted(melody_model.PRESETS), 'Model size.')
  flags.DEFINE_multi_string('override', [], 'key=value overriding a field of the preset '
                            '(embedding_width, lstm_units, lstm_layers, dropout, window).')
  for field in dataclasses.fields(config_lib.TrainingConfig):
    if field.name in _CHOICES:
      flags.DEFINE_enum(field.name, field.default, _CHOICES[field.name],
                        _TRAINING_HELP[field.name])
    else:
      _DEFINE[field.type](field.name, field.default, _TRAINING_HELP[field.name])
  flags.DEFINE_enum('distribution_strategy', 'one_device', strategy_lib.STRATEGIES,
                    'tf.distribute strategy; multi_worker_mirrored reads TF_CONFIG.')
  flags.DEFINE_string('tpu', '', 'TPU address (grpc://...) or name, for --distribution_'
                      'strategy=tpu.')
  flags.DEFINE_integer('synthetic', 0, 'For tests and throughput runs: train on this many '
                       'synthetic melodies instead of --dataset.')
  flags.DEFINE_integer('cpu_devices', 0, 'For tests: split the CPU into this many logical '
                       'devices, so that mirrored runs on a machine without GPUs.')


def training_config(f):
  """The TrainingConfig the flags ask for."""
  fields = dataclasses.fields(config_lib.TrainingConfig)
  return config_lib.TrainingConfig(**{field.name: f[field.name].value for field in fields})


def main(argv):
  del argv  # Unused.
  threads = strategy_lib.set_threads(FLAGS.intra_op_threads, FLAGS.inter_op_threads,
                                     FLAGS.distribution_strategy)
  if FLAGS.cpu_devices:
    strategy_lib.split_cpu(FLAGS.cpu_devices)
  # Strategies that talk to other processes must exist before any other TF work.
  strategy = strategy_lib.make_strategy(FLAGS.distribution_strategy, FLAGS.tpu)
  config = config_lib.resolve_config(FLAGS.preset, FLAGS.override)
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
    loop.train(config, train_melodies, val_melodies, FLAGS.run_dir, training_config(FLAGS),
               strategy=strategy, run_info={
                   'dataset': source, 'data_dir': FLAGS.data_dir, 'preset': FLAGS.preset,
                   'overrides': list(FLAGS.override),
                   'distribution_strategy': FLAGS.distribution_strategy,
                   'threads': {'intra_op': threads[0], 'inter_op': threads[1]},
               })
    if not FLAGS.synthetic:
      # The training melodies read once for where the genre rests and its traits.
      melodies = list(tfds.as_numpy(train_melodies))
      articulation.save(FLAGS.run_dir, articulation.sounding_values(melodies))
      traits.save(FLAGS.run_dir, traits.from_melodies(melodies))
  except files.TrainingError as error:
    print(f'{PROGRAM}: error: {" ".join(str(error).split())}', file=sys.stderr)
    return 1
  return 0


def run():
  """Console-script entry point."""
  define_flags()
  flags.mark_flags_as_required(['run_dir'])
  shared_flags.run(main, __doc__)


if __name__ == '__main__':
  run()
