"""Builds the `melodies` TFDS data set: one built-in config, or a folder of your own."""

import os

import tensorflow_datasets as tfds

import stylexfer_datasets.melodies  # pylint: disable=unused-import  (registers `melodies`)
from stylexfer_datasets.melodies import melodies_dataset_builder

CONFIGS = ('folk_oneills', 'folk', 'jazz')


def build(dataset, data_dir=None, manual_dir=None, corpus_dir=None, beam_options=None):
  """Builds one config (a no-op when already built) and returns its builder.

  With `corpus_dir`, `dataset` is the genre name of that folder's melodies. With
  `beam_options` (a list of 'key=value'), the build runs on Apache Beam.
  """
  if corpus_dir:
    config = melodies_dataset_builder.corpus_config(dataset, corpus_dir)
    builder = tfds.builder('melodies', config=config, data_dir=data_dir)
  elif dataset in CONFIGS:
    builder = tfds.builder(f'melodies/{dataset}', data_dir=data_dir)
  else:
    raise ValueError(f'unknown dataset {dataset!r}: the built-in ones are '
                     f'{", ".join(CONFIGS)}; a corpus of your own needs its folder')
  download_config = tfds.download.DownloadConfig(
      manual_dir=os.path.abspath(manual_dir) if manual_dir else None,
      beam_options=_beam_options(beam_options) if beam_options else None)
  builder.download_and_prepare(download_config=download_config)
  return builder


def _beam_options(options):
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top  (an optional extra)
  except ImportError as error:
    raise ImportError('building on Beam needs apache-beam: pip install stylexfer[beam]') from error
  return beam.options.pipeline_options.PipelineOptions(
      [f'--{option.strip()}' for option in options if option.strip()])
