"""Finds and loads the exported genre SavedModels that restyle and generate melodies.

A model folder holds one folder per model name with integer version folders inside, as
`stylexfer-export` writes them and TF Serving reads them:

  <models_dir>/folk/1/saved_model.pb, <models_dir>/jazz/3/saved_model.pb, ...

The newest (largest) version is used. Without --models_dir the models that the package
ships in stylexfer/pretrained/ are used. A merged model (pitches of one genre, rhythm of
another, written by stylexfer.programs.merge) is found under the name `<pitch genre>_<rhythm genre>`
(also `-` or `+` between them), e.g. `folk_jazz`.
"""

import functools
import importlib.resources
import os

# Found through the package, wherever it is installed and whatever the working folder.
PRETRAINED_DIR = str(importlib.resources.files('stylexfer') / 'pretrained')
_MERGE_SEPARATORS = ('_', '-', '+')


class ModelNotFoundError(LookupError):
  """No SavedModel for a genre; the message says how to make one or where to point."""


class UnknownGenreError(ValueError):
  """A genre name that is neither built in nor a model folder."""


class BrokenModelError(ValueError):
  """A SavedModel folder that exists but cannot be loaded; the message names it."""


def model_root(model_dir=None):
  return model_dir or PRETRAINED_DIR


def latest_version(folder):
  """The SavedModel folder of the largest integer version under `folder`, or None."""
  if os.path.isfile(os.path.join(folder, 'saved_model.pb')):
    return folder  # already a version folder
  if not os.path.isdir(folder):
    return None
  versions = [int(name) for name in os.listdir(folder)
              if name.isdigit() and
              os.path.isfile(os.path.join(folder, name, 'saved_model.pb'))]
  return os.path.join(folder, str(max(versions))) if versions else None


def available(model_dir=None):
  """Names of the models (folders with a version) under the model folder."""
  root = model_root(model_dir)
  if not os.path.isdir(root):
    return []
  return sorted(name for name in os.listdir(root)
                if latest_version(os.path.join(root, name)) is not None)


def check_genre(genre, model_dir=None):
  """Raises UnknownGenreError unless `genre` is a shipped model or a model under the folder."""
  known = sorted(set(available()) | set(available(model_dir)))
  # With no model at all, find_model says how to make one.
  if known and genre not in known:
    raise UnknownGenreError(f'unknown genre {genre!r} (choose one of {", ".join(known)})')
  return genre


def find_model(name, model_dir=None):
  """The newest SavedModel folder for a genre or model name; raises ModelNotFoundError."""
  root = model_root(model_dir)
  path = latest_version(os.path.join(root, name))
  if path is not None:
    return path
  if model_dir is None:
    raise ModelNotFoundError(
        f'no pretrained {name!r} model is installed in {PRETRAINED_DIR}: train one '
        f'(stylexfer-train), export it (stylexfer-export --run_dir=RUN '
        f'--models_dir=MODELS --name={name}) and pass --models_dir=MODELS')
  raise ModelNotFoundError(
      f'no {name!r} model in {model_dir} (expected {os.path.join(model_dir, name)}/'
      f'<version>/saved_model.pb, as stylexfer-export --models_dir={model_dir} '
      f'--name={name} writes it)')


def find_merged(pitch_genre, rhythm_genre, model_dir=None):
  """The SavedModel of a merge of two genres, or None when there is none."""
  root = model_root(model_dir)
  for separator in _MERGE_SEPARATORS:
    path = latest_version(os.path.join(root, f'{pitch_genre}{separator}{rhythm_genre}'))
    if path is not None:
      return path
  return None


def _damage(path, error):
  """Which part of a SavedModel folder failed to load, in words."""
  text = str(error)
  if 'saved_model.pb' in text or 'MetaGraph' in text:
    return 'saved_model.pb cannot be read'
  if not os.path.isdir(os.path.join(path, 'variables')):
    return 'its variables/ folder is missing'
  return 'its variables are missing or damaged'


@functools.lru_cache(maxsize=8)
def load(path):
  """The loaded SavedModel at `path` (cached: loading takes seconds).

  Raises BrokenModelError naming the folder when its saved_model.pb or its variables
  cannot be read (a copy cut short, a damaged file).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    return tf.saved_model.load(path)
  except Exception as error:  # TensorFlow raises OSError, OpError, IndexError, ValueError
    reason = ' '.join(str(error).split())[:160] or type(error).__name__
    raise BrokenModelError(
        f'the model folder {path} is broken: {_damage(path, error)} ({reason}); export '
        'the model again or pass another --models_dir') from error


def find_models(genres, model_dir=None, chosen=None):
  """({genre: SavedModel path}, {(pitch genre, rhythm genre): merged SavedModel path}).

  `chosen` maps genres to SavedModel folders picked by hand; the other genres and the
  merges come from the model folder (none when some were picked: the folder's merges
  would not be merges of those).
  """
  chosen = dict(chosen or {})
  paths = {genre: latest_version(path) or path for genre, path in chosen.items()}
  for genre in genres:
    if genre not in paths:
      paths[genre] = find_model(genre, model_dir)
  merged = {}
  if chosen:
    return paths, merged
  for pitch_genre in genres:
    for rhythm_genre in genres:
      if pitch_genre != rhythm_genre:
        path = find_merged(pitch_genre, rhythm_genre, model_dir)
        if path:
          merged[pitch_genre, rhythm_genre] = path
  return paths, merged

