"""Reproduces the shipped models end to end: build data, train, export, merge, evaluate.

  stylexfer-pipeline --manual_dir=../shared/corpora --work_dir=work
  python -m stylexfer.programs.pipeline ...   (the same)

For each genre (folk from O'Neill's + Nottingham, jazz from WJazzD) it builds the TFDS
data in <work_dir>/data, trains the `default` preset in <work_dir>/runs/<genre> (a killed
run resumes), measures where the genre rests (stylexfer.tokens.articulation), exports
<work_dir>/models/<genre>/<version>/, merges folk tones with jazz rhythm and jazz tones
with folk rhythm, and writes <work_dir>/evaluation.md: the LSTM
against the best n-gram on each genre's test split. Point --genres and --datasets at your
own corpora (a `melodies` config each) to train on them instead.
"""

import dataclasses
import json
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags
import tensorflow_datasets as tfds

from stylexfer.dataset import build
from stylexfer.dataset import windows
from stylexfer.evaluation import quality
from stylexfer.model import config as model_config
from stylexfer.programs import common
from stylexfer.programs import shared_flags
from stylexfer.serving import genre as genre_lib
from stylexfer.serving import merged
from stylexfer.tokens import articulation
from stylexfer.tokens import conditions
from stylexfer.tokens import traits
from stylexfer.training import config as config_lib
from stylexfer.training import loop
from stylexfer.training import strategy as strategy_lib

PROGRAM = 'stylexfer-pipeline'
# What the shipped models were trained with (BUILD_NOTES.md has the figures).
# The styles each hears (stylexfer-train's --style_field, --style_groups,
# --min_style_melodies): folk's tune types; jazz's feels, which a rhythm tells apart where
# its styles (bebop, post-bop) it does not (docs/evaluation/styles.md).
SHIPPED = {
    'folk': dict(dataset='folk', batch_size=64, epochs=30, patience=5, style_field='style',
                 style_groups='', min_style_melodies=30),
    'jazz': dict(dataset='jazz', batch_size=32, epochs=60, patience=6, style_field='feel',
                 style_groups='latin+funk+latin/funk', min_style_melodies=20),
}


def define_flags():
  flags.DEFINE_string('work_dir', 'stylexfer-work', 'Folder for data/, runs/ and models/.')
  flags.DEFINE_string('manual_dir', None, 'Folder with folk-nottingham/ and jazz-wjazzd/.')
  flags.DEFINE_list('genres', ['folk', 'jazz'], 'Genres to train, each a key of the '
                    'shipped recipe or given with --datasets.')
  flags.DEFINE_list('datasets', None, 'Melodies configs, one per genre (default: the '
                    'shipped recipe).')
  flags.DEFINE_enum('preset', 'default', sorted(model_config.PRESETS), 'Model preset.')
  flags.DEFINE_integer('epochs', None, 'Override the recipe\'s epochs (e.g. 1 for a smoke run).',
                       lower_bound=1)
  shared_flags.define_threads()


def run_genre(genre, dataset, work_dir, manual_dir, preset, epochs=None):
  """Builds, trains, exports and evaluates one genre; returns (export path, report)."""
  recipe = dict(SHIPPED.get(genre, SHIPPED['folk']), dataset=dataset)
  data_dir = os.path.join(work_dir, 'data')
  build.build(dataset, data_dir, manual_dir)
  splits = [windows.load_split(dataset, s, data_dir) for s in ('train', 'validation', 'test')]
  training = config_lib.TrainingConfig(epochs=epochs or recipe['epochs'],
                                       batch_size=recipe['batch_size'],
                                       patience=recipe['patience'])
  run_dir = os.path.join(work_dir, 'runs', genre)
  # The training melodies read once for the styles, where the genre rests and its traits.
  melodies = list(tfds.as_numpy(splits[0]))
  styles = conditions.from_melodies(melodies, recipe['style_field'],
                                    conditions.parse_groups(recipe['style_groups']),
                                    recipe['min_style_melodies'])
  config = dataclasses.replace(config_lib.resolve_config(preset), styles=len(styles.names))
  model, _ = loop.train(config, splits[0], splits[1], run_dir, training,
                        run_info={'dataset': dataset, 'data_dir': data_dir, 'preset': preset},
                        styles=styles)
  sounding = articulation.sounding_values(melodies)
  articulation.save(run_dir, sounding)
  genre_traits = traits.from_melodies(melodies, styles=styles)
  traits.save(run_dir, genre_traits)
  path = genre_lib.export(model, genre, os.path.join(work_dir, 'models'),
                          sounding_values=sounding, traits=genre_traits)
  return path, quality.compare(model, *splits, styles=styles)


def run_pipeline(f):
  """Builds, trains, exports, merges and evaluates every genre the flags name."""
  strategy_lib.set_threads(f.intra_op_threads, f.inter_op_threads)
  datasets = f.datasets or [SHIPPED[g]['dataset'] for g in f.genres if g in SHIPPED]
  if len(datasets) != len(f.genres):
    raise common.CommandError('--datasets needs one config per genre in --genres (only '
                              f'{", ".join(SHIPPED)} have a shipped recipe)')
  exports, tables, reports = {}, [], {}
  for genre, dataset in zip(f.genres, datasets):
    exports[genre], reports[genre] = run_genre(genre, dataset, f.work_dir, f.manual_dir,
                                               f.preset, f.epochs)
    tables.append(quality.format_table(genre, reports[genre]))
  for pitch_genre in f.genres:
    for rhythm_genre in f.genres:
      if pitch_genre != rhythm_genre:
        print(merged.merge(exports[pitch_genre], exports[rhythm_genre],
                           os.path.join(f.work_dir, 'models')))
  with open(os.path.join(f.work_dir, 'evaluation.md'), 'w') as out:
    out.write('\n\n'.join(tables) + '\n')
  with open(os.path.join(f.work_dir, 'evaluation.json'), 'w') as out:
    json.dump(reports, out, indent=2)
  print('\n\n'.join(tables))


def main(argv):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, run_pipeline, flags.FLAGS)


def run():
  define_flags()
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
