"""The `melodies` TFDS builder on fixture corpora the tests write themselves."""

import fractions
import subprocess
import sys
from unittest import mock

import pytest
import tensorflow_datasets as tfds

from stylexfer.dataset import corpus
from stylexfer.tokens import vocabulary
from stylexfer.dataset import windows
from stylexfer_datasets.melodies import melodies_dataset_builder
import fixtures
from stylexfer.dataset import build as build_lib


@pytest.fixture(scope='module')
def manual_dir(tmp_path_factory):
  root = tmp_path_factory.mktemp('corpora')
  fixtures.write_abc(str(root / 'folk-nottingham' / 'abc'), 'jigs.abc')
  (root / 'jazz-wjazzd').mkdir()
  fixtures.write_wjazzd_csv(str(root / 'jazz-wjazzd' / 'wjazzd_melody.csv.gz'))
  return root


@pytest.fixture(scope='module')
def oneills_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp('oneills')
  fixtures.write_abc(str(folder), '0001-0004.abc')
  return folder


def _build(config, manual_dir, data_dir, oneills_dir, monkeypatch):
  monkeypatch.setattr(melodies_dataset_builder, '_oneills_dir', lambda: str(oneills_dir))
  return build_lib.build(config, str(data_dir), str(manual_dir))


def _records(builder):
  return {split: list(tfds.as_numpy(builder.as_dataset(split=split)))
          for split in builder.info.splits}


def test_folk_reads_both_collections_and_counts_what_it_drops(
    manual_dir, oneills_dir, tmp_path, monkeypatch):
  builder = _build('folk', manual_dir, tmp_path, oneills_dir, monkeypatch)
  records = _records(builder)
  ids = {split: sorted(r['tune_id'].decode() for r in rs) for split, rs in records.items()}
  all_ids = sorted(sum(ids.values(), []))
  assert all_ids == ['nottingham/jigs.abc#X:1', 'nottingham/jigs.abc#X:2',
                     'oneills1850/0001-0004.abc#X:1', 'oneills1850/0001-0004.abc#X:2']
  for split, tune_ids in ids.items():                     # split fixed by the tune id
    assert all(corpus.split_of(t) == split for t in tune_ids)
  stats = builder.info.metadata['statistics']
  assert (stats['files read'], stats['tunes read'], stats['tunes kept']) == (2, 8, 4)
  assert stats['dropped tunes: no notes'] == 2            # X:3, only rests
  assert stats['dropped tunes: fewer than 8 notes'] == 2  # X:4
  assert stats['dropped notes: chord (top note kept)'] == 6   # X:2's double stops, twice
  assert stats['tunes with chords or simultaneous notes'] == 2
  # One naming scheme for every drop.
  assert all(key.startswith(('dropped files: ', 'dropped tunes: ', 'dropped notes: '))
             for key in stats if 'dropped' in key)
  assert stats['notes'] == 2 * (len(fixtures.JIG_PITCHES) + len(fixtures.DOUBLE_STOP_PITCHES))
  assert sum(stats[f'split {s}: tunes'] for s in ids) == 4

  jig = next(r for rs in records.values() for r in rs
             if r['tune_id'] == b'nottingham/jigs.abc#X:1')
  assert jig['genre'] == b'folk' and jig['time_signature'] == b'6/8'
  pitches, durations = vocabulary.decode(jig['first_pitch'], jig['intervals'], jig['durations'])
  assert pitches == fixtures.JIG_PITCHES
  assert durations == [fractions.Fraction(d) for d in fixtures.JIG_DURATIONS]
  assert len(jig['bars']) == len(jig['beats']) == len(jig['phrases']) == len(pitches)
  assert jig['beats'][0] == 2.5 and jig['phrases'][-1] == 1
  # Nottingham's jigs.abc holds jigs: its tunes, which state no R:, are jigs; O'Neill's
  # fixture tunes state none either.
  styles = {r['tune_id'].decode(): r['style'].decode() for rs in records.values() for r in rs}
  assert styles == {'nottingham/jigs.abc#X:1': 'jig', 'nottingham/jigs.abc#X:2': 'jig',
                    'oneills1850/0001-0004.abc#X:1': '', 'oneills1850/0001-0004.abc#X:2': ''}
  assert (stats['style: jig'], stats['style: not stated']) == (2, 2)
  assert jig['feel'] == b'' and jig['tempo'] == 0


