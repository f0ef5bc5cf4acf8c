"""What the programs share: checks on restyle's and generate's flags, how they write a
tune, how a known error becomes one line on stderr (every program), and how they end.
"""

import os
import re
import sys


from stylexfer import atomic
from stylexfer.programs import shared_flags
from stylexfer.reading import melody as melody_lib
from stylexfer.serving import controls
from stylexfer.serving import loading
from stylexfer.writers import render


class CommandError(ValueError):
  """A request that cannot be carried out; its message is the one line the user sees."""


def too_long(what, notes, limit=controls.MAX_LENGTH):
  return (f'{what} has {notes} notes and a model restyles at most {limit} at once: pass a '
          f'shorter excerpt (a MIDI or MusicXML file cut to at most {limit} notes, or an ABC '
          'tune split into several X: tunes)')


def check_length(melody, what='the melody'):
  """Raises CommandError for a melody longer than a model restyles, before any file is
  written."""
  if melody is not None and len(melody) > controls.MAX_LENGTH:
    raise CommandError(too_long(what, len(melody)))


def check_sampling(f):
  """Raises RequestError for sampling and playing flags outside their ranges."""
  controls.check('--', temperature=f.temperature, top_p=f.top_p, seed=f.seed,
                 tempo=f.tempo, swing=f.swing)
  if f.soundfont and not os.path.isfile(f.soundfont):
    raise CommandError(f'--soundfont {f.soundfont}: no such file')
  if f.models_dir and not os.path.isdir(f.models_dir):
    raise CommandError(f'--models_dir {f.models_dir}: no such folder')
  style(f)  # --style and --feel not both


def style(f):
  """The style the flags ask for ('' for any): --style, or --feel, not both."""
  if f.style and f.feel and f.style.strip().lower() != f.feel.strip().lower():
    raise CommandError(f'--style={f.style} and --feel={f.feel}: pass one (a genre has one '
                       'kind of style)')
  return (f.style or f.feel).strip().lower()


def check_model_folder(models_dir, name, version):
  """Raises CommandError for a --name that is not one folder's name, or a --version that
  is there already: a model written over another would leave files of both."""
  if name is not None and (name in ('', '.', '..') or '/' in name or os.sep in name):
    raise CommandError(f'--name {name!r}: must be a folder name, without /')
  path = os.path.join(models_dir, name or '', str(version))
  if name and version is not None and os.path.exists(path):
    raise CommandError(f'--version {version}: {path} exists already: pass another '
                       '--version, or none for the next free one')


def playing(f):
  """render.write_all's keywords for playing a melody as the flags say."""
  return dict(tempo=f.tempo, soundfont=f.soundfont, synthesizer=f.synthesizer)


def write_melody(melody, out_dir, stem, f):
  """Every output format of a melody, played as the flags say; returns {format: path}."""
  return render.write_all(melody, out_dir, stem, **playing(f))


def one_line(error):
  """An exception's message on one line; for a request a model refused, its reason.

  TensorFlow puts the reason of a failed assertion on a later line ('assertion failed:
  [a melody must have at most 4096 notes] [4200] ...') under a first line that says only
  'Graph execution error:'. Models exported before 0.2.1 report the length as
  '[x (...) = ] [4200]'.
  """
  text = getattr(error, 'message', None) or str(error)
  failed = re.search(r'assertion failed: \[(.*?)\s*\](.*)', text)
  if failed:
    reason, rest = failed.group(1).rstrip('. '), failed.group(2)
    limit = re.match(r'a melody must have at most (\d+) notes', reason)
    found = re.match(r'\s*(?:\[Condition [^]]*\] \[x \([^)]*\) = \] )?\[(\d+)\]', rest)
    if limit:
      return too_long('the melody', found.group(1) if found else f'more than {limit.group(1)}',
                      limit.group(1))
    text = reason
  text = ' '.join(text.split())
  return text or type(error).__name__


def run_then_exit(main, doc, program=None, hint=''):
  """shared_flags.run(main, doc) for a program that ends with TensorFlow loaded.

  The process ends as soon as `main` returns, its output flushed, without tearing
  TensorFlow down: that takes 1.7 s once two models are loaded, and every file is
  written and closed by then (an exception still ends the usual way).
  """
  def main_then_exit(argv):
    status = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)  # pylint: disable=protected-access

  shared_flags.run(main_then_exit, doc, program=program, hint=hint)


def report_errors(program, function, *args):
  """Runs function(*args); a known error becomes one line on stderr and exit status 1."""
  try:
    function(*args)
  except (melody_lib.MelodyError, CommandError, controls.RequestError,
          loading.ModelNotFoundError,
          loading.UnknownGenreError, loading.BrokenModelError, atomic.OutputError) as error:
    print(f'{program}: error: {one_line(error)}', file=sys.stderr)
    return 1
  except OSError as error:  # an output place that cannot be written, a full disk
    where = f'{error.filename}: ' if error.filename else ''
    print(f'{program}: error: {where}{atomic.describe(error)}', file=sys.stderr)
    return 1
  except Exception as error:  # pylint: disable=broad-except
    # TensorFlow is imported only here, on the way out: a request refused before the
    # models load should not wait for it. So are the errors of the modules that import it.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from stylexfer.dataset import windows  # pylint: disable=g-import-not-at-top
    from stylexfer.serving import client  # pylint: disable=g-import-not-at-top
    from stylexfer.training import files  # pylint: disable=g-import-not-at-top
    if isinstance(error, (tf.errors.InvalidArgumentError, client.MissingSignatureError,
                          windows.DataNotPreparedError, files.TrainingError)):
      print(f'{program}: error: {one_line(error)}', file=sys.stderr)
      return 1
    raise
  return 0
