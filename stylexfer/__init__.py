"""stylexfer: keep a melody's tones, give it another genre's rhythm.

  import stylexfer
  jazz = stylexfer.load('jazz')                 # a shipped genre, or a SavedModel folder
  reel = stylexfer.read(stylexfer.REEL)         # ABC, MIDI or MusicXML
  jazz.restyle(reel, strength=0.7, seed=1)      # a Melody: shows its score in a notebook
  jazz.restyle(reel).write('restyled')          # MIDI, MusicXML, ABC, SVG, PNG, WAV

`load`, `read`, `Model` and `Melody` are those of stylexfer.api; importing stylexfer
alone does not start TensorFlow (the programs check their flags first).
"""

import importlib
import importlib.resources
import os

__version__ = '0.6.0'

# The bundled example tune, wherever the package is installed.
REEL = str(importlib.resources.files(__name__) / 'examples' / 'the_stylexfer_reel.abc')

# TensorFlow's C++ start-up notices are kept out of notebooks and terminals unless the
# user set the level (TF_CPP_MIN_LOG_LEVEL=0 shows them all).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

_FRONT_DOOR = {'load': 'stylexfer.api.models', 'Model': 'stylexfer.api.models',
               'read': 'stylexfer.api.melodies', 'Melody': 'stylexfer.api.melodies'}


def __getattr__(name):
  if name in _FRONT_DOOR:
    return getattr(importlib.import_module(_FRONT_DOOR[name]), name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
  return sorted(list(globals()) + list(_FRONT_DOOR))
