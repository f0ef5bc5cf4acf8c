"""Exports the shipped SavedModels again from their own variables with the current code.

Run it when a change alters the sampling graphs but not the weights, then check the pins:

  python tests/golden/reexport_pretrained.py && pytest -q tests/test_pins.py

With a folder, it writes the exports there instead, with another style guidance (how the
guidance of the shipped genres was chosen, BUILD_NOTES.md "What the controls do"):

  python tests/golden/reexport_pretrained.py 4 /tmp/guidance_4

It rebuilds each genre's module around a default-preset model, restores every variable from
the shipped checkpoint, saves it, and replaces saved_model.pb and fingerprint.pb only once
the new checkpoint holds the same variables with the same values (the variable files stay).
"""

import dataclasses
import os
import shutil
import sys
import tempfile

import numpy as np
import tensorflow as tf

from stylexfer.model import melody_model
from stylexfer.serving import genre as genre_lib
from stylexfer.serving import saving
from stylexfer.tokens import traits

# What the shipped genres need at run time (stylexfer.tokens.traits): G4 and F4, the middle
# of each corpus's first notes; WJazzD's median swing (stylexfer-evaluate --swing); folk's
# jigs in 6/8; and each one's strength, calibrated on held-out restyles to it so that 0.5
# is half way (BUILD_NOTES.md, "Strength"): to jazz a share of the bars changes, the others
# keep their rhythm; to folk every note leans to the genre (0.55 at strength 0.5), and
# all bars change only above 0.75. The styles each model hears: folk's tune types, jazz's
# feels (stylexfer-train --style_field=feel --style_groups=latin+funk+latin/funk
# --min_style_melodies=20), pushed from any style's rhythm: jazz's by the default guidance,
# folk's less, since past 2 its restyles' rhythm grew less typical of folk (its n-gram)
# and the judges heard the tune types little better (BUILD_NOTES.md, "What the controls
# do"). How WJazzD's soloists swing their eighths (median ratio) by feel (latin 1.06 and
# funk 1.03 together), and by tempo (quarters a minute): stylexfer-evaluate --styles --swing.
STYLE_SWING = (1.12, 1.05, 1.22)
TEMPO_SWING = ((120, 1.06), (160, 1.11), (200, 1.16), (250, 1.14), (400, 1.09))
FOLK_GUIDANCE = 2.0
TRAITS = {
    'folk': traits.Traits(67, 1.0, True, strength_map=(0.0, 0.0, 0.0, 0.0, 1.0),
                          blend_map=(0.0, 0.55, 1.0),
                          styles=('reel', 'jig', 'hornpipe', 'slip jig', 'waltz'),
                          style_guidance=FOLK_GUIDANCE),
    'jazz': traits.Traits(65, 1.11, False, strength_map=(0.0, 0.3, 0.52, 0.8, 1.0),
                          blend_map=(0.0, 0.0), styles=('swing', 'latin', 'twobeat'),
                          style_field='feel',
                          style_aliases=(('funk', 'latin'), ('latin/funk', 'latin')),
                          style_swing=STYLE_SWING, tempo_swing=TEMPO_SWING),
}

PRETRAINED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                          'stylexfer', 'pretrained')
GRAPH_FILES = ('saved_model.pb', 'fingerprint.pb')


def reexport(genre, guidance=None, folder=None):
  """Exports a shipped genre again; into `folder` with `guidance`, else in place."""
  path = os.path.join(PRETRAINED, genre, '1')
  checkpoint = os.path.join(path, 'variables', 'variables')
  old = tf.train.load_checkpoint(checkpoint)
  genre_traits = TRAITS[genre]
  if guidance is not None:
    genre_traits = dataclasses.replace(genre_traits, style_guidance=guidance)
  module = genre_lib.GenreModule(
      melody_model.build_model(dataclasses.replace(
          melody_model.preset('default'), styles=len(genre_traits.styles))), genre,
      old.get_tensor('sounding_values/.ATTRIBUTES/VARIABLE_VALUE'), genre_traits)
  tf.train.Checkpoint(module).read(checkpoint).assert_existing_objects_matched()
  new_path = saving.save_versioned(module, folder or tempfile.mkdtemp(), genre, 1)
  if folder:
    print(new_path)
    return
  new = tf.train.load_checkpoint(os.path.join(new_path, 'variables', 'variables'))
  keys = new.get_variable_to_shape_map()
  if set(keys) != set(old.get_variable_to_shape_map()):
    raise SystemExit(f'{genre}: the new export holds other variables than {checkpoint}')
  for key in keys:
    if '_CHECKPOINTABLE_OBJECT_GRAPH' not in key and not np.array_equal(
        new.get_tensor(key), old.get_tensor(key)):
      raise SystemExit(f'{genre}: variable {key} differs from {checkpoint}')
  for name in GRAPH_FILES:
    shutil.copy(os.path.join(new_path, name), os.path.join(path, name))
  print(f'{path}: graph exported again, {len(keys)} variables unchanged')


if __name__ == '__main__':
  if len(sys.argv) == 3:
    for genre in ('folk', 'jazz'):
      reexport(genre, float(sys.argv[1]), sys.argv[2])
  else:
    for genre in ('folk', 'jazz'):
      reexport(genre)
