"""Writes the evaluation report of the genre models: does the transfer work, against real music.

  stylexfer-evaluate --data_dir=DATA [--models_dir=MODELS] [--out=evaluation]
  stylexfer-evaluate --run_dir=RUN --dataset=folk --data_dir=DATA
  python -m stylexfer.programs.evaluate ...   (the same)

writes <out>/report.md with PNG figures and <out>/report.json (every figure's numbers):
each head against the n-gram, the four combinations generated and held-out melodies
restyled both ways, compared with the real corpora (histograms, mgeval's overlap and KL),
judged by genre classifiers trained on real melodies, their coherence, structure,
strength curve and novelty (see stylexfer/evaluation/). Models come from --models_dir
(<dir>/<genre>/<version>/, merged models <pitch>_<rhythm>/ too) or the shipped
stylexfer/pretrained/; each genre needs its `melodies` config built in --data_dir.

Asked for, the report has more sections: --restyle_sweep restyles --sweep_limit held-out
melodies per genre at each --sweep_settings (TEMPERATURE:TOP_P), --sweep_structures and
--sweep_strengths, once per --sweep_seeds, beside real melodies; --like_pairs=N restyles N
melodies each way plainly and like a melody of the target genre; --swing measures how
WJazzD's soloists swing their eighths, from its melody table under --manual_dir.

With --run_dir, a training run's folder (one holding model.keras), it scores that model
on --dataset instead: per head, nats per note and accuracy of the LSTM and of the
stronger of the bigram and trigram baselines, written to <run_dir>/evaluation.json.
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags
from absl import logging

from stylexfer import atomic
from stylexfer.api import models as models_lib
from stylexfer.evaluation import data
from stylexfer.evaluation import quality
from stylexfer.evaluation import report
from stylexfer.evaluation import controls as control_measures
from stylexfer.evaluation import styles
from stylexfer.evaluation import suite
from stylexfer.evaluation import sweeps
from stylexfer.evaluation import swing
from stylexfer.evaluation import transfer
from stylexfer.programs import common
from stylexfer.reading import wjazzd
from stylexfer.programs import shared_flags
from stylexfer.serving import controls
from stylexfer.serving import loading

PROGRAM = 'stylexfer-evaluate'
CommandError = common.CommandError


def define_flags(flag_values=flags.FLAGS):
  """The evaluate flags; every one is optional."""
  define = dict(flag_values=flag_values)
  shared_flags.define_models_dir(flag_values)
  shared_flags.define_run_dir('A training run folder holding model.keras: score that '
                              'model on --dataset instead of writing the report.',
                              flag_values)
  flags.DEFINE_multi_string('model', [], 'GENRE=SAVED_MODEL_FOLDER: evaluate this '
                            'SavedModel for the genre (repeat per genre).', **define)
  flags.DEFINE_list('genres', ['folk', 'jazz'], 'Genres to evaluate; each needs a model '
                    'and a built melodies config of its name.', **define)
  shared_flags.define_data_dir(flag_values)
  shared_flags.define_dataset('folk', flag_values)
  flags.DEFINE_string('out', 'evaluation', 'Report folder.', **define)
  flags.DEFINE_integer('count', 100, 'Generated melodies per combination.', **define)
  flags.DEFINE_integer('length', 128, 'Notes per generated melody and per measured excerpt.',
                       **define)
  flags.DEFINE_integer('max_melodies', 100, 'Held-out melodies per genre to restyle and '
                       'measure (a random subset, by --seed).', **define)
  flags.DEFINE_list('strengths', ['0', '0.25', '0.5', '0.75', '1'], 'Strengths of the '
                    'strength curve; restyles are measured at the largest.', **define)
  flags.DEFINE_float('temperature', 1.0, 'Sampling temperature (the programs\' default).',
                     **define)
  flags.DEFINE_float('top_p', 0.9, 'Nucleus sampling mass.', **define)
  flags.DEFINE_integer('seed', 0, 'Seed of the sampling and of the held-out subset.', **define)
  flags.DEFINE_integer('folds', 5, 'Cross-validation folds of the genre classifiers.',
                       **define)
  flags.DEFINE_boolean('progress', True, 'Show progress bars on stderr.', **define)
  flags.DEFINE_boolean('notation_programs', False, 'Also hand every written ABC and MusicXML '
                       'file to abc2midi, abcm2ps, abcjs, MuseScore 3 and LilyPond and report '
                       'the share each reads without a message (minutes; bash .ci/run '
                       'installs them).', **define)
  flags.DEFINE_string('manual_dir', None, 'The corpora\'s folder (as the build took it): '
                      'the written lead sheets are checked on held-out tunes read from their '
                      'source files, with repeat signs, endings, chords and header (O\'Neill\'s '
                      'tunes are found without it).', **define)
  flags.DEFINE_string('node_path', None, 'Where Node finds abcjs for --notation_programs '
                      '(NODE_PATH; .ci/abcjs/node_modules in a checkout).', **define)
  _define_asked_for(define)


def _define_asked_for(define):
  """The flags of the measures only made when asked for, each a section of the report."""
  flags.DEFINE_boolean('restyle_sweep', False, 'Also restyle held-out melodies at each '
                       '--sweep_settings, --sweep_structures and --sweep_strengths, once per '
                       '--sweep_seeds, and report each one\'s form, coherence and judgement '
                       'beside real melodies (minutes).', **define)
  flags.DEFINE_list('sweep_settings', [f'{t:g}:{p:g}' for t, p in sweeps.SETTINGS],
                    'TEMPERATURE:TOP_P sampling settings of --restyle_sweep.', **define)
  flags.DEFINE_list('sweep_structures', list(models_lib.STRUCTURES), 'Restyle structures of '
                    '--restyle_sweep: bars (every note in its bar) and free.', **define)
  flags.DEFINE_list('sweep_strengths', ['1'], 'Strengths of --restyle_sweep.', **define)
  flags.DEFINE_list('sweep_seeds', ['0', '1', '2'], 'Seeds of --restyle_sweep (melody n '
                    'draws with seed + n); its figures pool them.', **define)
  flags.DEFINE_integer('sweep_limit', 50, 'Held-out melodies per genre that --restyle_sweep '
                       'restyles (a random subset, by --seed).', **define)
  flags.DEFINE_integer('like_pairs', 0, 'Also restyle this many held-out melodies each way '
                       'plainly and like a held-out melody of the target genre, and report '
                       'how far each rhythm lies from the melody heard (0: not measured).',
                       **define)
  flags.DEFINE_boolean('styles', False, 'Measure instead which styles, feels and tempo '
                       'classes a rhythm judge tells apart in the real melodies of --genres '
                       '(all splits), and write <out>/styles.md and styles.json.', **define)
  flags.DEFINE_list('style_groups', [], 'Labels --styles judges as one, joined by +: '
                    'e.g. latin+funk.', **define)
  flags.DEFINE_boolean('controls', False, 'Measure instead how far the models\' style and '
                       'tempo controls move what they write, by judges of real melodies, and '
                       'write <out>/controls.md, controls.json and tempo.png.', **define)
  flags.DEFINE_boolean('swing', False, 'Also measure how WJazzD\'s soloists swing their '
                       'eighths (beat-upbeat ratios by tempo) from its melody table under '
                       '--manual_dir (jazz-wjazzd/wjazzd_melody.csv.gz).', **define)


def _options(f):
  try:
    strengths = tuple(sorted(float(s) for s in f.strengths))
  except ValueError:
    raise CommandError(f'--strengths must be numbers in [0, 1], got {f.strengths}') from None
  if not strengths or not all(0 <= s <= 1 for s in strengths):
    raise CommandError(f'--strengths must be numbers in [0, 1], got {f.strengths}')
  for name in ('count', 'length', 'max_melodies', 'folds'):
    if f[name].value < 2:
      raise CommandError(f'--{name} must be at least 2, got {f[name].value}')
  if not 0 < f.top_p <= 1 or not f.temperature >= controls.MIN_TEMPERATURE:
    raise CommandError(f'--temperature must be >= {controls.MIN_TEMPERATURE:g} and --top_p in '
                       '(0, 1]')
  if f.like_pairs < 0:
    raise CommandError(f'--like_pairs must be 0 (not measured) or more, got {f.like_pairs}')
  if f.swing and swing.find_table(f.manual_dir) is None:
    raise CommandError('--swing reads WJazzD\'s melody table under --manual_dir: '
                       + (f'found none of {", ".join(swing.PLACES)} in {f.manual_dir}'
                          if f.manual_dir else 'give it the corpora\'s folder'))
  return suite.Options(
      count=f.count, length=f.length, max_melodies=f.max_melodies, strengths=strengths,
      sampling=transfer.Sampling(f.temperature, f.top_p, f.seed), folds=f.folds, seed=f.seed,
      progress=f.progress, notation_programs=f.notation_programs, node_path=f.node_path,
      manual_dir=f.manual_dir, sweep=_sweep(f) if f.restyle_sweep else None,
      like_pairs=f.like_pairs, swing=f.swing)


def _sweep(f):
  """The --restyle_sweep flags as a sweeps.Sweep; a CommandError names a bad value."""
  try:
    settings = tuple(tuple(float(v) for v in setting.split(':')) for setting in
                     f.sweep_settings)
    if not settings or any(len(setting) != 2 for setting in settings):
      raise ValueError
    strengths = tuple(float(s) for s in f.sweep_strengths)
    seeds = tuple(int(s) for s in f.sweep_seeds)
  except ValueError:
    raise CommandError('--sweep_settings must be TEMPERATURE:TOP_P pairs, --sweep_strengths '
                       'numbers and --sweep_seeds whole numbers') from None
  try:
    for temperature, top_p in settings:
      controls.check('--sweep_settings ', temperature=temperature, top_p=top_p)
    for strength in strengths:
      controls.check('--sweep_strengths ', strength=strength)
    for seed in seeds:
      controls.check('--sweep_seeds ', seed=seed)
  except controls.RequestError as error:
    raise CommandError(str(error)) from None
  unknown = set(f.sweep_structures) - set(models_lib.STRUCTURES)
  if unknown or not f.sweep_structures or not strengths or not seeds:
    raise CommandError(f'--sweep_structures must be some of {", ".join(models_lib.STRUCTURES)}'
                       ', and --sweep_strengths and --sweep_seeds not empty')
  if f.sweep_limit < 1:
    raise CommandError(f'--sweep_limit must be at least 1, got {f.sweep_limit}')
  return sweeps.Sweep(settings, tuple(f.sweep_structures), strengths, seeds, f.sweep_limit)


def _chosen(items):
  chosen = {}
  for item in items:
    genre, _, path = item.partition('=')
    if not path or not os.path.isdir(path):
      raise CommandError(f'--model {item!r}: expected GENRE=SAVED_MODEL_FOLDER')
    chosen[genre.strip()] = path
  return chosen


def write_report(f):
  """Evaluates the models named by the flags and writes the report; returns report.md."""
  if len(f.genres) < 2:
    raise CommandError('--genres needs at least two genres to restyle between')
  options = _options(f)
  data.require_built(f.genres, f.data_dir)  # before the seconds of loading models
  paths, merged = loading.find_models(f.genres, f.models_dir, _chosen(f.model))
  loaded = {genre: loading.load(path) for genre, path in paths.items() if genre in f.genres}
  results = suite.evaluate(loaded, f.data_dir,
                           {key: loading.load(path) for key, path in merged.items()},
                           options)
  results['settings']['models'] = {g: paths[g] for g in f.genres}
  command = ' '.join(['stylexfer-evaluate'] + [a for a in sys.argv[1:]])
  return report.write(results, f.out, command)


def write_controls(f):
  """The --controls tables: <out>/controls.md, controls.json, tempo.png; returns controls.md."""
  data.require_built(f.genres, f.data_dir)
  paths, _ = loading.find_models(f.genres, f.models_dir, _chosen(f.model))
  models = {genre: models_lib.Model(loading.load(paths[genre]), paths[genre])
            for genre in f.genres}
  others = {genre: next(g for g in f.genres if g != genre) for genre in f.genres}
  gains = control_measures.what_heads_gain(models, f.data_dir)
  real = {genre: control_measures.real_melodies(genre, f.data_dir) for genre in f.genres}
  judged = {}
  for genre in f.genres:
    judged.update(control_measures.style_judgements(
        {genre: models[genre]}, f.data_dir, control_measures.LIMIT, f.seed, others[genre],
        real))
  tempo = {genre: control_measures.tempo_response(
      models[genre], f.data_dir, seed=f.seed, other_genre=others[genre], real=real[genre])
           for genre in f.genres}
  command = ' '.join(['stylexfer-evaluate'] + [a for a in sys.argv[1:]])
  os.makedirs(f.out, exist_ok=True)
  atomic.write_text(os.path.join(f.out, 'controls.json'), json.dumps(
      {'command': command, 'gains': gains, 'styles': judged, 'tempo': tempo}, indent=2))
  control_measures.tempo_plot(tempo, os.path.join(f.out, 'tempo.png'))
  path = os.path.join(f.out, 'controls.md')
  atomic.write_text(path, '\n'.join(
      ['# What the style and tempo controls do', '', f'`{command}`', '',
       '![notes a quarter note against tempo](tempo.png)', '']
      + control_measures.markdown(gains, judged, tempo)) + '\n')
  return path


def write_styles(f):
  """The --styles tables: <out>/styles.md and styles.json; returns styles.md."""
  data.require_built(f.genres, f.data_dir)
  results = styles.measure(f.genres, f.data_dir, tuple(f.style_groups), f.folds, f.seed)
  table = swing.find_table(f.manual_dir)
  # How each feel and style swings, where the corpora's folder holds WJazzD's table.
  found = swing.measure(table, labels=wjazzd.solo_labels(table)) if table else None
  command = ' '.join(['stylexfer-evaluate'] + [a for a in sys.argv[1:]])
  os.makedirs(f.out, exist_ok=True)
  atomic.write_text(os.path.join(f.out, 'styles.json'),
                    json.dumps(dict(results, swing=found), indent=2))
  path = os.path.join(f.out, 'styles.md')
  atomic.write_text(path, '\n'.join(
      ['# Styles a rhythm judge tells apart in real melodies', '', f'`{command}`', '',
       f'Grouped {f.folds}-fold cross-validation, {styles.EXCERPT}-note excerpts; a label '
       f'is a control when told from each other label of its genre at '
       f'{styles.CONTROL_ACCURACY:.0%} balanced accuracy or more. Tempo: slow under '
       f'{styles.SLOW}, fast over {styles.FAST} quarter notes a minute.', '']
      + styles.markdown(results) + styles.curve_markdown(results)
      + (['', *report.swing_lines(found)] if found else [])) + '\n')
  return path


def score_run(f):
  """A training run's model against the n-gram: printed, and written to evaluation.json."""
  if not os.path.isfile(os.path.join(f.run_dir, 'model.keras')):
    raise CommandError(f'--run_dir {f.run_dir}: holds no model.keras (train it first)')
  found = quality.score_run(f.run_dir, f.dataset, f.data_dir)
  print(quality.format_table(f.dataset, found))
  atomic.write_text(os.path.join(f.run_dir, 'evaluation.json'), json.dumps(found, indent=2))


def evaluate(f):
  """Scores the run of --run_dir, measures --styles, or writes the report of the models."""
  if f.run_dir:
    score_run(f)
  elif f.styles:
    print(f'styles: {write_styles(f)}')
  elif f.controls:
    print(f'controls: {write_controls(f)}')
  else:
    print(f'report: {write_report(f)}')


def main(argv, flag_values=flags.FLAGS):
  del argv  # shared_flags.run refuses arguments that are no flags
  f = flag_values
  if f.progress:
    logging.set_verbosity(logging.WARNING)  # TFDS's notices would bury the progress bars
  return common.report_errors(PROGRAM, evaluate, f)


def run():
  define_flags()
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
