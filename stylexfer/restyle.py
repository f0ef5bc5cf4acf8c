"""Restyles a melody: keeps its pitches and writes a new rhythm in another genre's style.

  stylexfer-restyle --input=tune.abc --to=jazz [--from=folk] [--tune=2] [--strength=0.7]
                    [--seed=1] [--out=restyled]
  python -m stylexfer.restyle ...   (the same)

reads ABC (one tune chosen by --tune, a 1-based position or a title), MIDI or MusicXML,
asks the `restyle_notes` signature of the --to genre's SavedModel for new durations and
writes, under --out, `<name>.<genre>.{mid,musicxml,abc,svg,png,wav}` and the same for
the melody as it was, `<name>.before.*`. With --from, it prints how likely the rhythm
was before and after under each genre's duration head (nats per note).

Models come from --model_dir (<dir>/<genre>/<version>/, the newest version) or the
package's stylexfer/pretrained/. The time signature and the first note's offset in its
bar (a pickup) are the source's; bar lines and ties are cut for the new rhythm. Notes
sound until the next onset (rests of the source are not written back).
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags

from stylexfer import melody as melody_lib
from stylexfer import models
from stylexfer import render
from stylexfer import vocabulary

PROGRAM = 'stylexfer-restyle'
_MAX_TUNES_LISTED = 6


class CommandError(ValueError):
  """A request that cannot be carried out; its message is the one line the user sees."""


def define_flags(flag_values=flags.FLAGS):
  """The restyle flags; every one is optional here, --input and --to are required in run()."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('input', None, 'Melody file: ABC, MIDI or MusicXML.', **define)
  flags.DEFINE_string('tune', None, 'Which tune of an ABC file: 1-based position or title '
                      '(default: the first).', **define)
  flags.DEFINE_string('to', None, 'Target genre: its rhythm is written (folk, jazz).', **define)
  flags.DEFINE_string('like', None, 'A melody file whose own rhythm to imitate: the target '
                      "genre's duration head listens to it first.", **define)
  flags.DEFINE_string('like_tune', None, 'Which tune of an ABC --like file (position or '
                      'title).', **define)
  flags.DEFINE_string('from', None, 'Source genre: print the rhythm log-likelihood under '
                      'both genres, before and after.', **define)
  define_sampling_flags(flag_values)
  flags.DEFINE_float('strength', 1.0, 'Share of notes whose duration is redrawn, in [0, 1].',
                     **define)
  flags.DEFINE_string('out', 'restyled', 'Output folder.', **define)


def define_sampling_flags(flag_values):
  """Flags shared by restyle and generate."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('model_dir', None, 'Folder of exported models <genre>/<version>/ '
                      '(default: the models shipped in stylexfer/pretrained/).', **define)
  flags.DEFINE_float('temperature', 1.1, 'Sampling temperature (> 0); 1.1 with top_p 0.95 keeps '
                     'the held-out mix of durations best (BUILD_NOTES.md).', **define)
  flags.DEFINE_float('top_p', 0.95, 'Nucleus sampling mass, in (0, 1].', **define)
  flags.DEFINE_integer('seed', 0, 'Random seed: the same seed gives the same result.',
                       **define)
  flags.DEFINE_float('tempo', 120, 'Quarter notes per minute of the audio and MIDI.', **define)
  flags.DEFINE_string('soundfont', None, 'A .sf2 SoundFont for the audio (played through '
                      'fluidsynth); default: $STYLEXFER_SOUNDFONT or a system one.', **define)
  flags.DEFINE_enum('synthesizer', 'auto', ['auto', 'pluck'], 'auto: a SoundFont through '
                    'fluidsynth where both are found, else the built-in plucked string.',
                    **define)


def check_sampling(f):
  """Raises CommandError for sampling controls outside their ranges."""
  if not f.temperature > 0:
    raise CommandError(f'--temperature must be > 0, got {f.temperature}')
  if not 0 < f.top_p <= 1:
    raise CommandError(f'--top_p must be in (0, 1], got {f.top_p}')
  if not f.tempo > 0:
    raise CommandError(f'--tempo must be > 0, got {f.tempo}')
  if f.soundfont and not os.path.isfile(f.soundfont):
    raise CommandError(f'--soundfont {f.soundfont}: no such file')
  if f.model_dir and not os.path.isdir(f.model_dir):
    raise CommandError(f'--model_dir {f.model_dir}: no such folder')


def _describe(tunes):
  listed = ', '.join(f'{i} {title!r}' if title else str(i)
                     for i, (_, title, _) in enumerate(tunes[:_MAX_TUNES_LISTED], 1))
  more = ', ...' if len(tunes) > _MAX_TUNES_LISTED else ''
  return f'{len(tunes)} tune{"s" if len(tunes) != 1 else ""}: {listed}{more}'


def choose_tune(tunes, tune, path):
  """The (number, title, text) of an ABC file's tune chosen by position or title."""
  if tune is None or not str(tune).strip():
    return tunes[0]
  tune = str(tune).strip()
  if tune.isdigit():
    if 1 <= int(tune) <= len(tunes):
      return tunes[int(tune) - 1]
    raise CommandError(f'{path}: there is no tune {tune} (the file holds {_describe(tunes)})')
  wanted = tune.casefold()
  for match in (lambda title: title.casefold() == wanted,
                lambda title: wanted in title.casefold()):
    found = [t for t in tunes if match(t[1])]
    if found:
      return found[0]
  raise CommandError(f'{path}: no tune is titled {tune!r} (the file holds {_describe(tunes)})')