def test_jazz_reads_wjazzd_and_skips_the_broken_solo(manual_dir, tmp_path, monkeypatch):
  builder = _build('jazz', manual_dir, tmp_path, None, monkeypatch)
  records = [r for rs in _records(builder).values() for r in rs]
  assert sorted(r['tune_id'] for r in records) == [b'melid:1', b'melid:2']
  stats = builder.info.metadata['statistics']
  assert (stats['tunes read'], stats['tunes kept']) == (3, 2)
  assert stats['dropped tunes: unreadable'] == 1
  assert stats['intervals folded'] == 1
  solo = next(r for r in records if r['tune_id'] == b'melid:1')
  pitches, _ = vocabulary.decode(solo['first_pitch'], solo['intervals'], solo['durations'])
  assert pitches[:-1] == fixtures.SOLO_PITCHES[:-1]
  assert pitches[-1] == fixtures.SOLO_PITCHES[-1] + 24    # the -48 leap folded to -24
  assert solo['phrases'].tolist() == [1, 1, 1, 1, 1, 2, 2, 2, 3, 3]
  assert (solo['style'], solo['feel'], solo['tempo']) == (b'postbop', b'latin', 240)
  assert (stats['style: postbop'], stats['style: bebop'], stats['feel: latin']) == (1, 1, 1)
  assert (stats['tempo: stated'], stats['tempo: not stated']) == (1, 1)


def test_nottingham_missing_from_the_manual_dir_is_named(tmp_path, oneills_dir, monkeypatch):
  empty = tmp_path / 'manual'
  (empty / 'something-else').mkdir(parents=True)
  with pytest.raises(FileNotFoundError, match=r'no \*\.abc files'):
    _build('folk', empty, tmp_path / 'data', oneills_dir, monkeypatch)


def test_split_is_deterministic_and_about_80_10_10():
  names = [corpus.split_of(f'tune-{i}') for i in range(3000)]
  assert names == [corpus.split_of(f'tune-{i}') for i in range(3000)]
  assert 0.77 < names.count('train') / 3000 < 0.83
  assert 0.08 < names.count('validation') / 3000 < 0.12
  assert 0.08 < names.count('test') / 3000 < 0.12


class _NoManualDir:
  """A download manager without a manual folder, recording what it is asked to fetch."""

  def __init__(self, fetched):
    self.fetched = fetched

  @property
  def manual_dir(self):
    raise AssertionError('Manual directory not enabled.')

  def download(self, url):
    self.fetched.append(url)
    return '/downloads/wjazzd.db'


def test_jazz_without_a_manual_dir_downloads_the_official_sqlite():
  fetched = []
  path = melodies_dataset_builder._wjazzd_file(_NoManualDir(fetched))
  assert fetched == ['https://jazzomat.hfm-weimar.de/download/downloads/wjazzd.db']
  assert path == '/downloads/wjazzd.db'


def test_jazz_prefers_the_wjazzd_file_in_the_manual_dir(manual_dir):
  folder = str(manual_dir)

  class Manual(_NoManualDir):
    manual_dir = folder
  fetched = []
  path = melodies_dataset_builder._wjazzd_file(Manual(fetched))
  assert path.endswith('jazz-wjazzd/wjazzd_melody.csv.gz') and not fetched


# A user's own corpus: nested folders, mixed formats, a few bad files.

def _reel(number, title):
  return (f'X:{number}\nT:{title}\nM:4/4\nL:1/8\nK:G\n'
          '|:GBdB c2BA|GBdg fedc|BGAF GABc|dBAF G4:|\n')


def write_corpus(root, reels=20):
  """A corpus folder of `reels` ABC reels (one id twice), fixture tunes, MIDI and MusicXML
  in subfolders, and bad files of every kind; returns the folder."""
  tunes = '\n'.join(_reel(n, f'Reel {n}') for n in range(1, reels + 1))
  fixtures.write_abc(str(root), 'reels.abc', tunes + '\n' + _reel(reels, 'Same X: again'))
  fixtures.write_abc(str(root / 'nested'), 'fixture.abc')
  (root / 'scores' / 'deeper').mkdir(parents=True)
  fixtures.write_score(str(root / 'scores' / 'deeper' / 'waltz.mid'))
  fixtures.write_score(str(root / 'scores' / 'waltz.musicxml'))
  (root / 'dangling.abc').symlink_to(root / 'gone.abc')
  (root / 'folder.abc').mkdir()
  (root / 'empty.abc').write_bytes(b'')
  (root / 'garbage.abc').write_bytes(bytes(range(256)) * 8)
  (root / 'notes.txt').write_text('not a melody file: ignored')
  return root


