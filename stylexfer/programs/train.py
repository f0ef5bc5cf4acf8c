"""Trains one genre's melody model: stylexfer-train --dataset=folk --run_dir=DIR.

  stylexfer-train --dataset=folk --run_dir=runs/folk [--preset=default] [--epochs=30]
  python -m stylexfer.programs.train ...   (the same)

A killed run restarted with the same flags resumes from its last good epoch checkpoint.
The run folder's contents are listed in stylexfer.training.loop; besides them the
program writes articulation.json, where the genre rests: the sounding length of each
duration (stylexfer.tokens.articulation), which the export writes back as rests.
"""

import dataclasses
import math
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer.model import config as model_config
from stylexfer.programs import common
from stylexfer.programs import shared_flags
from stylexfer.training import config as config_lib

FLAGS = flags.FLAGS
PROGRAM = 'stylexfer-train'
# The help of each TrainingConfig field's flag; every field has one.
_TRAINING_HELP = {
    'epochs': 'Epochs to train in all (a resumed run counts the epochs already done).',
    'batch_size': 'Global batch size in windows.',
    'learning_rate': 'Adam learning rate (above 0).',
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
            'matmul_dtype': list(model_config.MATMUL_DTYPES)}
# The least value of each number flag (the seed also seeds NumPy, which takes 0 to 2**32 - 1).
_LOWEST = {'epochs': 1, 'batch_size': 1, 'learning_rate': 0, 'seed': 0, 'patience': 0,
           'steps_per_epoch': 0, 'clipnorm': 0, 'shuffle_buffer': 1}
_HIGHEST = {'seed': 2**32 - 2}


def _check_float(name, above):
  """A float flag must be finite and above (or at least) its least value: absl's bounds
  let NaN through, and a NaN learning rate trained a NaN model without a word."""
  lowest = _LOWEST[name]
  words = f'above {lowest:g}' if above else f'{lowest:g} or more'
  flags.register_validator(
      name, lambda value: math.isfinite(value) and (value > lowest if above
                                                    else value >= lowest),
      message=f'must be a finite number {words}')


def define_flags():
  """Defines the command-line flags; every one is optional so tests can skip them."""
  shared_flags.define_dataset('folk')
  shared_flags.define_data_dir()
  shared_flags.define_threads()
  shared_flags.define_run_dir('Where checkpoints, summaries, metrics and the final model '
                              'go; a run restarted here resumes.')
  flags.DEFINE_enum('preset', 'default', sorted(model_config.PRESETS), 'Model size.')
  flags.DEFINE_multi_string('override', [], 'key=value overriding a field of the preset '
                            '(embedding_width, lstm_units, lstm_layers, dropout, window, '
                            'metre_width): sizes at least 1 (metre_width 0 or more), '
                            'dropout in [0, 1).')
  for field in dataclasses.fields(config_lib.TrainingConfig):
    if field.name in _CHOICES:
      flags.DEFINE_enum(field.name, field.default, _CHOICES[field.name],
                        _TRAINING_HELP[field.name])
    elif field.type is int:
      flags.DEFINE_integer(field.name, field.default, _TRAINING_HELP[field.name],
                           lower_bound=_LOWEST.get(field.name),
                           upper_bound=_HIGHEST.get(field.name))
    else:
      _DEFINE[field.type](field.name, field.default, _TRAINING_HELP[field.name])
  _check_float('learning_rate', above=True)
  _check_float('clipnorm', above=False)
  flags.DEFINE_enum('distribution_strategy', 'one_device', config_lib.STRATEGIES,
                    'tf.distribute strategy; multi_worker_mirrored reads TF_CONFIG.')
  flags.DEFINE_string('tpu', '', 'TPU address (grpc://...) or name, for --distribution_'
                      'strategy=tpu.')
  flags.DEFINE_enum('style_field', 'style', ['style', 'feel'],
                    "The record field whose labels are the genre's styles: a folk tune's type "
                    "(style) or a jazz solo's rhythm feel (feel). Measure first which labels "
                    'a rhythm tells apart: stylexfer-evaluate --styles.')
  flags.DEFINE_string('style_groups', '', 'Labels heard as one style, e.g. latin+funk '
                      '(comma-separated groups; a group is named by its first label).')
  flags.DEFINE_integer('min_style_melodies', 30, 'A label is a style once this many '
                       'training melodies carry it.', lower_bound=1)
  flags.DEFINE_integer('synthetic', 0, 'For tests and throughput runs: train on this many '
                       'synthetic melodies instead of --dataset.', lower_bound=0)
  flags.DEFINE_integer('cpu_devices', 0, 'For tests: split the CPU into this many logical '
                       'devices, so that mirrored runs on a machine without GPUs.',
                       lower_bound=0)


