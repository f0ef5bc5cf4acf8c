"""Exports one genre's trained model as a SavedModel for TF Serving, Colab and merging.

  stylexfer-export --run_dir=runs/folk --models_dir=models --name=folk
  python -m stylexfer.programs.export ...   (the same)

writes models/folk/<version>/ (the next free integer unless --version is given) from the
run's model.keras, with the genre's rests (articulation.json). The signatures are listed
in stylexfer.serving.genre.
"""

import dataclasses
import math
import os
import zipfile

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer.programs import common
from stylexfer.programs import shared_flags
from stylexfer.tokens import articulation
from stylexfer.tokens import traits

PROGRAM = 'stylexfer-export'


def define_flags():
  shared_flags.define_run_dir('Training run folder holding model.keras.')
  shared_flags.define_models_dir()
  flags.DEFINE_string('genre', None, 'Genre name stored in the SavedModel (default: --name).')
  flags.DEFINE_string('name', None, 'Model name: the folder under --models_dir.')
  flags.DEFINE_integer('version', None, 'Version folder, 1 or more, not one that exists; '
                       'default: the next free integer.', lower_bound=1)
  flags.DEFINE_float('swing_ratio', None, 'Long-short ratio the genre plays its eighth pairs '
                     'with (WJazzD: 1.11, stylexfer-evaluate --swing); default: the run\'s '
                     'traits.json, else 1.0 (straight).', lower_bound=1.0, upper_bound=3.0)
  flags.DEFINE_float('style_guidance', None, 'How far a style asked for is pushed away from '
                     'the rhythm of any style (0: not at all); default: the run\'s '
                     f'traits.json, else {traits.STYLE_GUIDANCE:g}.', lower_bound=0.0,
                     upper_bound=16.0)
  # absl's bounds let NaN through.
  for name, bounds in (('swing_ratio', '[1, 3]'), ('style_guidance', '[0, 16]')):
    flags.register_validator(name, lambda value: value is None or math.isfinite(value),
                             message=f'must be a number in {bounds}')


def read_run(run_dir):
  """The run's rests and traits; a CommandError names a run folder without a model or a
  file of it that does not read back."""
  if not os.path.isdir(run_dir):
    raise common.CommandError(f'--run_dir {run_dir}: no such folder')
  model = os.path.join(run_dir, 'model.keras')
  if not os.path.isfile(model):
    raise common.CommandError(f'--run_dir {run_dir}: holds no model.keras (train it first)')
  if not zipfile.is_zipfile(model):
    raise common.CommandError(f'{model} is not a .keras archive (a zip file): train the '
                              'run again')
  read = {}
  for module in (articulation, traits):
    try:
      read[module] = module.load(run_dir)
    except (ValueError, TypeError) as error:  # JSON that does not parse, or not ours
      path = os.path.join(run_dir, module.FILE)
      why = ' '.join(str(error).split()).removeprefix(f'{path}: ')
      raise common.CommandError(f'{path} cannot be read ({why}): train the run again, '
                                'or remove the file') from None
  return read[articulation], read[traits]


def export_run(f):
  """Exports the run the flags name; prints the SavedModel's folder."""
  common.check_model_folder(f.models_dir, f.name, f.version)
  sounding, genre_traits = read_run(f.run_dir)
  if f.swing_ratio is not None:
    genre_traits = dataclasses.replace(genre_traits, swing_ratio=f.swing_ratio)
  if f.style_guidance is not None:
    genre_traits = dataclasses.replace(genre_traits, style_guidance=f.style_guidance)
  # Imported once the run is known to be good: they start TensorFlow.
  # pylint: disable=g-import-not-at-top
  import keras
  from stylexfer.serving import genre as genre_lib
  # pylint: enable=g-import-not-at-top
  path = os.path.join(f.run_dir, 'model.keras')
  try:
    model = keras.saving.load_model(path)
  except Exception as error:  # pylint: disable=broad-except
    # Keras reports a damaged archive as ValueError, OSError, BadZipFile or KeyError.
    why = ' '.join(str(error).split())[:200] or type(error).__name__
    raise common.CommandError(f'{path} cannot be read ({why}): train the run again') from None
  print(genre_lib.export(model, f.genre or f.name, f.models_dir, name=f.name,
                         version=f.version, sounding_values=sounding, traits=genre_traits))


def main(argv):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, export_run, flags.FLAGS)


def run():
  define_flags()
  flags.mark_flags_as_required(['run_dir', 'models_dir', 'name'])
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
