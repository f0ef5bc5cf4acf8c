"""Restyles a melody: keeps its pitches and writes a new rhythm in another genre's style.

  stylexfer-restyle --input=tune.abc --to=jazz [--from=folk] [--tune=2] [--strength=0.7]
                    [--seed=1] [--out=restyled]
  python -m stylexfer.programs.restyle ...   (the same)

reads ABC (one tune chosen by --tune, a 1-based position or a title), MIDI or MusicXML,
asks the `restyle_notes` signature of the --to genre's SavedModel for new durations and
writes, under --out, `<name>.<genre>.{mid,musicxml,abc,svg,png,wav}` and the same for
the melody as it was, `<name>.before.*`. With --from, it prints how likely the rhythm
was before and after under each genre's duration head (nats per note).

Models come from --models_dir (<dir>/<genre>/<version>/, the newest version) or the
package's stylexfer/pretrained/. The tune keeps its form: every note stays in the bar it
had and starts where a score writes an onset (--structure=free draws the rhythm without
bars, for comparison), repeated bars keep one rhythm, and the time signatures, pickup,
repeat signs, endings and double bars are the source's. Rests are written where the
target genre rests; MIDI and audio play the repeats, and jazz swings its eighths (--swing).
"""

import concurrent.futures
import contextlib
import dataclasses
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer import atomic
from stylexfer.programs import common
from stylexfer.programs import shared_flags
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import readers
from stylexfer.serving import controls
from stylexfer.serving import loading
from stylexfer.writers import render

PROGRAM = 'stylexfer-restyle'
CommandError = common.CommandError


def define_flags(flag_values=flags.FLAGS):
  """The restyle flags; every one is optional here, --input and --to are checked later."""
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
  shared_flags.define_sampling_flags(flag_values)
  shared_flags.define_playing_flags(flag_values)
  flags.DEFINE_float('strength', controls.STRENGTH, 'How far the rhythm moves to the target '
                     'genre, in [0, 1]: 0 keeps it, 1 is the full transfer, 0.5 half way (a '
                     "share of the bars takes the genre's rhythm, the others lean to it as "
                     "the genre's calibration says).", **define)
  flags.DEFINE_enum('structure', 'bars', ['bars', 'free'], 'bars: every note stays in the '
                    'bar it had, on a place a score writes, and repeated bars keep one '
                    'rhythm; free: the rhythm is drawn without bars (for comparison).', **define)
  flags.DEFINE_float('push', controls.PUSH, 'Quarter notes (at most 0.5, an eighth) that '
                     'the first note of a bar may start before its bar line, as jazz '
                     'players anticipate; 0 keeps every note in its bar.', **define)
  flags.DEFINE_string('out', 'restyled', 'Output folder.', **define)



def restyle_file(f, out=None, err=None):
  """Carries out one restyle request from parsed flags; returns {label: {format: path}}."""
  out, err = out or sys.stdout, err or sys.stderr
  if f.to is None:
    raise CommandError('no target genre: pass --to=GENRE (folk or jazz)')
  controls.check('--', strength=f.strength, push=f.push)
  common.check_sampling(f)
  target = loading.check_genre(f.to, f.models_dir)
  source = loading.check_genre(f['from'].value, f.models_dir) if f['from'].value else None
  if not f.input:
    raise CommandError('no input file: pass --input=FILE (ABC, MIDI or MusicXML)')
  # A missing file or tune is said at once, before TensorFlow starts and prints its
  # notices; music that cannot be parsed is found beside the start.
  readers.find_tune(f.input, f.tune)
  paths = {genre: loading.find_model(genre, f.models_dir)
           for genre in dict.fromkeys(filter(None, [target, source]))}
  # A forked copy of this process (render.Writer), where it can be, reads the melody
  # while this one starts TensorFlow and loads the target's model, then writes the
  # melody as it was, and later the restyled one while the source's model loads and
  # scores the rhythms. Else the melody is read and written here while a thread loads.
  # The output folder is locked from the first file written until the writer has
  # written the last (the writer closes first): two restyles into one folder write
  # their sets one after the other, never a set of files from both.
  lock = contextlib.ExitStack()
  with lock, render.Writer() as writer:
    reading = writer.run(readers.read_melody, f.input, f.tune)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    loaded = pool.submit(loading.load, paths[target])
    pool.shutdown(wait=False)  # a melody refused is said at once, not after the load
    melody = reading.result()
    like = readers.read_melody(f.like, f.like_tune) if f.like else None
    # Refused before the first file is written: a refusal leaves nothing behind.
    common.check_length(melody)
    common.check_length(like, f'the --like melody {f.like}')
    if common.style(f):  # a style the model lacks, said before anything is written
      from stylexfer.serving import client  # pylint: disable=g-import-not-at-top
      try:
        client.traits_of(loaded.result()).style_set.request_id(common.style(f))
      except ValueError as error:
        raise CommandError(f'--style: {target}: {error}') from None
    for read in filter(None, [melody, like]):
      for warning in [melody_lib.polyphony_warning(read)] + read.warnings:
        if warning:
          print(warning, file=err)
    title = melody.title or os.path.splitext(os.path.basename(f.input))[0]
    melody = dataclasses.replace(melody, title=title)
    stem = render.slug(title)
    atomic.make_folder(f.out)
    lock.enter_context(atomic.locked(f.out, waiting=lambda: print(
        f'waiting for another restyle to finish writing into {f.out}', file=err)))
    before = writer.write(melody, f.out, f'{stem}.before', **common.playing(f))
    if not writer.elsewhere:
      before.result()
    # Imported once the request is known to be good: it starts TensorFlow, which the
    # loader has done by now.
    from stylexfer.api import models  # pylint: disable=g-import-not-at-top
    model = models.Model(loaded.result(), paths[target])
    restyled = model.restyle(melody, f.strength, like, f.push, f.structure, f.swing,
                             f.temperature, f.top_p, f.seed, style=common.style(f),
                             tempo=f.tempo)
    after = writer.write(restyled, f.out, f'{stem}.{target}', **common.playing(f))
    table = []
    if source:
      scorer = model if source == target else models.Model(loading.load(paths[source]),
                                                             paths[source])
      table = models.rhythm_report(scorer, model, melody, restyled)
    written = {'before': before.result(), target: after.result()}
  changed = models.changed_durations(melody, restyled)
  print(f'{title}: {len(melody)} notes, {melody.time_signature}, restyled to {target} '
        f'({f"{common.style(f)}, " if common.style(f) else ""}'
        f'strength {f.strength:g}, seed {f.seed}, {f.structure}; {changed} of '
        f'{len(melody)} durations changed) with {paths[target]}'
        + (f', like {f.like}' if like else ''), file=out)
  if not changed and f.strength > 0:
    print(f'Nothing changed: the bars strength {f.strength:g} chose kept their own '
          'durations (few bars, or a rhythm the genre plays too); a higher --strength or '
          'another --seed changes more.', file=out)
  for line in table:
    print(line, file=out)
  for label, files in written.items():
    print(f'{label}: ' + ' '.join(files[k] for k in sorted(files)), file=out)
  return written


def main(argv, flag_values=flags.FLAGS):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, restyle_file, flag_values)


def run():
  define_flags()
  common.run_then_exit(main, __doc__, program=PROGRAM, hint=' (use --input=FILE)')


if __name__ == '__main__':
  run()
