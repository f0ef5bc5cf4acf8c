"""Times `stylexfer-restyle` on long melodies, end to end, and where the time goes. Not a test.

  python benchmarks/long_restyle.py [--lengths=500,1000,2000,4000] [--formats=abc,mid]
                                    [--repeats=3] [--profile=4000] [--work_dir=DIR]

Writes an ABC tune and a MIDI file of each length (a seeded random walk in D major, 4/4,
eighths, quarters and dotted pairs, bars that repeat now and then), runs the restyle
program on each as a user would (a fresh process, every output written, the shipped
models) and prints the median wall time, the stderr lines it wrote and the time per note.
With --profile=N, the N-note ABC restyle is also run under cProfile in this process and
the functions taking the most cumulative time are printed, after the table. With
--phases=N, the N-note restyle of each input format is run in this process, once from
cold (TensorFlow not yet imported) and once with the models loaded, and the seconds
spent in each step (reading, engraving, each output format, loading, sampling) are
printed: a breakdown without the profiler's overhead.
"""

import cProfile
import io
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

flags.DEFINE_list('lengths', ['500', '1000', '2000', '4000'], 'Notes per melody.')
flags.DEFINE_list('formats', ['abc', 'mid'], 'Input formats to time.')
flags.DEFINE_integer('repeats', 3, 'Timed runs per input (the median is kept).')
flags.DEFINE_integer('profile', 0, 'Notes of the ABC tune to profile in-process (0: none).')
flags.DEFINE_integer('top', 25, 'Functions listed by the profile.')
flags.DEFINE_integer('phases', 0, 'Notes of the melodies whose restyle is timed step by step '
                     'in-process (0: none).')
flags.DEFINE_string('work_dir', None, 'Where the inputs and outputs go (default: a new '
                    'temporary folder).')
FLAGS = flags.FLAGS

_NAMES = ['C', 'D', 'E', 'F', 'G', 'A', 'B']
_D_MAJOR = [62, 64, 66, 67, 69, 71, 73, 74, 76, 78, 79, 81, 83]
# Bar rhythms in eighths, each filling a 4/4 bar.
_BARS = [[1] * 8, [2, 1, 1, 2, 1, 1], [3, 1, 2, 2], [1, 1, 2, 1, 1, 2], [2, 2, 2, 2],
         [3, 1, 3, 1], [1, 1, 1, 1, 2, 2]]


def melody(count, seed=0):
  """(pitches, durations in eighths) of a count-note random walk; bars repeat now and then."""
  rng = random.Random(seed)
  pitches, eighths, step = [], [], 6
  played_bars = []
  while len(pitches) < count:
    if played_bars and rng.random() < 0.2:
      bar = rng.choice(played_bars)  # a repeated bar: the same notes and rhythm
    else:
      rhythm = rng.choice(_BARS)
      bar = []
      for value in rhythm:
        step = min(len(_D_MAJOR) - 1, max(0, step + rng.choice([-2, -1, -1, 1, 1, 2])))
        bar.append((_D_MAJOR[step], value))
      played_bars.append(bar)
    for pitch, value in bar:
      pitches.append(pitch)
      eighths.append(value)
  # Whole bars only: the melody ends at a bar line, a little over `count` notes at most.
  return pitches, eighths


def _abc_pitch(midi):
  names = {62: 'D', 64: 'E', 66: 'F', 67: 'G', 69: 'A', 71: 'B', 73: 'c', 74: 'd',
           76: 'e', 78: 'f', 79: 'g', 81: 'a', 83: 'b'}
  return names[midi]


def write_abc(path, pitches, eighths):
  body, filled, line = [], 0, []
  for pitch, value in zip(pitches, eighths):
    line.append(_abc_pitch(pitch) + (str(value) if value != 1 else ''))
    filled += value
    if filled % 8 == 0:
      line.append('|')
      if filled % 32 == 0:
        body.append(' '.join(line))
        line = []
  if line:
    body.append(' '.join(line))
  text = ('X:1\nT:Long Walk\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n' + '\n'.join(body) + '\n')
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)


def write_midi(path, pitches, eighths):
  import fractions  # pylint: disable=g-import-not-at-top
  from stylexfer.reading import melody as melody_lib  # pylint: disable=g-import-not-at-top
  from stylexfer.writers import midi_writer  # pylint: disable=g-import-not-at-top
  from stylexfer.writers import notation  # pylint: disable=g-import-not-at-top
  walk = melody_lib.Melody.from_durations(
      pitches, [fractions.Fraction(value, 2) for value in eighths], '4/4', title='Long Walk')
  walk.tempo = 120
  midi_writer.write_midi(notation.layout(walk), path)


def _restyle_command(path, out):
  return [sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={path}', '--to=jazz',
          '--from=folk', '--seed=1', f'--out={out}']


def time_restyle(path, out, repeats):
  """Median seconds of the restyle program on `path`, and its stderr lines."""
  times, lines = [], 0
  for _ in range(repeats):
    start = time.perf_counter()
    done = subprocess.run(_restyle_command(path, out), capture_output=True, text=True,
                          check=False)
    times.append(time.perf_counter() - start)
    if done.returncode:
      raise RuntimeError(f'{path}: {done.stderr.strip().splitlines()[-1:]}')
    lines = len(done.stderr.splitlines())
  return statistics.median(times), lines, times