@pytest.fixture(scope='module')
def user_corpus(tmp_path_factory):
  return write_corpus(tmp_path_factory.mktemp('bebop'))


def test_a_users_corpus_builds_as_its_own_genre_and_trains_by_name(user_corpus, tmp_path):
  builder = build_lib.build('bebop', str(tmp_path), corpus_dir=str(user_corpus))
  assert builder.info.full_name == (
      f'melodies/bebop/{melodies_dataset_builder.Builder.VERSION}')
  stats = builder.info.metadata['statistics']
  assert stats['files read'] == 8
  assert {key: value for key, value in stats.items() if key.startswith('dropped')} == {
      'dropped files: binary': 1, 'dropped files: broken link': 1,
      'dropped files: empty': 1, 'dropped files: not a regular file': 1,
      'dropped tunes: duplicate tune id': 1, 'dropped tunes: no notes': 1,
      'dropped tunes: fewer than 8 notes': 1,
      'dropped notes: chord (top note kept)': 3 + 2}     # X:2 and each score's chord
  assert stats['tunes kept'] == 20 + 2 + 2
  # Training reads it by its genre name alone, from the folder the build wrote.
  records = [r for split in builder.info.splits
             for r in tfds.as_numpy(windows.load_split('bebop', split, str(tmp_path)))]
  ids = sorted(r['tune_id'].decode() for r in records)
  assert 'bebop/scores/deeper/waltz.mid' in ids and 'bebop/nested/fixture.abc#X:1' in ids
  reel = next(r for r in records if r['tune_id'] == b'bebop/reels.abc#X:20')
  assert reel['title'] == b'Reel 20'                       # the first of the two X:20
  assert all(r['genre'] == b'bebop' for r in records)
  # A MIDI file always states a tempo (music21 writes 120); this MusicXML file states none.
  tempo = {r['tune_id'].decode(): r['tempo'] for r in records}
  assert tempo['bebop/scores/deeper/waltz.mid'] == 120
  assert tempo['bebop/scores/waltz.musicxml'] == 0


def test_a_corpus_whose_files_all_fail_names_the_folder_and_the_reasons(tmp_path):
  folder = tmp_path / 'broken'
  folder.mkdir()
  (folder / 'empty.abc').write_bytes(b'')
  (folder / 'rests.abc').write_text('X:1\nT:Rests\nM:4/4\nL:1/4\nK:C\nz4|z4|]\n')
  with pytest.raises(corpus.CorpusError) as raised:
    build_lib.build('broken', str(tmp_path / 'data'), corpus_dir=str(folder))
  message = str(raised.value)
  assert message.startswith(f'{folder}: no melody could be read from 2 files')
  assert 'files: empty: 1' in message and 'tunes: no notes: 1' in message


def test_a_genre_name_must_be_new_and_plain(tmp_path):
  with pytest.raises(ValueError, match='built-in config'):
    melodies_dataset_builder.corpus_config('jazz', str(tmp_path))
  with pytest.raises(ValueError, match='lower-case letters'):
    melodies_dataset_builder.corpus_config('Be-Bop', str(tmp_path))
  with pytest.raises(windows.DataNotPreparedError, match='stylexfer-build-data --corpus'):
    windows.load_split('never_built', 'train', str(tmp_path))
  # Without a folder of its own, only a built-in config can be built.
  with pytest.raises(ValueError, match="unknown dataset 'bebop': the built-in ones are "
                     'folk_oneills, folk, jazz'):
    build_lib.build('bebop', str(tmp_path))


def test_the_command_builds_a_corpus_and_says_what_is_wrong(user_corpus, tmp_path):
  run = lambda *flags: subprocess.run(
      [sys.executable, '-m', 'stylexfer.programs.build_data', f'--data_dir={tmp_path}', *flags],
      capture_output=True, text=True, timeout=300)
  done = run(f'--corpus={user_corpus}', '--dataset=bebop')
  assert done.returncode == 0, done.stderr[-2000:]
  assert 'dropped files: broken link' in done.stdout and 'built melodies/bebop' in done.stdout
  empty = tmp_path / 'empty'
  empty.mkdir()
  done = run(f'--corpus={empty}', '--dataset=nothing')
  assert done.returncode == 1
  assert done.stderr.strip().splitlines()[-1] == (
      f'stylexfer-build-data: error: {empty}: no melody could be read from 0 files (0 tunes read; '
      'no melody files found)')
  # Bad flags: one line each, no traceback.
  a_file = tmp_path / 'a_file'
  a_file.write_text('not a folder')
  for flags, message in (
      ([f'--data_dir={a_file}'], f'{a_file}: is a file, not the data folder (--data_dir)'),
      (['--dataset=nope'], "unknown dataset 'nope': the built-in ones are"),
      (['--dataset=folk', f'--manual_dir={tmp_path / "gone"}'],
       f'{tmp_path / "gone"}: no such folder, for the manual download folder'),
      (['--dataset=folk', f'--manual_dir={empty}'],
       'melodies/folk reads the Nottingham Music Database from the manual download folder')):
    done = run(*flags)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 1 and 'Traceback' not in done.stderr, done.stderr[-2000:]
    assert last.startswith(f'stylexfer-build-data: error: {message}'), last


