"""Writes the pinned results that tests/test_pins.py compares against.

Run it only when a change is meant to alter what the shipped models give for a seed, and
say so in the commit:

  python tests/golden/make_pins.py

It calls the shipped SavedModels with TensorFlow alone and runs the two programs on the
bundled reel, so the pins cover the sampler, the readers and the writers.
"""

import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import tensorflow as tf

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent.parent
PRETRAINED = ROOT / 'stylexfer' / 'pretrained'
REEL = ROOT / 'stylexfer' / 'examples' / 'the_stylexfer_reel.abc'
SEEDS = (1, 2, 3)
# What the heads hear at each seed: any style at an unknown tempo, then a style and tempo.
HEARD = {'folk': {1: ('', 0.0), 2: ('reel', 120.0), 3: ('jig', 200.0)},
         'jazz': {1: ('', 0.0), 2: ('latin', 120.0), 3: ('swing', 260.0)}}

# A melody in 6/8 with a pickup and a repeated bar, as restyle_notes gets it.
PITCHES = [67, 69, 71, 72, 74, 72, 71, 69, 67, 69, 71, 72, 74, 72, 71, 69, 67, 62, 67]
LENGTHS = [1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.5,
           1.5, 1.5, 3.0]
BARS = [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 6]
BAR_LENGTHS = [3.0] * 7

PROGRAMS = {
    'restyle': ['stylexfer-restyle', f'--input={REEL}', '--to=jazz', '--from=folk',
                '--seed=1', '--feel=swing'],
    'generate': ['stylexfer-generate', '--genre=folk', '--rhythm=jazz', '--count=2',
                 '--length=32', '--seed=3', '--style=latin', '--tempo=200'],
}


def signature_pins():
  pins = {}
  for genre in ('folk', 'jazz'):
    loaded = tf.saved_model.load(str(PRETRAINED / genre / '1'))
    for seed in SEEDS:
      style, tempo = HEARD[genre][seed]
      heard = dict(style=tf.constant(style), tempo=tf.constant(tempo))
      generated = loaded.signatures['generate_notes'](
          batch_size=tf.constant(2), length=tf.constant(32), first_pitch=tf.constant(67),
          temperature=tf.constant(1.0), top_p=tf.constant(0.9),
          seed=tf.constant(seed, tf.int64), **heard)
      restyled = loaded.signatures['restyle_notes'](
          pitches=tf.constant([PITCHES]), quarter_lengths=tf.constant([LENGTHS]),
          bars=tf.constant([BARS]), bar_lengths=tf.constant([BAR_LENGTHS]),
          pickup=tf.constant([2.0]), strength=tf.constant(1.0), push=tf.constant(0.0),
          temperature=tf.constant(1.0), top_p=tf.constant(0.9),
          seed=tf.constant(seed, tf.int64), **heard)
      pins[f'{genre}/generate_notes/{seed}'] = {
          k: np.asarray(v).tolist() for k, v in sorted(generated.items())}
      pins[f'{genre}/restyle_notes/{seed}'] = {
          k: np.asarray(v).tolist() for k, v in sorted(restyled.items())}
  return pins


def program_outputs(out_dir):
  """Runs each program into out_dir/<name>; returns {relative path: ABC text}."""
  texts = {}
  bin_dir = pathlib.Path(sys.executable).parent
  for name, argv in PROGRAMS.items():
    target = pathlib.Path(out_dir) / name
    subprocess.run([str(bin_dir / argv[0]), *argv[1:], f'--out={target}'], check=True,
                   capture_output=True)
    for path in sorted(target.glob('*.abc')):
      texts[f'{name}/{path.name}'] = path.read_text()
  return texts


def main():
  lines = [f'{json.dumps(key)}: {json.dumps(value)}' for key, value in signature_pins().items()]
  (HERE / 'signatures.json').write_text('{\n' + ',\n'.join(lines) + '\n}\n')
  with tempfile.TemporaryDirectory() as out_dir:
    for relative, text in program_outputs(out_dir).items():
      path = HERE / relative
      path.parent.mkdir(exist_ok=True)
      path.write_text(text)


if __name__ == '__main__':
  main()
