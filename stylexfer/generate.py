"""Writes new melodies: one genre's pitches, the same or another genre's rhythm.

  stylexfer-generate --genre=folk [--rhythm=jazz] [--count=4] [--length=64] [--seed=0]
                     [--out=generated]
  python -m stylexfer.generate ...   (the same)

Each melody is written under --out as `<genre>-<rhythm>-<seed>-<n>.{mid,musicxml,abc,svg,
png,wav}`. With --rhythm other than --genre, a merged SavedModel named
`<genre>_<rhythm>` (see stylexfer.models) is used when there is one; otherwise the
genre's `generate_notes` draws the melody and the rhythm model's `restyle_notes` redraws
every duration (strength 1) with the same seed.

Time signature (unless --time_signature is given): 4/4 for a jazz rhythm; for a folk
rhythm 6/8 when the notes' onsets, weighted by their lengths (and scaled by the beat's
length), fall on dotted-quarter beats clearly (by a quarter) more than on quarter
beats, else 4/4. Generated melodies start on the downbeat (no pickup). Pitches that wander out of
the MIDI range an instrument plays (an untrained model can) are folded by octaves into
MIDI 36..96.
"""

import fractions
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from music21 import meter

from stylexfer import models
from stylexfer import render
from stylexfer import restyle
from stylexfer import vocabulary

PROGRAM = 'stylexfer-generate'
FIRST_PITCH = {'folk': 67, 'jazz': 65}  # G4 and F4: the middle of each corpus's range
LOWEST, HIGHEST = 36, 96
MAX_COUNT = 256
CommandError = restyle.CommandError


def define_flags(flag_values=flags.FLAGS):
  """The generate flags; every one is optional here, --genre is required in run()."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('genre', None, 'Genre of the pitches (folk, jazz).', **define)
  flags.DEFINE_string('rhythm', None, 'Genre of the rhythm (default: --genre).', **define)
  flags.DEFINE_integer('count', 1, 'How many melodies.', **define)
  flags.DEFINE_integer('length', 64, 'Notes per melody.', **define)
  flags.DEFINE_integer('first_pitch', None, 'MIDI pitch of the first note (default: G4 '
                       'for folk, F4 for jazz).', **define)
  flags.DEFINE_string('time_signature', None, 'Time signature, e.g. 3/4 (default: chosen '
                      'from the rhythm, see the module docstring).', **define)
  restyle.define_sampling_flags(flag_values)
  flags.DEFINE_string('out', 'generated', 'Output folder.', **define)


def fold_pitches(pitches, lowest=LOWEST, highest=HIGHEST):
  """Pitches moved by octaves into [lowest, highest]."""
  folded = []
  for pitch in pitches:
    pitch = int(pitch)
    while pitch < lowest:
      pitch += 12
    while pitch > highest:
      pitch -= 12
    folded.append(pitch)
  return folded


def choose_time_signature(rhythm, durations):
  """'4/4' for jazz; for folk '6/8' or '4/4' by where the onsets fall (see module doc)."""
  if rhythm != 'folk':
    return '4/4'
  onsets, position = [], fractions.Fraction(0)
  for d in durations:
    onsets.append((position, d))
    position += d

  def fit(beat):
    # Length-weighted share of notes starting on a beat, scaled by the beat's length so
    # that evenly running notes score the same on both grids.
    on_beat = sum(d for onset, d in onsets if onset % beat == 0)
    return on_beat / max(position, 1) * beat

  # A clear margin: evenly running eighths fit both grids about equally and stay in 4/4.
  return '6/8' if fit(fractions.Fraction(3, 2)) > 1.25 * fit(fractions.Fraction(1)) else '4/4'


def generate_tunes(f, out=None):
  """Carries out one generate request from parsed flags; returns a list of {format: path}."""
  out = out or sys.stdout
  if f.genre is None:
    raise CommandError('no genre: pass --genre=GENRE (folk or jazz)')
  genre = models.check_genre(f.genre, f.model_dir)
  rhythm = models.check_genre(f.rhythm or f.genre, f.model_dir)
  if not 1 <= f.count <= MAX_COUNT:
    raise CommandError(f'--count must be in [1, {MAX_COUNT}], got {f.count}')
  from stylexfer import sampling  # pylint: disable=g-import-not-at-top
  if not 1 <= f.length <= sampling.MAX_LENGTH:
    raise CommandError(f'--length must be in [1, {sampling.MAX_LENGTH}], got {f.length}')
  first_pitch = FIRST_PITCH.get(genre, 67) if f.first_pitch is None else f.first_pitch
  if not 0 <= first_pitch <= 127:
    raise CommandError(f'--first_pitch must be a MIDI pitch in [0, 127], got {first_pitch}')
  if f.time_signature:
    try:
      meter.TimeSignature(f.time_signature)
    except Exception:  # music21 raises several types for a bad signature
      raise CommandError(f'--time_signature {f.time_signature!r} is not a time signature '
                         '(e.g. 4/4, 6/8)') from None
  restyle.check_sampling(f)

  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  merged = models.find_merged(genre, rhythm, f.model_dir) if rhythm != genre else None
  pitch_path = merged or models.find_model(genre, f.model_dir)
  rhythm_path = None if merged or rhythm == genre else models.find_model(rhythm, f.model_dir)
  outputs = models.load(pitch_path).signatures['generate_notes'](
      batch_size=tf.constant(f.count, tf.int32), length=tf.constant(f.length, tf.int32),
      first_pitch=tf.constant(first_pitch, tf.int32),
      temperature=tf.constant(f.temperature, tf.float32),
      top_p=tf.constant(f.top_p, tf.float32), seed=tf.constant(f.seed, tf.int64))
  written = []
  for n in range(f.count):
    pitches = fold_pitches(outputs['pitches'][n].numpy())
    durations = [vocabulary.snap_duration(q) for q in outputs['quarter_lengths'][n].numpy()]
    sounding = [fractions.Fraction(float(q)).limit_denominator(48)
                for q in outputs['sounding_lengths'][n].numpy()]
    if rhythm_path:
      # Generated melodies have no bars of their own to keep: the rhythm is drawn free.
      durations, sounding = restyle.restyle_durations(
          models.load(rhythm_path), pitches, durations, 1.0, f.temperature, f.top_p,
          f.seed + n)
    signature = f.time_signature or choose_time_signature(rhythm, durations)
    label = genre if rhythm == genre else f'{genre} with {rhythm} rhythm'
    tune = render.Tune(pitches, durations, signature, 0,
                       f'{label.capitalize()} {f.seed}-{n + 1}', sounding=sounding,
                       swing=restyle.swing_of(f, rhythm))
    files = restyle.write_tune(tune, f.out, f'{genre}-{rhythm}-{f.seed}-{n + 1}', f)
    written.append(files)
    print(f'{tune.title}: {len(pitches)} notes, {signature}: ' +
          ' '.join(files[k] for k in sorted(files)), file=out)
  print(f'models: {pitch_path}' + (f' + {rhythm_path}' if rhythm_path else ''), file=out)
  return written


def main(argv, flag_values=flags.FLAGS):
  if len(argv) > 1:
    print(f'{PROGRAM}: error: unexpected arguments {argv[1:]}', file=sys.stderr)
    return 1
  return restyle.report_errors(PROGRAM, generate_tunes, flag_values)


def run():
  define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
