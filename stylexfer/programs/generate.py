"""Writes new melodies: one genre's pitches, the same or another genre's rhythm.

  stylexfer-generate --genre=folk [--rhythm=jazz] [--count=4] [--length=64] [--seed=0]
                     [--out=generated]
  python -m stylexfer.programs.generate ...   (the same)

Each melody is written under --out as `<genre>-<rhythm>-<seed>-<n>.{mid,musicxml,abc,svg,
png,wav}`. The genre's `generate_notes` draws the melody; the rhythm model's (the same
genre's, or --rhythm's) `restyle_notes` then redraws every duration (strength 1) with the
same seed, keeping each note in the bar the drawn rhythm put it in, so that every onset
lands where a score writes one, as in a restyle.

Time signature (unless --time_signature is given): 4/4 for a jazz rhythm; for a folk
rhythm 6/8 or 4/4 by where the onsets fall (stylexfer.serving.client.choose_time_signature).
Generated melodies start on the downbeat (no pickup). Pitches that wander out of the MIDI
range an instrument plays (an untrained model can) are folded by octaves into MIDI 36..96.
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer.programs import common
from stylexfer.programs import shared_flags
from stylexfer.serving import controls
from stylexfer.serving import loading

PROGRAM = 'stylexfer-generate'
CommandError = common.CommandError


def define_flags(flag_values=flags.FLAGS):
  """The generate flags; every one is optional here, --genre is checked later."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('genre', None, 'Genre of the pitches (folk, jazz).', **define)
  flags.DEFINE_string('rhythm', None, 'Genre of the rhythm (default: --genre).', **define)
  flags.DEFINE_integer('count', 1, 'How many melodies.', **define)
  flags.DEFINE_integer('length', controls.LENGTH, 'Notes per melody.', **define)
  flags.DEFINE_integer('first_pitch', None, "MIDI pitch of the first note (default: the "
                       "genre's, stored in its model: G4 for folk, F4 for jazz).", **define)
  flags.DEFINE_string('time_signature', None, 'Time signature, e.g. 3/4 (default: chosen '
                      'from the rhythm, see the module docstring).', **define)
  shared_flags.define_sampling_flags(flag_values)
  shared_flags.define_playing_flags(flag_values)
  flags.DEFINE_string('out', 'generated', 'Output folder.', **define)


def generate_tunes(f, out=None):
  """Carries out one generate request from parsed flags; returns a list of {format: path}."""
  out = out or sys.stdout
  if f.genre is None:
    raise CommandError('no genre: pass --genre=GENRE (folk or jazz)')
  genre = loading.check_genre(f.genre, f.models_dir)
  rhythm = loading.check_genre(f.rhythm or f.genre, f.models_dir)
  controls.check('--', count=f.count)
  controls.check_time_signature(f.time_signature or None, '--')
  controls.check('--', length=f.length, first_pitch=f.first_pitch)
  common.check_sampling(f)
  pitch_path = loading.find_model(genre, f.models_dir)
  rhythm_path = loading.find_model(rhythm, f.models_dir)
  # Imported once the flags are known to be good: it starts TensorFlow.
  from stylexfer.api import models  # pylint: disable=g-import-not-at-top
  pitch_model = models.Model(loading.load(pitch_path), pitch_path)
  rhythm_model = models.Model(loading.load(rhythm_path), rhythm_path)
  melodies = pitch_model.generate(f.count, f.length, rhythm_model, f.first_pitch,
                                  f.time_signature, f.swing, f.temperature, f.top_p, f.seed,
                                  style=common.style(f), tempo=f.tempo)
  written = []
  for n, melody in enumerate(melodies):
    files = common.write_melody(melody, f.out, f'{genre}-{rhythm}-{f.seed}-{n + 1}', f)
    written.append(files)
    print(f'{melody.title}: {len(melody)} notes, {melody.time_signature}: ' +
          ' '.join(files[k] for k in sorted(files)), file=out)
  print(f'models: {pitch_path}' + (f' + {rhythm_path}' if rhythm_path != pitch_path else ''),
        file=out)
  return written


def main(argv, flag_values=flags.FLAGS):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, generate_tunes, flag_values)


def run():
  define_flags()
  common.run_then_exit(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