def training_config(f):
  """The TrainingConfig the flags ask for."""
  fields = dataclasses.fields(config_lib.TrainingConfig)
  return config_lib.TrainingConfig(**{field.name: f[field.name].value for field in fields})


def train_run(f):
  """Trains as the flags say; a bad --override is refused before TensorFlow starts."""
  if not f.run_dir.strip():  # else the run would be written all over the current folder
    raise common.CommandError('--run_dir is empty: pass the folder of the run')
  try:
    config = config_lib.resolve_config(f.preset, f.override)
  except ValueError as error:
    raise common.CommandError(f'--{error}') from None  # 'override ...' names the value
  from stylexfer.tokens import conditions  # pylint: disable=g-import-not-at-top
  try:
    aliases = conditions.parse_groups(f.style_groups)
  except ValueError as error:
    raise common.CommandError(f'--style_groups: {error}') from None
  # Imported once the flags are known to be good: they start TensorFlow.
  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets as tfds
  from stylexfer.dataset import windows
  from stylexfer.tokens import articulation
  from stylexfer.tokens import traits
  from stylexfer.training import loop
  from stylexfer.training import strategy as strategy_lib
  # pylint: enable=g-import-not-at-top
  threads = strategy_lib.set_threads(f.intra_op_threads, f.inter_op_threads,
                                     f.distribution_strategy)
  if f.cpu_devices:
    strategy_lib.split_cpu(f.cpu_devices)
  # Strategies that talk to other processes must exist before any other TF work.
  strategy = strategy_lib.make_strategy(f.distribution_strategy, f.tpu)
  styles, melodies = None, None
  if f.synthetic:
    train_melodies = windows.synthetic_melodies(f.synthetic, seed=f.seed)
    val_melodies = windows.synthetic_melodies(max(1, f.synthetic // 10), seed=f.seed + 1)
    source = f'synthetic:{f.synthetic}'
  else:
    train_melodies = windows.load_split(f.dataset, 'train', f.data_dir)
    val_melodies = windows.load_split(f.dataset, 'validation', f.data_dir)
    source = f.dataset
    # The training melodies read once for the styles, where the genre rests and its traits.
    melodies = list(tfds.as_numpy(train_melodies))
    styles = conditions.from_melodies(melodies, f.style_field, aliases,
                                      f.min_style_melodies)
    config = dataclasses.replace(config, styles=len(styles.names))
  loop.train(config, train_melodies, val_melodies, f.run_dir, training_config(f),
             strategy=strategy, run_info={
                 'dataset': source, 'data_dir': f.data_dir, 'preset': f.preset,
                 'overrides': list(f.override),
                 'distribution_strategy': f.distribution_strategy,
                 'threads': {'intra_op': threads[0], 'inter_op': threads[1]},
                 'styles': dataclasses.asdict(styles) if styles else None,
             }, styles=styles)
  if melodies is not None:
    articulation.save(f.run_dir, articulation.sounding_values(melodies))
    traits.save(f.run_dir, traits.from_melodies(melodies, styles=styles))


def main(argv):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, train_run, FLAGS)


def run():
  """Console-script entry point."""
  define_flags()
  flags.mark_flags_as_required(['run_dir'])
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
