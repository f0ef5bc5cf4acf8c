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
package's stylexfer/pretrained/. The tune keeps its form: every note stays in the bar it
had (--structure=free draws the rhythm without bars, for comparison), repeated bars keep
one rhythm, and the time signatures, pickup, repeat signs, endings and double bars are
the source's. Rests are written where the target genre rests; MIDI and audio play the
repeats, and jazz swings its eighths (--swing).
"""

import concurrent.futures
import fractions
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
# How long-short eighth pairs are played, by genre: WJazzD's soloists play a median
# beat-upbeat ratio of 1.11 (benchmarks/swing_ratio.py; BUILD_NOTES.md has it by tempo).
SWING_RATIOS = {'jazz': 1.11}
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
  flags.DEFINE_float('strength', 1.0, 'How far the rhythm moves to the target genre, in '
                     '[0, 1]: 0 keeps it, 1 is the full transfer; every note in between '
                     "blends the melody's own duration with the genre's.", **define)
  flags.DEFINE_enum('structure', 'bars', ['bars', 'free'], 'bars: every note stays in the '
                    'bar it had and repeated bars keep one rhythm; free: the rhythm is '
                    'drawn without bars (for comparison).', **define)
  flags.DEFINE_float('push', 0.0, 'Quarter notes (at most 0.5, an eighth) that the first '
                     'note of a bar may start before its bar line, as jazz players '
                     'anticipate; 0 keeps every note in its bar.', **define)
  flags.DEFINE_string('out', 'restyled', 'Output folder.', **define)


def define_sampling_flags(flag_values):
  """Flags shared by restyle and generate."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('model_dir', None, 'Folder of exported models <genre>/<version>/ '
                      '(default: the models shipped in stylexfer/pretrained/).', **define)
  flags.DEFINE_float('temperature', 1.0, 'Sampling temperature (> 0); 1.0 with top_p 0.9 '
                     "gives restyles as coherent as the target genre's own melodies "
                     '(BUILD_NOTES.md); higher is more adventurous.', **define)
  flags.DEFINE_float('top_p', 0.9, 'Nucleus sampling mass, in (0, 1].', **define)
  flags.DEFINE_integer('seed', 0, 'Random seed: the same seed gives the same result.',
                       **define)
  flags.DEFINE_float('tempo', 120, 'Quarter notes per minute of the audio and MIDI.', **define)
  flags.DEFINE_string('soundfont', None, 'A .sf2 SoundFont for the audio (played through '
                      'fluidsynth); default: $STYLEXFER_SOUNDFONT or a system one.', **define)
  flags.DEFINE_enum('synthesizer', 'auto', ['auto', 'pluck'], 'auto: a SoundFont through '
                    'fluidsynth where both are found, else the built-in plucked string.',
                    **define)
  flags.DEFINE_float('swing', None, 'Long-short ratio of eighth-note pairs in the MIDI and '
                     'audio (the notation stays straight); 1 plays straight. Default: '
                     "the target genre's (jazz: as measured on WJazzD; folk: straight).",
                     **define)


def check_sampling(f):
  """Raises CommandError for sampling controls outside their ranges."""
  if not 0 < f.temperature < float('inf'):
    raise CommandError(f'--temperature must be a finite number > 0, got {f.temperature}')
  if not 0 < f.top_p <= 1:
    raise CommandError(f'--top_p must be in (0, 1], got {f.top_p}')
  if not -2**63 <= f.seed < 2**63:  # the signatures take an int64 seed
    raise CommandError(f'--seed must be a 64-bit integer (between -2**63 and 2**63 - 1), '
                       f'got {f.seed}')
  # Slower than 20 or faster than 400 quarters a minute is no tempo for a melody, and
  # --tempo=0.0001 would ask for terabytes of audio.
  if not 20 <= f.tempo <= 400:
    raise CommandError(f'--tempo must be between 20 and 400 quarter notes a minute, '
                       f'got {f.tempo}')
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


def _notes(pitches, durations):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return (tf.constant([list(pitches)], tf.int32),
          tf.constant([[float(q) for q in durations]], tf.float32))


