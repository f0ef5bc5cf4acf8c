"""Corpus files to records, one step at a time: bad files are counted, never raised."""

import collections

import pytest

from stylexfer.dataset import corpus
import fixtures


def _counter():
  counts = collections.Counter()
  return counts, lambda name, value=1: counts.update({name: value})


def _file(path, name=None, order=0):
  return corpus.CorpusFile(order, 'mine', str(path), name or path.name)


def test_bad_files_are_counted_by_reason_and_skipped(tmp_path):
  (tmp_path / 'dangling.abc').symlink_to(tmp_path / 'gone.abc')
  (tmp_path / 'folder.abc').mkdir()
  (tmp_path / 'empty.abc').write_bytes(b'  \n')
  (tmp_path / 'garbage.abc').write_bytes(b'\x00\x01\xfe\xff' * 256)
  (tmp_path / 'prose.abc').write_text('no tune in here\n')
  counts, count = _counter()
  files = corpus.find_files(str(tmp_path), 'mine', nested=True)
  assert [f.name for f in files] == ['dangling.abc', 'empty.abc', 'folder.abc',
                                     'garbage.abc', 'prose.abc']
  assert [t for f in files for t in corpus.tunes_of_file(f, count)] == []
  assert counts == {'files read': 5, 'dropped files: broken link': 1,
                    'dropped files: empty': 1, 'dropped files: not a regular file': 1,
                    'dropped files: binary': 1,
                    'dropped files: no ABC tune (no X: line)': 1}


def test_a_latin_1_file_is_read_as_latin_1_and_counted(tmp_path):
  path = tmp_path / 'latin.abc'
  path.write_bytes('X:1\nT:Café Olé ½\nM:4/4\nL:1/4\nK:C\ncdef|gabc|]\n'.encode('latin-1'))
  counts, count = _counter()
  [tune] = corpus.tunes_of_file(_file(path), count)
  assert tune.title == 'Café Olé ½'
  assert counts['files read as Latin-1'] == 1
  utf8 = tmp_path / 'utf8.abc'
  utf8.write_text('X:1\nT:Café\nM:4/4\nL:1/4\nK:C\ncdef|gabc|]\n', encoding='utf-8')
  counts, count = _counter()
  assert corpus.tunes_of_file(_file(utf8), count)[0].title == 'Café'
  assert 'files read as Latin-1' not in counts


def test_nested_mixed_files_get_ids_relative_to_the_corpus(tmp_path):
  fixtures.write_abc(str(tmp_path / 'a' / 'b'), 'tunes.abc')
  (tmp_path / 'c').mkdir()
  fixtures.write_score(str(tmp_path / 'c' / 'waltz.mid'))
  files = corpus.find_files(str(tmp_path), 'mine', start=3, nested=True)
  assert [(f.order, f.name) for f in files] == [(3, 'a/b/tunes.abc'), (4, 'c/waltz.mid')]
  by_split, counts = corpus.read_corpus(files, 'mine', processes=1)
  ids = sorted(key for examples in by_split.values() for key, _ in examples)
  assert ids == ['mine/a/b/tunes.abc#X:1', 'mine/a/b/tunes.abc#X:2', 'mine/c/waltz.mid']
  waltz = next(r for examples in by_split.values() for key, r in examples
               if key == 'mine/c/waltz.mid')
  assert waltz['source'] == 'mine/c/waltz.mid'           # not where the corpus lies
  assert counts['tunes read'] == 5 and counts['tunes kept'] == 3


def test_of_two_tunes_with_one_id_the_first_is_kept(tmp_path):
  jig = fixtures.ABC_TUNES.split('\n\n')[1]
  fixtures.write_abc(str(tmp_path), 'twice.abc', jig + '\n\n' + jig.replace('Pickup', 'Other'))
  by_split, counts = corpus.read_corpus(corpus.find_files(str(tmp_path), 'mine'), 'folk',
                                        processes=1)
  [(key, record)] = [example for examples in by_split.values() for example in examples]
  assert record['title'] == 'Pickup Jig'
  assert counts['dropped tunes: duplicate tune id'] == 1
  assert counts[f'split {corpus.split_of(key)}: tunes'] == 1


def test_statistics_always_show_what_was_read_and_kept():
  table = corpus.statistics({'interval id 3': 2, 'duration id 5': 1, 'dropped tunes: x': 1})
  assert {k: table[k] for k in ('files read', 'tunes read', 'tunes kept', 'notes')} == {
      'files read': 0, 'tunes read': 0, 'tunes kept': 0, 'notes': 0}
  assert table['interval vocabulary used'] == '1/49'
  assert table['duration vocabulary used'] == '1/56'


def test_nothing_kept_is_an_error_naming_the_corpus_and_the_reasons():
  with pytest.raises(corpus.CorpusError, match=r'^/some/folder: no melody could be read '
                     r'from 3 files \(2 tunes read; files: empty: 1, tunes: no notes: 2\)$'):
    corpus.check_kept({'files read': 3, 'tunes read': 2, 'dropped files: empty': 1,
                       'dropped tunes: no notes': 2}, '/some/folder')
  corpus.check_kept({'tunes kept': 1}, '/some/folder')
