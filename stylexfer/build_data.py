"""Builds the `melodies` TFDS dataset for one genre config and prints its statistics.

  python -m stylexfer.build_data --dataset=folk --manual_dir=../shared/corpora
"""

import os
import time

from absl import app
from absl import flags
import tensorflow_datasets as tfds

import stylexfer_datasets.melodies  # registers the `melodies` builder

CONFIGS = ('folk_oneills', 'folk', 'jazz')
DEFAULT_DATA_DIR = os.path.join(os.path.expanduser('~'), 'tensorflow_datasets')


def define_flags():
  flags.DEFINE_enum('dataset', 'folk_oneills', CONFIGS,
                    'Config of the melodies dataset: folk_oneills needs no files.')
  flags.DEFINE_string('data_dir', DEFAULT_DATA_DIR, 'Where TFDS writes the records.')
  flags.DEFINE_string('manual_dir', None,
                      'Folder holding folk-nottingham/ and jazz-wjazzd/ (see the builder).')


def build(dataset, data_dir, manual_dir=None):
  """Builds one config (a no-op when already built) and returns its builder."""
  builder = tfds.builder(f'melodies/{dataset}', data_dir=data_dir)
  download_config = tfds.download.DownloadConfig(
      manual_dir=os.path.abspath(manual_dir) if manual_dir else None)
  builder.download_and_prepare(download_config=download_config)
  return builder


def main(argv):
  del argv
  started = time.time()
  builder = build(flags.FLAGS.dataset, flags.FLAGS.data_dir, flags.FLAGS.manual_dir)
  for name, split in builder.info.splits.items():
    print(f'{name:<12} {split.num_examples:>6} tunes')
  print(f'built melodies/{flags.FLAGS.dataset} in {builder.data_dir} '
        f'({time.time() - started:.0f} s)')


def run():
  define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