def profile(path, out, top):
  """Runs the restyle program's work in this process under cProfile; prints the top."""
  from stylexfer.programs import restyle  # pylint: disable=g-import-not-at-top
  flag_values = flags.FlagValues()
  restyle.define_flags(flag_values)
  flag_values(['restyle', f'--input={path}', '--to=jazz', '--from=folk', '--seed=1',
               f'--out={out}'])
  restyle.restyle_file(flag_values, out=io.StringIO())  # warm: TensorFlow and models
  profiler = cProfile.Profile()
  start = time.perf_counter()
  profiler.enable()
  restyle.restyle_file(flag_values, out=io.StringIO())
  profiler.disable()
  print(f'\nprofile of {path} in-process (models loaded): '
        f'{time.perf_counter() - start:.2f} s')
  pstats.Stats(profiler).sort_stats('cumulative').print_stats(top)


# The steps --phases times: (module, function, label). Each is timed where the program
# calls it; steps on the second thread (model loading, the PNG) overlap the others.
_PHASES = [
    ('stylexfer.reading.readers', 'read_melody', 'read the input'),
    ('stylexfer.serving.loading', 'load', 'load a model (thread)'),
    ('stylexfer.serving.client', 'restyle_durations', 'sample the rhythm'),
    ('stylexfer.serving.client', 'likelihood_table', 'log-likelihoods'),
    ('stylexfer.reading.lead_sheet', 'key_for', 'choose the key'),
    ('stylexfer.writers.measures', 'bars', 'lay out the bars'),
    ('stylexfer.writers.musicxml_writer', 'write_musicxml', 'MusicXML'),
    ('stylexfer.writers.render', 'render_svg', 'SVG (verovio)'),
    ('stylexfer.writers.render', 'png_bytes_elsewhere', 'PNG (another process)'),
    ('stylexfer.writers.midi_writer', 'write_midi', 'MIDI'),
    ('stylexfer.writers.abc_writer', 'to_abc', 'ABC'),
    ('stylexfer.writers.audio', 'write_wav', 'WAV'),
]


def phases(paths, out):
  """Seconds per step of the restyle program, run in this process, cold and warm."""
  import importlib  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  from stylexfer.programs import restyle  # pylint: disable=g-import-not-at-top
  spent, lock = {}, threading.Lock()

  def timed(function, label):
    def run(*args, **keywords):
      start = time.perf_counter()
      try:
        return function(*args, **keywords)
      finally:
        with lock:
          spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
    return run

  for module_name, name, label in _PHASES:
    module = importlib.import_module(module_name)
    setattr(module, name, timed(getattr(module, name), label))
  for path in paths:
    flag_values = flags.FlagValues()
    restyle.define_flags(flag_values)
    flag_values(['restyle', f'--input={path}', '--to=jazz', '--from=folk', '--seed=1',
                 f'--out={out}'])
    for run in ('cold', 'warm') if path == paths[0] else ('warm',):
      spent.clear()
      start = time.perf_counter()
      restyle.restyle_file(flag_values, out=io.StringIO())
      total = time.perf_counter() - start
      print(f'\nphases of {os.path.basename(path)}, {run}: {total:.2f} s in all '
            f'(load average {os.getloadavg()[0]:.2f})')
      for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f'  {label:<24} {seconds:6.2f} s')


def main(argv):
  del argv
  work = FLAGS.work_dir or tempfile.mkdtemp(prefix='long_restyle_')
  os.makedirs(work, exist_ok=True)
  lengths = [int(n) for n in FLAGS.lengths]
  rows = []
  for count in lengths:
    pitches, eighths = melody(count)
    for kind in FLAGS.formats:
      path = os.path.join(work, f'walk{count}.{kind}')
      (write_abc if kind == 'abc' else write_midi)(path, pitches, eighths)
      seconds, lines, times = time_restyle(path, os.path.join(work, f'out{count}{kind}'),
                                           FLAGS.repeats)
      rows.append((kind, len(pitches), seconds, lines, times))
      print(f'{kind} {len(pitches)} notes: {seconds:.2f} s '
            f'(runs {", ".join(f"{t:.2f}" for t in times)}), {lines} stderr lines',
            flush=True)
  print(f'\n{os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.2f}')
  print('| input | notes | s (median) | ms per note | stderr lines |')
  print('|---|---:|---:|---:|---:|')
  for kind, count, seconds, lines, _ in rows:
    print(f'| {kind} | {count} | {seconds:.2f} | {1000 * seconds / count:.2f} | {lines} |')
  if FLAGS.phases:
    pitches, eighths = melody(FLAGS.phases)
    paths = []
    for kind in FLAGS.formats:
      paths.append(os.path.join(work, f'phases{FLAGS.phases}.{kind}'))
      (write_abc if kind == 'abc' else write_midi)(paths[-1], pitches, eighths)
    phases(paths, os.path.join(work, 'phases_out'))
  if FLAGS.profile:
    pitches, eighths = melody(FLAGS.profile)
    path = os.path.join(work, f'profile{FLAGS.profile}.abc')
    write_abc(path, pitches, eighths)
    profile(path, os.path.join(work, 'profile_out'), FLAGS.top)


if __name__ == '__main__':
  app.run(main)
