"""melodies: folk tunes and jazz solos as interval and duration token records."""

import dataclasses
import glob
import os
import re

from absl import logging
import music21
import numpy as np
import tensorflow_datasets as tfds

from stylexfer.dataset import corpus

_WJAZZD_URL = 'https://jazzomat.hfm-weimar.de/download/downloads/wjazzd.db'
_WJAZZD_FILES = ('wjazzd_melody.csv.gz', 'wjazzd_melody.csv', 'wjazzd.db')
_GENRE_NAME = re.compile(r'[a-z][a-z0-9_]*\Z')


@dataclasses.dataclass
class MelodiesConfig(tfds.core.BuilderConfig):
  """Which genre and which source collections a config holds.

  Sources: 'oneills' (shipped with music21), 'nottingham' and 'wjazzd' (in the manual
  folder, WJazzD downloadable), 'corpus' (every melody file under the folder `corpus`).
  """
  genre: str = 'folk'
  sources: tuple = ()
  corpus: str = ''


class Builder(tfds.core.GeneratorBasedBuilder):
  """Folk tunes and jazz solos as shared-vocabulary interval and duration tokens.

  Built on Apache Beam when the download config names a Beam runner or Beam options
  (`tfds build --beam_pipeline_options=...`, `stylexfer-build-data --beam_pipeline_options`),
  otherwise in this process with a pool of parsing processes; both give the same records.
  """

  VERSION = tfds.core.Version('1.2.0')
  RELEASE_NOTES = {
      '1.0.0': 'Initial release.',
      '1.1.0': 'Bar lengths and sounding lengths of every note.',
      '1.2.0': 'Style (folk tune type, jazz style), rhythm feel and tempo of every melody.',
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
            'style': tfds.features.Text(),     # tune type or jazz style; '' unknown
            'feel': tfds.features.Text(),      # a jazz solo's rhythm feel; '' unknown
            'tempo': np.float32,               # quarter notes a minute; 0 unknown
        }),
        metadata=tfds.core.MetadataDict(),
        homepage='https://github.com/stylexfer/stylexfer',
    )

  def _generate_splits(self, dl_manager, download_config):
    # Beam only when asked for: the DirectRunner's defaults are slower than the pool.
    self._use_beam = bool(download_config.beam_runner or download_config.beam_options)
    try:
      return super()._generate_splits(dl_manager, download_config)
    except Exception as error:  # pylint: disable=broad-except
      # On Beam every split is written, and TFDS refuses an empty one. Only a corpus of a
      # few tunes (or of files that all fail) leaves a split empty.
      empty = re.search(r'generated examples is 0 for split (\w+)', str(error))
      if not (self._use_beam and empty):
        raise
      raise corpus.CorpusError(
          f'{self._corpus_name()}: no tune was kept for the {empty.group(1)} split; a '
          'corpus this small, or one whose files all fail, builds without Beam, which '
          'skips empty splits and names what failed') from error

  def _split_generators(self, dl_manager):
    files = self._find_files(dl_manager)
    genre = self.builder_config.genre
    if getattr(self, '_use_beam', False):
      shared = {}  # the records of all splits, parsed once
      return {name: self._generate_examples(files, genre, name, shared=shared)
              for name, _ in corpus.SPLITS}
    by_split, counts = corpus.read_corpus(files, genre)
    self._set_statistics(counts)
    # TFDS cannot write an empty split; a corpus of a handful of tunes may leave one empty.
    return {name: self._generate_examples(files, genre, name, examples=examples)
            for name, examples in by_split.items() if examples}

  def _generate_examples(self, files, genre, split, shared=None, examples=None):
    """The split's (tune id, record) pairs: a Beam PTransform, or the parsed `examples`."""
    if examples is not None:
      return iter(examples)
    from stylexfer_datasets.melodies import beam_pipeline  # pylint: disable=g-import-not-at-top
    return beam_pipeline.SplitExamples(files, genre, split, shared)

  def _process_pipeline_result(self, pipeline_result):
    from stylexfer_datasets.melodies import beam_pipeline  # pylint: disable=g-import-not-at-top
    self._set_statistics(beam_pipeline.counts(pipeline_result))

  def _set_statistics(self, counts):
    corpus.check_kept(counts, self._corpus_name())
    table = corpus.statistics(counts)
    logging.info('melodies/%s build statistics:\n%s', self.builder_config.name,
                 corpus.format_table(table))
    self.info.metadata['statistics'] = table

  def _corpus_name(self):
    config = self.builder_config
    return config.corpus or f'melodies/{config.name} ({", ".join(config.sources)})'

  def _find_files(self, dl_manager):
    """The corpus files of every source of the config, numbered in build order."""
    files = []
    for source in self.builder_config.sources:
      files += _source_files(source, dl_manager, self.builder_config, start=len(files))
    return files


