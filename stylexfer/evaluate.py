"""Writes the evaluation report of the genre models: does the transfer work, against real music.

  stylexfer-evaluate --data_dir=DATA [--model_dir=EXPORTS] [--out=evaluation]
  python -m stylexfer.evaluate ...   (the same)

writes <out>/report.md with PNG figures and <out>/report.json (every figure's numbers):
each head against the n-gram, the four combinations generated and held-out melodies
restyled both ways, compared with the real corpora (histograms, mgeval's overlap and KL),
judged by genre classifiers trained on real melodies, their coherence, structure,
strength curve and novelty (see stylexfer/evaluation/). Models come from --model_dir
(<dir>/<genre>/<version>/, merged models <pitch>_<rhythm>/ too) or the shipped
stylexfer/pretrained/; each genre needs its `melodies` config built in --data_dir.

With --model_dir pointing at a training folder (one holding model.keras), it scores that
model on --dataset as before: per head, nats per note and accuracy of the LSTM and of the
stronger of the bigram and trigram baselines, written to <model_dir>/evaluation.json.
"""

import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging

# The model-quality functions live in stylexfer.evaluation.quality; these names stay here
# for the scripts and the pipeline that call them.
from stylexfer.evaluation.quality import HEADS  # pylint: disable=unused-import
from stylexfer.evaluation.quality import as_lists  # pylint: disable=unused-import
from stylexfer.evaluation.quality import compare
from stylexfer.evaluation.quality import evaluate_model  # pylint: disable=unused-import
from stylexfer.evaluation.quality import evaluate_saved_model  # pylint: disable=unused-import
from stylexfer.evaluation.quality import format_table

PROGRAM = 'stylexfer-evaluate'


class CommandError(ValueError):
  """A request that cannot be carried out; its message is the one line the user sees."""


def define_flags(flag_values=flags.FLAGS):
  """The evaluate flags; every one is optional."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_string('model_dir', None, 'Folder of exported models <genre>/<version>/ '
                      '(default: the shipped stylexfer/pretrained/), or a training folder '
                      'holding model.keras to score on --dataset.', **define)
  flags.DEFINE_multi_string('model', [], 'GENRE=SAVED_MODEL_FOLDER: evaluate this '
                            'SavedModel for the genre (repeat per genre).', **define)
  flags.DEFINE_list('genres', ['folk', 'jazz'], 'Genres to evaluate; each needs a model '
                    'and a built melodies config of its name.', **define)
  flags.DEFINE_string('data_dir', None, 'TFDS data folder the data was built in.', **define)
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
  flags.DEFINE_string('dataset', 'folk', 'With a training folder as --model_dir: the '
                      'melodies config to score it on.', **define)


def _options(f):
  from stylexfer.evaluation import suite  # pylint: disable=g-import-not-at-top
  from stylexfer.evaluation import transfer  # pylint: disable=g-import-not-at-top
  try:
    strengths = tuple(sorted(float(s) for s in f.strengths))
  except ValueError:
    raise CommandError(f'--strengths must be numbers in [0, 1], got {f.strengths}') from None
  if not strengths or not all(0 <= s <= 1 for s in strengths):
    raise CommandError(f'--strengths must be numbers in [0, 1], got {f.strengths}')
  for name in ('count', 'length', 'max_melodies'):
    if f[name].value < 2:
      raise CommandError(f'--{name} must be at least 2, got {f[name].value}')
  if not 0 < f.top_p <= 1 or not f.temperature > 0:
    raise CommandError('--temperature must be > 0 and --top_p in (0, 1]')
  return suite.Options(
      count=f.count, length=f.length, max_melodies=f.max_melodies, strengths=strengths,
      sampling=transfer.Sampling(f.temperature, f.top_p, f.seed), folds=f.folds, seed=f.seed,
      progress=f.progress)


def find_models(f):
  """({genre: SavedModel path}, {(pitch genre, rhythm genre): merged SavedModel path})."""
  from stylexfer import models  # pylint: disable=g-import-not-at-top
  paths = {}
  for item in f.model:
    genre, _, path = item.partition('=')
    if not path or not os.path.isdir(path):
      raise CommandError(f'--model {item!r}: expected GENRE=SAVED_MODEL_FOLDER')
    paths[genre.strip()] = models.latest_version(path) or path
  for genre in f.genres:
    if genre not in paths:
      paths[genre] = models.find_model(genre, f.model_dir)
  merged = {}
  if f.model:
    return paths, merged  # merged models of the folder would not be merges of these
  for pitch_genre in f.genres:
    for rhythm_genre in f.genres:
      if pitch_genre != rhythm_genre:
        path = models.find_merged(pitch_genre, rhythm_genre, f.model_dir)
        if path:
          merged[pitch_genre, rhythm_genre] = path
  return paths, merged


def write_report(f):
  """Evaluates the models named by the flags and writes the report; returns report.md."""
  from stylexfer import models  # pylint: disable=g-import-not-at-top
  from stylexfer.evaluation import report  # pylint: disable=g-import-not-at-top
  from stylexfer.evaluation import suite  # pylint: disable=g-import-not-at-top
  if len(f.genres) < 2:
    raise CommandError('--genres needs at least two genres to restyle between')
  options = _options(f)
  from stylexfer.evaluation import data  # pylint: disable=g-import-not-at-top
  data.require_built(f.genres, f.data_dir)  # before the seconds of loading models
  paths, merged = find_models(f)
  loaded = {genre: models.load(path) for genre, path in paths.items() if genre in f.genres}
  results = suite.evaluate(loaded, f.data_dir,
                           {key: models.load(path) for key, path in merged.items()},
                           options)
  results['settings']['models'] = {g: paths[g] for g in f.genres}
  command = ' '.join(['stylexfer-evaluate'] + [a for a in sys.argv[1:]])
  return report.write(results, f.out, command)


def score_training_folder(f):
  """The former evaluate: a Keras model of a training folder against the n-gram."""
  import keras  # pylint: disable=g-import-not-at-top
  from stylexfer import windows  # pylint: disable=g-import-not-at-top
  model = keras.saving.load_model(os.path.join(f.model_dir, 'model.keras'))
  splits = [windows.load_split(f.dataset, s, f.data_dir) for s in ('train', 'validation',
                                                                    'test')]
  found = compare(model, *splits)
  print(format_table(f.dataset, found))
  with open(os.path.join(f.model_dir, 'evaluation.json'), 'w') as out:
    json.dump(found, out, indent=2)


def main(argv, flag_values=flags.FLAGS):
  if len(argv) > 1:
    print(f'{PROGRAM}: error: unexpected arguments {argv[1:]}', file=sys.stderr)
    return 1
  f = flag_values
  if f.progress:
    logging.set_verbosity(logging.WARNING)  # TFDS's notices would bury the progress bars
  from stylexfer import models  # pylint: disable=g-import-not-at-top
  from stylexfer import windows  # pylint: disable=g-import-not-at-top
  try:
    if f.model_dir and os.path.isfile(os.path.join(f.model_dir, 'model.keras')):
      score_training_folder(f)
    else:
      print(f'report: {write_report(f)}')
  except (CommandError, windows.DataNotPreparedError, models.ModelNotFoundError) as error:
    print(f'{PROGRAM}: error: {" ".join(str(error).split())}', file=sys.stderr)
    return 1
  return 0


def run():
  define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