def restyle_durations(saved_model, pitches, durations, strength=1.0, temperature=1.0,
                      top_p=1.0, seed=0, like=None, form=None, push=0.0):
  """New inter-onset durations (Fractions on the grid) and sounding lengths from a model.

  `form` is (bars, bar_lengths, pickup) as stylexfer.metre.form_of gives it: every note
  stays in its bar and repeated bars keep one rhythm; without it the rhythm is drawn
  free. With `like`, a (pitches, durations) melody, the model listens to it first, so
  the new rhythm leans towards that melody's own.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  pitches, quarter_lengths = _notes(pitches, durations)
  inputs = dict(pitches=pitches, quarter_lengths=quarter_lengths,
                strength=tf.constant(strength, tf.float32),
                temperature=tf.constant(temperature, tf.float32),
                top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64))
  name = 'restyle_notes'
  if form is not None:
    bars, bar_lengths, pickup = form
    inputs.update(bars=tf.constant([bars], tf.int32),
                  bar_lengths=tf.constant([bar_lengths], tf.float32),
                  pickup=tf.constant([pickup], tf.float32),
                  push=tf.constant(push, tf.float32))
  if like is not None:
    name += '_like'
    inputs['like_pitches'], inputs['like_quarter_lengths'] = _notes(*like)
  if form is None:
    name += '_free'
  if name not in saved_model.signatures:
    raise CommandError(f'the model has no {name} signature (export it again with this '
                       'version of stylexfer)')
  outputs = saved_model.signatures[name](**inputs)
  return ([vocabulary.snap_duration(q) for q in outputs['quarter_lengths'][0].numpy()],
          [fractions.Fraction(float(q)).limit_denominator(48)
           for q in outputs['sounding_lengths'][0].numpy()])


def form_of(melody):
  """The (bars, bar_lengths, pickup) a restyle of a melody.Melody keeps."""
  # Imported here, like TensorFlow: a bad request fails fast, before TensorFlow starts.
  from stylexfer import metre  # pylint: disable=g-import-not-at-top
  return metre.form_of(melody.bars, melody.bar_lengths or [4] * len(melody),
                       melody.beats[0] if melody.beats else 0)


def restyle_melody(saved_model, melody, strength=1.0, temperature=1.0, top_p=1.0, seed=0,
                   structure='bars', push=0.0, like=None):
  """New inter-onset durations (Fractions) for a melody.Melody from a SavedModel.

  structure='bars' keeps every note in the bar it had (repeated bars keep one rhythm);
  'free' draws the rhythm without the bars. `like` is a melody.Melody to imitate.
  """
  return restyle_durations(
      saved_model, melody.pitches, melody.durations(), strength, temperature, top_p, seed,
      like=like and (like.pitches, like.durations()),
      form=form_of(melody) if structure == 'bars' else None, push=push)[0]


def rhythm_log_likelihood(saved_model, pitches, durations, form=None):
  """Mean log-probability (nats per note) of the durations under a model's duration head.

  Uses the `serving_default` signature on the tokens the models were trained on, with
  the metre of the rhythm laid on the bars of `form` ((bars, bar_lengths, pickup); the
  head hears no metre without it); returns None when the SavedModel has no such
  signature.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if 'serving_default' not in saved_model.signatures:
    return None
  from stylexfer import metre  # pylint: disable=g-import-not-at-top
  from stylexfer import windows  # pylint: disable=g-import-not-at-top
  encoding = vocabulary.encode(list(pitches), list(durations))
  ids = None if form is None else metre.rhythm_ids(
      [float(d) for d in durations], form[1], form[2])
  framed = windows.frame(encoding.intervals, encoding.durations, ids)
  try:
    outputs = saved_model.signatures['serving_default'](
        **{name: framed[name][None] for name in windows.FEATURES})
  except (TypeError, ValueError, tf.errors.InvalidArgumentError):
    return None  # another signature under the same key
  log_probs = outputs['duration_log_probs'][0].numpy()
  targets = np.array(encoding.durations)
  return float(np.mean(log_probs[np.arange(len(targets)), targets]))