def read_melody(path, tune=None):
  """The melody to restyle from a file; raises MelodyError or CommandError with one line."""
  if not path:
    raise CommandError('no input file: pass --input=FILE (ABC, MIDI or MusicXML)')
  if not os.path.exists(path):
    raise melody_lib.UnreadableFileError(f'{path}: no such file')
  if os.path.isdir(path):
    raise melody_lib.UnreadableFileError(f'{path}: is a folder, not a melody file')
  if os.path.getsize(path) == 0:
    raise melody_lib.UnreadableFileError(f'{path}: the file is empty')
  suffix = os.path.splitext(path)[1].lower()
  if suffix in melody_lib.ABC_SUFFIXES:
    tunes = melody_lib.split_abc(melody_lib.read_text(path))
    if not tunes:
      raise melody_lib.NoNotesError(f'{path}: holds no ABC tune (no X: line)')
    number, title, text = choose_tune(tunes, tune, path)
    return melody_lib.parse_abc_tune(text, path, number, title)
  if tune is not None and str(tune).strip() not in ('', '1'):
    raise CommandError(f'{path}: --tune chooses among the tunes of an ABC file; '
                       'this file holds one melody')
  return melody_lib.read_melodies(path)[0]


def polyphony_warning(melody):
  """A one-line warning when the melody was reduced to its top line, else None."""
  if not melody.counts.get('polyphonic_tunes'):
    return None
  dropped = (melody.counts.get('chord_notes_dropped', 0) +
             melody.counts.get('simultaneous_notes_dropped', 0))
  return (f'warning: {melody.source}: the music is polyphonic; kept its top line '
          f'({dropped} lower note{"s" if dropped != 1 else ""} dropped)')


def _controls(f):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return dict(temperature=tf.constant(f.temperature, tf.float32),
              top_p=tf.constant(f.top_p, tf.float32), seed=tf.constant(f.seed, tf.int64))


def restyle_durations(saved_model, pitches, durations, strength=1.0, temperature=1.0,
                      top_p=1.0, seed=0, like=None):
  """New inter-onset durations (Fractions on the grid) from a model's restyle_notes.

  With `like`, a (pitches, durations) melody, the model's restyle_notes_like listens to
  it first, so the new rhythm leans towards that melody's own.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  notes = lambda p, d: (tf.constant([list(p)], tf.int32),
                        tf.constant([[float(q) for q in d]], tf.float32))
  pitches, quarter_lengths = notes(pitches, durations)
  inputs = dict(pitches=pitches, quarter_lengths=quarter_lengths,
                strength=tf.constant(strength, tf.float32),
                temperature=tf.constant(temperature, tf.float32),
                top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64))
  if like is None:
    outputs = saved_model.signatures['restyle_notes'](**inputs)
  else:
    if 'restyle_notes_like' not in saved_model.signatures:
      raise CommandError('the model has no restyle_notes_like signature (export it again '
                         'with this version of stylexfer to use --like)')
    like_pitches, like_quarter_lengths = notes(*like)
    outputs = saved_model.signatures['restyle_notes_like'](
        like_pitches=like_pitches, like_quarter_lengths=like_quarter_lengths, **inputs)
  return [vocabulary.snap_duration(q) for q in outputs['quarter_lengths'][0].numpy()]


def restyle_melody(saved_model, melody, strength=1.0, temperature=1.0, top_p=1.0, seed=0,
                   structure='bars', push=0.0, like=None):
  """New inter-onset durations (Fractions) for a melody.Melody from a SavedModel.

  structure='bars' keeps every note in the bar it had (repeated bars keep one rhythm);
  'free' draws the rhythm without the bars. `like` is a melody.Melody to imitate.
  """
  del structure, push  # the bar-keeping signatures are not exported yet
  return restyle_durations(saved_model, melody.pitches, melody.durations(), strength,
                           temperature, top_p, seed,
                           like=like and (like.pitches, like.durations()))


def rhythm_log_likelihood(saved_model, pitches, durations):
  """Mean log-probability (nats per note) of the durations under a model's duration head.

  Uses the `serving_default` signature on the tokens the models were trained on; returns
  None when the SavedModel has no such signature (a merged model, for one).
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if 'serving_default' not in saved_model.signatures:
    return None
  from stylexfer import windows  # pylint: disable=g-import-not-at-top
  encoding = vocabulary.encode(list(pitches), list(durations))
  framed = windows.frame(encoding.intervals, encoding.durations)
  try:
    outputs = saved_model.signatures['serving_default'](
        **{name: framed[name][None] for name in windows.FEATURES})
  except (TypeError, ValueError, tf.errors.InvalidArgumentError):
    return None  # another signature under the same key
  log_probs = outputs['duration_log_probs'][0].numpy()
  targets = np.array(encoding.durations)
  return float(np.mean(log_probs[np.arange(len(targets)), targets]))


