"""Merges two exported genres into one SavedModel: one genre's tones, another's rhythm.

  stylexfer-merge --pitch_model=models/folk/1 --rhythm_model=models/jazz/1 \\
      --models_dir=models [--name=folk_jazz] [--version=1]
  python -m stylexfer.programs.merge ...   (the same)

writes <models_dir>/<name>/<version>/ (name: <pitch genre>_<rhythm genre>; version: the
next free integer). The signatures are listed in stylexfer.serving.merged.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer.programs import common
from stylexfer.programs import shared_flags

PROGRAM = 'stylexfer-merge'


def define_flags():
  flags.DEFINE_string('pitch_model', None, 'Exported SavedModel whose tones are kept.')
  flags.DEFINE_string('rhythm_model', None, 'Exported SavedModel whose durations are used.')
  shared_flags.define_models_dir()
  flags.DEFINE_string('name', None, 'Folder under --models_dir; default: <pitch genre>_'
                      '<rhythm genre>.')
  flags.DEFINE_integer('version', None, 'Version folder, 1 or more, not one that exists; '
                       'default: the next free integer.', lower_bound=1)


def check_saved_model(flag, path):
  """A CommandError unless `path` is a SavedModel's folder, saying which folder under it
  is one where it holds versions (models/folk rather than models/folk/1)."""
  if not os.path.isdir(path):
    raise common.CommandError(f'--{flag} {path}: no such folder')
  if os.path.isfile(os.path.join(path, 'saved_model.pb')):
    return
  versions = sorted((int(name) for name in os.listdir(path) if name.isdigit() and
                     os.path.isfile(os.path.join(path, name, 'saved_model.pb'))))
  hint = (f': pass a version folder, e.g. {os.path.join(path, str(versions[-1]))}'
          if versions else '')
  raise common.CommandError(f'--{flag} {path}: not a SavedModel (no saved_model.pb){hint}')


def merge_models(f):
  """Merges the models the flags name; prints the merged SavedModel's folder."""
  check_saved_model('pitch_model', f.pitch_model)
  check_saved_model('rhythm_model', f.rhythm_model)
  common.check_model_folder(f.models_dir, f.name, f.version)
  # Imported once the flags are known to be good: they start TensorFlow.
  # pylint: disable=g-import-not-at-top
  from stylexfer.serving import loading
  from stylexfer.serving import merged
  # pylint: enable=g-import-not-at-top
  try:
    print(merged.merge(f.pitch_model, f.rhythm_model, f.models_dir, name=f.name,
                       version=f.version))
  except merged.MergeError as error:
    raise common.CommandError(f'cannot merge {f.pitch_model} and {f.rhythm_model}: '
                              f'{error}') from None
  except Exception:  # pylint: disable=broad-except
    # A SavedModel that does not load: TensorFlow's error (OSError, OpError, IndexError,
    # ValueError) names neither the folder nor the damage; loading.load says both.
    for flag in ('pitch_model', 'rhythm_model'):
      try:
        loading.load(f[flag].value)
      except loading.BrokenModelError as broken:
        why = str(broken).removesuffix(' or pass another --models_dir')
        raise common.CommandError(f'--{flag}: {why}') from None
    raise


def main(argv):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, merge_models, flags.FLAGS)


def run():
  define_flags()
  flags.mark_flags_as_required(['pitch_model', 'rhythm_model', 'models_dir'])
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