def likelihood_table(saved_models, before, after, form=None):
  """Lines comparing the rhythm's log-likelihood before and after, under each genre."""
  genres = list(saved_models)
  rows = {label: [rhythm_log_likelihood(saved_models[g], *notes, form=form) for g in genres]
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


def swing_of(f, genre):
  """The swing ratio to play a genre's output with: --swing, or the genre's own."""
  ratio = SWING_RATIOS.get(genre, 1.0) if f.swing is None else f.swing
  if not 1 <= ratio <= 4:
    raise CommandError(f'--swing must be a long-short ratio in [1, 4] (1: straight), '
                       f'got {ratio}')
  return ratio


def tune_of(melody, durations, sounding, title, swing=1.0):
  """The notation.Tune of a melody with new durations, keeping its bars and form."""
  bars, bar_lengths, pickup = form_of(melody)
  first = melody.bars[0] if melody.bars else 0
  marks = {number - first: mark for number, mark in melody.bar_marks.items()
           if number >= first}
  return render.Tune(melody.pitches, durations, melody.time_signature, pickup, title,
                     sounding=sounding, bar_lengths=list(bar_lengths), marks=marks,
                     swing=swing)


def restyle_file(f, out=None, err=None):
  """Carries out one restyle request from parsed flags; returns {label: {format: path}}."""
  out, err = out or sys.stdout, err or sys.stderr
  if f.to is None:
    raise CommandError('no target genre: pass --to=GENRE (folk or jazz)')
  if not 0 <= f.strength <= 1:
    raise CommandError(f'--strength must be in [0, 1], got {f.strength}')
  if not 0 <= f.push <= 0.5:
    raise CommandError(f'--push must be in [0, 0.5] quarter notes, got {f.push}')
  check_sampling(f)
  target = models.check_genre(f.to, f.model_dir)
  source = models.check_genre(f['from'].value, f.model_dir) if f['from'].value else None
  swing = swing_of(f, target)
  melody = read_melody(f.input, f.tune)
  like = read_melody(f.like, f.like_tune) if f.like else None
  for read in filter(None, [melody, like]):
    for warning in [polyphony_warning(read)] + list(getattr(read, 'warnings', [])):
      if warning:
        print(warning, file=err)
  paths = {target: models.find_model(target, f.model_dir)}
  if source and source != target:
    paths[source] = models.find_model(source, f.model_dir)
  original = melody.durations()
  own_sounding = [min(length, d) for length, d in zip(melody.lengths, original)]
  title = melody.title or os.path.splitext(os.path.basename(f.input))[0]
  stem = render.slug(title)
  # TensorFlow loads the models while the melody as it was is written, in a forked copy
  # of this process where it can be (render.start_write_all), else here while a thread
  # loads. (Verovio must stay on a main thread: it fails to read files from a second one.)
  writing = render.start_write_all(
      tune_of(melody, original, own_sounding, title), f.out, f'{stem}.before',
      tempo=f.tempo, soundfont=f.soundfont, synthesizer=f.synthesizer)
  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
    loading = pool.submit(lambda: {genre: models.load(path) for genre, path in paths.items()})
    before = writing.result()
    saved_models = loading.result()
  form = form_of(melody) if f.structure == 'bars' else None
  durations, sounding = restyle_durations(
      saved_models[target], melody.pitches, original, f.strength, f.temperature, f.top_p,
      f.seed, like=like and (like.pitches, like.durations()), form=form, push=f.push)
  # A note that kept its duration keeps its own articulation; a new one sounds as the
  # genre plays that duration.
  sounding = [own if new == old else genre_sounding for own, new, old, genre_sounding
              in zip(own_sounding, durations, original, sounding)]
  written = {
      'before': before,
      target: write_tune(tune_of(melody, durations, sounding, f'{title} ({target})',
                                 swing), f.out, f'{stem}.{target}', f),
  }
  print(f'{title}: {len(melody)} notes, {melody.time_signature}, restyled to {target} '
        f'(strength {f.strength:g}, seed {f.seed}, {f.structure}) with {paths[target]}'
        + (f', like {f.like}' if like else ''), file=out)
  if source:
    snapped = [vocabulary.snap_duration(d) for d in original]
    order = {g: saved_models[g] for g in dict.fromkeys([source, target])}
    for line in likelihood_table(order, (melody.pitches, snapped),
                                 (melody.pitches, durations), form_of(melody)):
      print(line, file=out)
  for label, files in written.items():
    print(f'{label}: ' + ' '.join(files[k] for k in sorted(files)), file=out)
  return written


def one_line(error):
  """An exception's message on one line; for a request a model refused, its reason.

  TensorFlow puts the reason of a failed assertion on a later line ('assertion failed:
  [a melody must have at most 4096 notes] ... [x ...] [4200] ...') under a first line
  that says only 'Graph execution error:'.
  """
  import re  # pylint: disable=g-import-not-at-top
  text = getattr(error, 'message', None) or str(error)
  failed = re.search(r'assertion failed: \[(.*?)\s*\](.*)', text)
  if failed:
    reason, rest = failed.group(1).rstrip('. '), failed.group(2)
    limit = re.match(r'a melody must have at most (\d+) notes', reason)
    found = re.search(r'\[x \([^)]*\) = \] \[(\d+)\]', rest)
    if limit:
      return (f'the melody has {found.group(1) if found else "more than " + limit.group(1)} '
              f'notes and a model restyles at most {limit.group(1)} at once: pass a shorter '
              f'excerpt (a MIDI or MusicXML file cut to at most {limit.group(1)} notes, or '
              'an ABC tune split into several X: tunes)')
    text = reason
  text = ' '.join(text.split())
  return text or type(error).__name__


def report_errors(program, function, *args):
  """Runs function(*args); a known error becomes one line on stderr and exit status 1."""
  from stylexfer import atomic  # pylint: disable=g-import-not-at-top
  try:
    function(*args)
  except (melody_lib.MelodyError, CommandError, models.ModelNotFoundError,
          models.UnknownGenreError, models.BrokenModelError, atomic.OutputError) as error:
    print(f'{program}: error: {one_line(error)}', file=sys.stderr)
    return 1
  except OSError as error:  # an output place that cannot be written, a full disk
    where = f'{error.filename}: ' if error.filename else ''
    print(f'{program}: error: {where}{atomic.describe(error)}', file=sys.stderr)
    return 1
  except Exception as error:  # pylint: disable=broad-except
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    if isinstance(error, tf.errors.InvalidArgumentError):  # a request the model refused
      print(f'{program}: error: {one_line(error)}', file=sys.stderr)
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
