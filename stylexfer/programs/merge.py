"""Merges two exported genres into one SavedModel: one genre's tones, another's rhythm.

  stylexfer-merge --pitch_model=models/folk/1 --rhythm_model=models/jazz/1 \\
      --models_dir=models [--name=folk_jazz] [--version=1]
  python -m stylexfer.programs.merge ...   (the same)

writes <models_dir>/<name>/<version>/ (name: <pitch genre>_<rhythm genre>; version: the
next free integer). The signatures are listed in stylexfer.serving.merged.
"""

import sys

from absl import flags

from stylexfer.programs import shared_flags
from stylexfer.serving import merged

PROGRAM = 'stylexfer-merge'


def define_flags():
  flags.DEFINE_string('pitch_model', None, 'Exported SavedModel whose tones are kept.')
  flags.DEFINE_string('rhythm_model', None, 'Exported SavedModel whose durations are used.')
  shared_flags.define_models_dir()
  flags.DEFINE_string('name', None, 'Folder under --models_dir; default: <pitch genre>_'
                      '<rhythm genre>.')
  flags.DEFINE_integer('version', None, 'Version folder; default: the next free integer.')


def main(argv):
  del argv
  f = flags.FLAGS
  try:
    print(merged.merge(f.pitch_model, f.rhythm_model, f.models_dir, name=f.name,
                       version=f.version))
  except merged.MergeError as error:
    sys.exit(f'{PROGRAM}: error: cannot merge {f.pitch_model} and {f.rhythm_model}: {error}')


def run():
  define_flags()
  flags.mark_flags_as_required(['pitch_model', 'rhythm_model', 'models_dir'])
  shared_flags.run(main, __doc__)


if __name__ == '__main__':
  run()