def likelihood_table(saved_models, before, after):
  """Lines comparing the rhythm's log-likelihood before and after, under each genre."""
  genres = list(saved_models)
  rows = {label: [rhythm_log_likelihood(saved_models[g], *notes) for g in genres]
          for label, notes in (('before', before), ('after', after))}
  if any(value is None for values in rows.values() for value in values):
    return ['(rhythm log-likelihood skipped: a model has no serving_default signature)']
  lines = ['rhythm log-likelihood, nats per note (higher is more typical):',
           '          ' + ''.join(f'{g:>10}' for g in genres)]
  for label, values in rows.items():
    lines.append(f'  {label:<8}' + ''.join(f'{v:>10.3f}' for v in values))
  return lines


def write_tune(tune, out_dir, stem, f):
  return render.write_all(tune, out_dir, stem, tempo=f.tempo, soundfont=f.soundfont,
                          synthesizer=f.synthesizer)


def restyle_file(f, out=None, err=None):
  """Carries out one restyle request from parsed flags; returns {label: {format: path}}."""
  out, err = out or sys.stdout, err or sys.stderr
  if f.to is None:
    raise CommandError('no target genre: pass --to=GENRE (folk or jazz)')
  if not 0 <= f.strength <= 1:
    raise CommandError(f'--strength must be in [0, 1], got {f.strength}')
  check_sampling(f)
  target = models.check_genre(f.to, f.model_dir)
  source = models.check_genre(f['from'].value, f.model_dir) if f['from'].value else None
  melody = read_melody(f.input, f.tune)
  like = read_melody(f.like, f.like_tune) if f.like else None
  for warning in filter(None, map(polyphony_warning, filter(None, [melody, like]))):
    print(warning, file=err)
  paths = {target: models.find_model(target, f.model_dir)}
  if source and source != target:
    paths[source] = models.find_model(source, f.model_dir)
  saved_models = {genre: models.load(path) for genre, path in paths.items()}

  original = melody.durations()
  durations = restyle_durations(saved_models[target], melody.pitches, original, f.strength,
                                f.temperature, f.top_p, f.seed,
                                like=like and (like.pitches, like.durations()))
  title = melody.title or os.path.splitext(os.path.basename(f.input))[0]
  stem = render.slug(title)
  written = {
      'before': write_tune(render.Tune(melody.pitches, original, melody.time_signature,
                                       melody.beats[0], title), f.out, f'{stem}.before', f),
      target: write_tune(render.Tune(melody.pitches, durations, melody.time_signature,
                                     melody.beats[0], f'{title} ({target})'),
                         f.out, f'{stem}.{target}', f),
  }
  print(f'{title}: {len(melody)} notes, {melody.time_signature}, restyled to {target} '
        f'(strength {f.strength:g}, seed {f.seed}) with {paths[target]}'
        + (f', like {f.like}' if like else ''), file=out)
  if source:
    snapped = [vocabulary.snap_duration(d) for d in original]
    order = {g: saved_models[g] for g in dict.fromkeys([source, target])}
    for line in likelihood_table(order, (melody.pitches, snapped),
                                 (melody.pitches, durations)):
      print(line, file=out)
  for label, files in written.items():
    print(f'{label}: ' + ' '.join(files[k] for k in sorted(files)), file=out)
  return written


def one_line(error):
  """An exception's message on one line."""
  text = ' '.join(str(error).split())
  return text or type(error).__name__


def report_errors(program, function, *args):
  """Runs function(*args); a known error becomes one line on stderr and exit status 1."""
  try:
    function(*args)
  except (melody_lib.MelodyError, CommandError, models.ModelNotFoundError,
          models.UnknownGenreError) as error:
    print(f'{program}: error: {one_line(error)}', file=sys.stderr)
    return 1
  except Exception as error:  # pylint: disable=broad-except
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    if isinstance(error, tf.errors.InvalidArgumentError):  # a request the model refused
      print(f'{program}: error: {one_line(error.message.splitlines()[0])}', file=sys.stderr)
      return 1
    raise
  return 0


def main(argv, flag_values=flags.FLAGS):
  if len(argv) > 1:
    print(f'{PROGRAM}: error: unexpected arguments {argv[1:]} (use --input=FILE)',
          file=sys.stderr)
    return 1
  return report_errors(PROGRAM, restyle_file, flag_values)


def run():
  define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
