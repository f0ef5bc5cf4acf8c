"""What a run writes, written whole or not at all, and failures that say what is kept.

A full disk, no permission or a kill leaves the old file (or none), never a truncated
one, and the error names the file, the reason and the last good checkpoint.
"""

import contextlib
import dataclasses
import io
import json
import os
import re
import zipfile

from absl import logging
import tensorflow as tf


class TrainingError(RuntimeError):
  """Training cannot go on (a model_dir that cannot be written, a full disk, no intact
  checkpoint); the message names the place and the reason, on one line."""


def reason(error):
  """The reason of an OSError or a TensorFlow error in a few words."""
  if isinstance(error, OSError):
    return error.strerror or str(error)
  text = ' '.join(getattr(error, 'message', str(error)).split())
  # TensorFlow's file errors read '{{function_node ...}} /path/file; No space left on
  # device [Op:SaveV2]': the reason is after the last '; '.
  text = re.sub(r'\s*\[Op:\w+\]$', '', text).rsplit('; ', 1)[-1]
  return text or type(error).__name__


@contextlib.contextmanager
def writing(what, keeps=None):
  """Turns a failed write (a full disk, no permission) into a TrainingError saying what
  could not be written, why, and what is kept."""
  try:
    yield
  except (OSError, tf.errors.OpError) as error:
    kept = f'; {keeps}' if keeps else ''
    raise TrainingError(f'cannot write {what}: {reason(error)}{kept}') from error


def write_atomically(path, data):
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


def keras_bytes(model):
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


def weights_h5_bytes(model):
  """The model's weights as the bytes of a .weights.h5 file, built in memory.

  A .keras archive holds its weights as exactly such a file (model.weights.h5).
  """
  with zipfile.ZipFile(io.BytesIO(keras_bytes(model))) as archive:
    return archive.read('model.weights.h5')


def read_metrics(path, completed_epochs):
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


def write_json(path, value):
  write_atomically(path, json.dumps(value, indent=2, sort_keys=True))


def write_config(model_dir, config, training, run_info):
  """Writes config.json; refuses a model_dir that holds a model of another shape, or a
  config.json that does not read back (its checkpoints could be of any shape)."""
  path = os.path.join(model_dir, 'config.json')
  resolved = {
      'model': dataclasses.asdict(config),
      'training': dataclasses.asdict(training),
      **(run_info or {}),
  }
  if tf.io.gfile.exists(path):
    try:
      with tf.io.gfile.GFile(path) as f:
        stored = json.load(f)
      previous = stored.get('model') if isinstance(stored, dict) else None
      if not isinstance(previous, dict):
        raise ValueError('it has no "model" object')
    except (ValueError, tf.errors.OpError) as error:
      raise TrainingError(f'{path} cannot be read ({reason(error)}): restore it, or use '
                          'another --run_dir') from None
    if previous != resolved['model']:
      changed = sorted(set(previous) | set(resolved['model']))
      differ = [key for key in changed if previous.get(key) != resolved['model'].get(key)]
      raise TrainingError(
          f'{path} holds a run of another model ('
          + ', '.join(f'{key} {previous.get(key)}, not {resolved["model"].get(key)}'
                      for key in differ)
          + '): pass the --preset and --override it was trained with, or use another '
          '--run_dir')
  write_json(path, resolved)
