"""The `melodies` TFDS builder on fixture corpora the tests write themselves."""

import fractions

import pytest
import tensorflow_datasets as tfds

from stylexfer import build_data
from stylexfer import corpus
from stylexfer import vocabulary
from stylexfer_datasets.melodies import melodies_dataset_builder
import fixtures


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
  return build_data.build(config, str(data_dir), str(manual_dir))


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
  assert stats['tunes read'] == 8
  assert stats['tunes kept'] == 4
  assert stats['dropped: NoNotesError'] == 2              # X:3, only rests
  assert stats['dropped: fewer than 8 notes'] == 2        # X:4
  assert stats['chord_notes_dropped'] == 6                # X:2's double stops, twice
  assert stats['polyphonic_tunes'] == 2
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


def test_jazz_reads_wjazzd_and_skips_the_broken_solo(manual_dir, tmp_path, monkeypatch):
  builder = _build('jazz', manual_dir, tmp_path, None, monkeypatch)
  records = [r for rs in _records(builder).values() for r in rs]
  assert sorted(r['tune_id'] for r in records) == [b'melid:1', b'melid:2']
  stats = builder.info.metadata['statistics']
  assert (stats['tunes read'], stats['tunes kept']) == (3, 2)
  assert stats['dropped: UnreadableFileError'] == 1
  assert stats['intervals folded'] == 1
  solo = next(r for r in records if r['tune_id'] == b'melid:1')
  pitches, _ = vocabulary.decode(solo['first_pitch'], solo['intervals'], solo['durations'])
  assert pitches[:-1] == fixtures.SOLO_PITCHES[:-1]
  assert pitches[-1] == fixtures.SOLO_PITCHES[-1] + 24    # the -48 leap folded to -24
  assert solo['phrases'].tolist() == [1, 1, 1, 1, 1, 2, 2, 2, 3, 3]


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