def test_what_a_stopped_build_left_is_removed(user_corpus, tmp_path):
  # TFDS builds into incomplete.<random>_<version> and renames it when done; a build
  # that was killed leaves it behind.
  version = str(melodies_dataset_builder.Builder.VERSION)
  left = tmp_path / 'melodies' / 'bebop' / f'incomplete.Q7ZK2M_{version}'
  left.mkdir(parents=True)
  (left / 'melodies-train.tfrecord-00000-of-00001').write_bytes(b'half')
  # Another version's may be another stylexfer's build, running: it stays.
  other = (tmp_path / 'melodies' / 'bebop' / 'incomplete.B998K1_9.0.0')
  other.mkdir()
  builder = build_lib.build('bebop', str(tmp_path), corpus_dir=str(user_corpus))
  assert not left.exists()
  assert sorted(p.name for p in (tmp_path / 'melodies' / 'bebop').iterdir()) == [
      version, other.name]
  assert builder.info.metadata['statistics']['tunes kept'] == 24


# Apache Beam: the same records as the one-process path.

def _all_records(builder):
  return {r['tune_id']: (split, {k: v.tolist() if hasattr(v, 'tolist') else v
                                 for k, v in r.items()})
          for split, rs in _records(builder).items() for r in rs}


@pytest.mark.slow
def test_beam_builds_the_same_records_and_statistics_as_one_process(user_corpus, tmp_path):
  pytest.importorskip('apache_beam')
  plain = build_lib.build('bebop', str(tmp_path / 'plain'), corpus_dir=str(user_corpus))
  beam = build_lib.build(
      'bebop', str(tmp_path / 'beam'), corpus_dir=str(user_corpus),
      beam_options=['direct_num_workers=2', 'direct_running_mode=multi_processing'])
  assert _all_records(beam) == _all_records(plain)
  assert beam.info.metadata['statistics'] == plain.info.metadata['statistics']
  assert plain.info.metadata['statistics']['dropped files: broken link'] == 1


@pytest.mark.slow
def test_beam_builds_jazz_from_wjazzd_like_one_process(manual_dir, tmp_path):
  pytest.importorskip('apache_beam')
  plain = build_lib.build('jazz', str(tmp_path / 'plain'), str(manual_dir))
  with pytest.raises(corpus.CorpusError, match='no tune was kept for the (validation|test) '
                     'split; a corpus this small'):
    build_lib.build('jazz', str(tmp_path / 'beam'), str(manual_dir),
                    beam_options=['direct_num_workers=1'])
  assert plain.info.splits['train'].num_examples == 2


# TFDS's own checks, one class per config, on dummy_data/ beside the builder.

class _MelodiesTestCase(tfds.testing.DatasetBuilderTestCase):
  DATASET_CLASS = melodies_dataset_builder.Builder
  MOCK_OUT_FORBIDDEN_OS_FUNCTIONS = False  # the readers use os and open, like music21

  def setUp(self):
    super().setUp()
    oneills = self.dummy_data / 'oneills1850'
    patcher = mock.patch.object(melodies_dataset_builder, '_oneills_dir',
                                return_value=str(oneills))
    patcher.start()
    self.addCleanup(patcher.stop)


class FolkOneillsTest(_MelodiesTestCase):
  BUILDER_CONFIG_NAMES_TO_TEST = ['folk_oneills']
  SPLITS = {'train': 8, 'validation': 1, 'test': 1}


class FolkTest(_MelodiesTestCase):
  BUILDER_CONFIG_NAMES_TO_TEST = ['folk']
  SPLITS = {'train': 14, 'validation': 2, 'test': 2}


class JazzTest(_MelodiesTestCase):
  BUILDER_CONFIG_NAMES_TO_TEST = ['jazz']
  SPLITS = {'train': 2}


del _MelodiesTestCase  # not a test of its own
