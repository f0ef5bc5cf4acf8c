"""Exports one genre's trained model as a SavedModel for TF Serving, Colab and merging.

  stylexfer-export --run_dir=runs/folk --models_dir=models --name=folk
  python -m stylexfer.programs.export ...   (the same)

writes models/folk/<version>/ (the next free integer unless --version is given) from the
run's model.keras, with the genre's rests (articulation.json). The signatures are listed
in stylexfer.serving.genre.
"""

import dataclasses
import os

from absl import flags
import keras

from stylexfer.programs import shared_flags
from stylexfer.serving import genre as genre_lib
from stylexfer.tokens import articulation
from stylexfer.tokens import traits


def define_flags():
  flags.DEFINE_string('run_dir', None, 'Training run folder holding model.keras.')
  shared_flags.define_models_dir()
  flags.DEFINE_string('genre', None, 'Genre name stored in the SavedModel (default: --name).')
  flags.DEFINE_string('name', None, 'Model name: the folder under --models_dir.')
  flags.DEFINE_integer('version', None, 'Version folder; default: the next free integer.')
  flags.DEFINE_float('swing_ratio', None, 'Long-short ratio the genre plays its eighth pairs '
                     'with (WJazzD: 1.11, stylexfer-evaluate --swing); default: the run\'s '
                     'traits.json, else 1.0 (straight).', lower_bound=1.0, upper_bound=3.0)


def main(argv):
  del argv
  f = flags.FLAGS
  model = keras.saving.load_model(os.path.join(f.run_dir, 'model.keras'))
  genre_traits = traits.load(f.run_dir)
  if f.swing_ratio is not None:
    genre_traits = dataclasses.replace(genre_traits, swing_ratio=f.swing_ratio)
  print(genre_lib.export(model, f.genre or f.name, f.models_dir, name=f.name,
                         version=f.version, sounding_values=articulation.load(f.run_dir),
                         traits=genre_traits))


def run():
  define_flags()
  flags.mark_flags_as_required(['run_dir', 'models_dir', 'name'])
  shared_flags.run(main, __doc__)


if __name__ == '__main__':
  run()