def corpus_config(genre, folder):
  """A config for a folder of the user's own ABC, MIDI and MusicXML files (nested too).

  The genre names the config, so the data lands in <data_dir>/melodies/<genre>/ and
  training finds it by that name.
  """
  if not _GENRE_NAME.match(genre):
    raise ValueError(f'genre {genre!r}: use lower-case letters, digits and _, starting with '
                     'a letter')
  if genre in {config.name for config in Builder.BUILDER_CONFIGS}:
    raise ValueError(f'genre {genre!r} is a built-in config of the melodies data set; '
                     'choose another name for your corpus')
  folder = os.path.abspath(os.path.expanduser(folder))
  if not os.path.isdir(folder):
    raise FileNotFoundError(f'{folder}: is a file, not a folder of melodies'
                            if os.path.exists(folder) else f'{folder}: no such folder')
  return MelodiesConfig(name=genre, genre=genre, sources=('corpus',), corpus=folder,
                        description=f'Melodies of {folder}, as genre {genre!r}.')


def _oneills_dir():
  return os.path.join(os.path.dirname(music21.__file__), 'corpus', 'oneills1850')


def _source_files(source, dl_manager, config, start):
  if source == 'oneills':
    return corpus.find_files(_oneills_dir(), 'oneills1850', start=start)
  if source == 'nottingham':
    folder = _find(_manual_dir(dl_manager, config.name), ('folk-nottingham/abc', 'abc', '.'),
                   '*.abc')
    return [dataclasses.replace(f, style=_nottingham_style(f.name))
            for f in corpus.find_files(folder, 'nottingham', start=start)]
  if source == 'wjazzd':
    path = _wjazzd_file(dl_manager)
    return [corpus.CorpusFile(start, 'wjazzd', path, os.path.basename(path), kind='wjazzd')]
  if source == 'corpus':
    return corpus.find_files(config.corpus, config.genre, start=start, nested=True)
  raise ValueError(f'unknown melody source {source!r}')


# The Nottingham Music Database files one tune type to a file, most without an R: field;
# its other files (ashover, playford, xmas) mix types.
_NOTTINGHAM_STYLES = (('reels', 'reel'), ('jigs', 'jig'), ('hpps', 'hornpipe'),
                      ('slip', 'slip jig'), ('waltzes', 'waltz'), ('morris', 'morris'))


def _nottingham_style(name):
  return next((style for prefix, style in _NOTTINGHAM_STYLES if name.startswith(prefix)), '')


def _manual_dir(dl_manager, config_name):
  """The manual download folder; an error of one line when there is none."""
  try:
    return dl_manager.manual_dir
  except AssertionError as error:  # TFDS's message is the instructions, many lines long
    raise FileNotFoundError(
        f'melodies/{config_name} reads the Nottingham Music Database from the manual '
        'download folder: pass --manual_dir=FOLDER holding folk-nottingham/abc/*.abc '
        "(see the melodies data set's manual download instructions)") from error


def _wjazzd_file(dl_manager):
  try:
    manual = dl_manager.manual_dir
  except AssertionError:  # no manual folder given: fetch the official sqlite release
    return _download_wjazzd(dl_manager)
  for folder in ('jazz-wjazzd', '.'):
    for name in _WJAZZD_FILES:
      path = os.path.join(manual, folder, name)
      if os.path.isfile(path):
        return path
  return _download_wjazzd(dl_manager)


def _download_wjazzd(dl_manager):
  try:
    return os.fspath(dl_manager.download(_WJAZZD_URL))
  except Exception as error:  # pylint: disable=broad-except  (requests and TFDS raise many)
    raise OSError(
        f'{_WJAZZD_URL} could not be downloaded ({type(error).__name__}) and the manual '
        'download folder holds no WJazzD file: put wjazzd.db or wjazzd_melody.csv.gz in '
        '<--manual_dir>/jazz-wjazzd') from error


def _find(root, folders, pattern):
  """The first of `folders` under `root` that holds files matching `pattern`."""
  for folder in folders:
    path = os.path.join(root, folder)
    if glob.glob(os.path.join(path, pattern)):
      return path
  raise FileNotFoundError(
      f'{root}: no {pattern} files in any of {", ".join(folders)}; see the manual '
      'download instructions of the melodies dataset')
