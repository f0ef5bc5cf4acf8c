"""Builds the `melodies` TFDS dataset for one genre config, or for your own corpus.

  python -m stylexfer.build_data --dataset=folk --manual_dir=../shared/corpora
  stylexfer-build-data --corpus=path/to/folder --genre=bebop

A corpus is a folder of ABC, MIDI and MusicXML files (nested folders, mixed formats); it
becomes the data set melodies/<genre>, which `stylexfer-train --dataset=<genre>` reads.
Add --beam_pipeline_options=direct_num_workers=2,direct_running_mode=multi_processing
(with `pip install stylexfer[beam]`) to build on Apache Beam.
"""

import os
import sys
import time

from absl import app
from absl import flags
import tensorflow_datasets as tfds

from stylexfer import corpus
import stylexfer_datasets.melodies  # registers the `melodies` builder
from stylexfer_datasets.melodies import melodies_dataset_builder

CONFIGS = ('folk_oneills', 'folk', 'jazz')
DEFAULT_DATA_DIR = os.path.join(os.path.expanduser('~'), 'tensorflow_datasets')


def define_flags():
  flags.DEFINE_enum('dataset', 'folk_oneills', CONFIGS,
                    'Config of the melodies dataset: folk_oneills needs no files.')
  flags.DEFINE_string('corpus', None, 'A folder of your own ABC, MIDI and MusicXML files '
                      '(searched with its subfolders); needs --genre. Replaces --dataset.')
  flags.DEFINE_string('genre', None, 'Name of the genre --corpus holds (lower-case letters, '
                      'digits, _): the data set is melodies/<genre>.')
  flags.DEFINE_string('data_dir', DEFAULT_DATA_DIR, 'Where TFDS writes the records.')
  flags.DEFINE_string('manual_dir', None,
                      'Folder holding folk-nottingham/ and jazz-wjazzd/ (see the builder).')
  flags.DEFINE_list('beam_pipeline_options', None,
                    'Build on Apache Beam with these options, e.g. direct_num_workers=2,'
                    'direct_running_mode=multi_processing (needs pip install stylexfer[beam]).')


def build(dataset, data_dir, manual_dir=None, corpus_dir=None, beam_options=None):
  """Builds one config (a no-op when already built) and returns its builder.

  With `corpus_dir`, `dataset` is the genre name of that folder's melodies. With
  `beam_options` (a list of 'key=value'), the build runs on Apache Beam.
  """
  if corpus_dir:
    config = melodies_dataset_builder.corpus_config(dataset, corpus_dir)
    builder = tfds.builder('melodies', config=config, data_dir=data_dir)
  else:
    builder = tfds.builder(f'melodies/{dataset}', data_dir=data_dir)
  download_config = tfds.download.DownloadConfig(
      manual_dir=os.path.abspath(manual_dir) if manual_dir else None,
      beam_options=_beam_options(beam_options) if beam_options else None)
  builder.download_and_prepare(download_config=download_config)
  return builder


def _beam_options(options):
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError('building on Beam needs apache-beam: pip install stylexfer[beam]') from error
  return beam.options.pipeline_options.PipelineOptions(
      [f'--{option.strip()}' for option in options if option.strip()])


def main(argv):
  del argv
  f = flags.FLAGS
  if f.corpus and not f.genre:
    sys.exit('--corpus needs --genre: the name your corpus will be trained under')
  started = time.time()
  try:
    builder = build(f.genre if f.corpus else f.dataset, f.data_dir, f.manual_dir,
                    corpus_dir=f.corpus, beam_options=f.beam_pipeline_options)
  except (corpus.CorpusError, FileNotFoundError, ValueError, ImportError) as error:
    sys.exit(f'stylexfer-build-data: {error}')
  for name, split in builder.info.splits.items():
    print(f'{name:<12} {split.num_examples:>6} tunes')
  print(f'built {builder.info.full_name} in {builder.data_dir} '
        f'({time.time() - started:.0f} s)')


def run():
  define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
