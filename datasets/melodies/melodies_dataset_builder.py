"""melodies: folk tunes and jazz solos as interval and duration token records."""

import collections
import dataclasses
import glob
import os

from absl import logging
import music21
import numpy as np
import tensorflow_datasets as tfds

from stylexfer import corpus
from stylexfer import wjazzd

_WJAZZD_URL = 'https://jazzomat.hfm-weimar.de/download/downloads/wjazzd.db'
_WJAZZD_FILES = ('wjazzd_melody.csv.gz', 'wjazzd_melody.csv', 'wjazzd.db')


@dataclasses.dataclass
class MelodiesConfig(tfds.core.BuilderConfig):
  """Which genre and which source collections a config holds."""
  genre: str = 'folk'
  sources: tuple = ()


class Builder(tfds.core.GeneratorBasedBuilder):
  """Folk tunes and jazz solos as shared-vocabulary interval and duration tokens."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {
      '1.0.0': 'Initial release.',
      '1.1.0': 'Bar lengths and sounding lengths of every note.',
  }
  BUILDER_CONFIGS = [
      MelodiesConfig(name='folk_oneills', genre='folk', sources=('oneills',),
                     description="O'Neill's Music of Ireland (1850), shipped with music21."),
      MelodiesConfig(name='folk', genre='folk', sources=('oneills', 'nottingham'),
                     description="O'Neill's collection plus the Nottingham Music Database."),
      MelodiesConfig(name='jazz', genre='jazz', sources=('wjazzd',),
                     description='The Weimar Jazz Database (456 solos).'),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Point --manual_dir (or DownloadConfig(manual_dir=...)) at a folder holding:
    folk-nottingham/abc/*.abc   the Nottingham Music Database, cleaned ABC
                                (github.com/jukedeck/nottingham-dataset, ABC_cleaned/)
    jazz-wjazzd/wjazzd_melody.csv.gz or jazz-wjazzd/wjazzd.db
                                the Weimar Jazz Database (jazzomat.hfm-weimar.de)
  The files may also lie directly in the manual folder. Without a WJazzD file the jazz
  config downloads the official wjazzd.db.
  """

  def _info(self):
    sequence = lambda dtype: tfds.features.Tensor(shape=(None,), dtype=dtype)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            'tune_id': tfds.features.Text(),
            'title': tfds.features.Text(),
            'genre': tfds.features.Text(),
            'source': tfds.features.Text(),
            'time_signature': tfds.features.Text(),
            'first_pitch': np.int32,
            'intervals': sequence(np.int32),   # n - 1 interval ids
            'durations': sequence(np.int32),   # n duration ids (inter-onset intervals)
            'bars': sequence(np.int32),        # bar number of each note
            'beats': sequence(np.float32),     # onset within the bar, quarter notes
            'bar_lengths': sequence(np.float32),  # quarter notes of each note's bar
            'lengths': sequence(np.float32),   # sounding length of each note, quarters
            'phrases': sequence(np.int32),     # phrase (WJazzD) or section (scores)
        }),
        metadata=tfds.core.MetadataDict(),
        homepage='https://github.com/stylexfer/stylexfer',
    )

  def _split_generators(self, dl_manager):
    counts = collections.Counter()
    melodies = []
    for source in self.builder_config.sources:
      melodies += _read_source(source, dl_manager, counts)
    by_split = {name: [] for name, _ in corpus.SPLITS}
    for key, record in corpus.records(melodies, self.builder_config.genre, counts):
      by_split[corpus.split_of(key)].append((key, record))
    for name, examples in by_split.items():
      counts[f'split {name}: tunes'] = len(examples)
      counts[f'split {name}: notes'] = sum(len(r['durations']) for _, r in examples)
    table = corpus.statistics(counts)
    logging.info('melodies/%s build statistics:\n%s', self.builder_config.name,
                 corpus.format_table(table))
    print(corpus.format_table(table))
    self.info.metadata['statistics'] = table
    # TFDS cannot write an empty split; a corpus of a handful of tunes may leave one empty.
    return {name: self._generate_examples(examples)
            for name, examples in by_split.items() if examples}

  def _generate_examples(self, examples):
    yield from examples


def _oneills_dir():
  return os.path.join(os.path.dirname(music21.__file__), 'corpus', 'oneills1850')


def _read_source(source, dl_manager, counts):
  if source == 'oneills':
    return corpus.read_abc_corpus(corpus.abc_files(_oneills_dir()), 'oneills1850', counts)
  if source == 'nottingham':
    folder = _find(dl_manager.manual_dir, ('folk-nottingham/abc', 'abc', '.'), '*.abc')
    return corpus.read_abc_corpus(corpus.abc_files(folder), 'nottingham', counts)
  if source == 'wjazzd':
    path = _wjazzd_file(dl_manager)
    melodies, dropped = wjazzd.read_wjazzd(path)
    counts['tunes read'] += len(melodies) + dropped['dropped']
    counts.update({k: v for k, v in dropped.items() if k != 'dropped'})
    return melodies
  raise ValueError(f'unknown melody source {source!r}')


def _wjazzd_file(dl_manager):
  try:
    manual = dl_manager.manual_dir
  except AssertionError:  # no manual folder given: fetch the official sqlite release
    return os.fspath(dl_manager.download(_WJAZZD_URL))
  for folder in ('jazz-wjazzd', '.'):
    for name in _WJAZZD_FILES:
      path = os.path.join(manual, folder, name)
      if os.path.isfile(path):
        return path
  return os.fspath(dl_manager.download(_WJAZZD_URL))


def _find(root, folders, pattern):
  """The first of `folders` under `root` that holds files matching `pattern`."""
  for folder in folders:
    path = os.path.join(root, folder)
    if glob.glob(os.path.join(path, pattern)):
      return path
  raise FileNotFoundError(
      f'{root}: no {pattern} files in any of {", ".join(folders)}; see the manual '
      'download instructions of the melodies dataset')
