"""Builds the `melodies` TFDS data set: one built-in config, or a folder of your own."""

import glob
import os
import shutil

from absl import logging
import tensorflow_datasets as tfds
from tensorflow_datasets.core import constants

from stylexfer import atomic
# (Importing the builder registers `melodies` with TFDS.)
from stylexfer_datasets.melodies import melodies_dataset_builder

CONFIGS = ('folk_oneills', 'folk', 'jazz')


def build(dataset, data_dir=None, manual_dir=None, corpus_dir=None, beam_options=None):
  """Builds one config (a no-op when already built) and returns its builder.

  With `corpus_dir`, `dataset` is the genre name of that folder's melodies. With
  `beam_options` (a list of 'key=value'), the build runs on Apache Beam. Builds of one
  config into one data folder run one at a time; what a stopped one left is removed.
  """
  _check_folder(data_dir, 'the data folder (--data_dir)')
  _check_folder(manual_dir, 'the manual download folder (--manual_dir)', must_exist=True)
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
  # <data_dir>/melodies/<config>: its versions, and TFDS's folders of unfinished ones.
  config_dir = os.path.dirname(os.fspath(builder.data_dir))
  os.makedirs(config_dir, exist_ok=True)
  with atomic.locked(config_dir, waiting=lambda: logging.warning(
      'waiting for another build of %s to finish', config_dir)):
    for path in remove_unfinished(config_dir, str(builder.version)):
      logging.warning('removed %s, left by a build that was stopped', path)
    builder.download_and_prepare(download_config=download_config)
  return builder


def remove_unfinished(config_dir, version):
  """Removes the folders TFDS writes a build of `version` into (incomplete.*_<version>)
  from `config_dir`; returns their paths. Only while no build runs (a build's own is
  renamed when done); another version's may be an older or newer stylexfer's, building."""
  found = sorted(glob.glob(os.path.join(
      glob.escape(config_dir), f'{constants.INCOMPLETE_PREFIX}*_{glob.escape(version)}')))
  for path in found:
    shutil.rmtree(path, ignore_errors=True)
  return found


def _check_folder(folder, what, must_exist=False):
  """Raises an OSError that names `folder` when it cannot be the folder it is for."""
  if not folder:
    return
  folder = os.path.expanduser(folder)
  if os.path.exists(folder) and not os.path.isdir(folder):
    raise NotADirectoryError(f'{folder}: is a file, not {what}')
  if must_exist and not os.path.isdir(folder):
    raise FileNotFoundError(f'{folder}: no such folder, for {what}')


def _beam_options(options):
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top  (an optional extra)
  except ImportError as error:
    raise ImportError('building on Beam needs apache-beam: pip install stylexfer[beam]') from error
  return beam.options.pipeline_options.PipelineOptions(
      [f'--{option.strip()}' for option in options if option.strip()])
