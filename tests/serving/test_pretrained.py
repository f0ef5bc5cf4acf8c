"""The SavedModels the package ships: they load, know their genre, and beat the n-grams."""

import collections
import json
import os

import pytest
import tensorflow as tf

from stylexfer.dataset import corpus
from stylexfer.reading import abc_reader
from stylexfer.serving import loading
from stylexfer.model import ngram
from stylexfer.tokens import vocabulary
from stylexfer.reading import wjazzd
import fixtures
from stylexfer.evaluation import quality

EXAMPLE = os.path.join(os.path.dirname(loading.PRETRAINED_DIR), 'examples',
                       'the_stylexfer_reel.abc')
CORPORA = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'corpora')


@pytest.fixture(scope='module')
def shipped():
  return {genre: tf.saved_model.load(loading.find_model(genre)) for genre in ('folk', 'jazz')}


def _tokens(melody):
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  return {'intervals': encoding.intervals, 'durations': encoding.durations}


def test_shipped_models_are_the_two_genres(shipped):
  for genre, loaded in shipped.items():
    assert loaded.genre.numpy().decode() == genre
    assert (loaded.duration_values.numpy() == vocabulary.duration_table()).all()


def test_each_genre_finds_its_own_rhythms_more_likely(shipped, tmp_path):
  folk = [_tokens(m) for m in abc_reader.read_abc(EXAMPLE)]
  jig = abc_reader.split_abc(fixtures.ABC_TUNES)[0]
  folk.append(_tokens(abc_reader.parse_abc_tune(jig[2], 'fixture', jig[0], jig[1])))
  jazz = [_tokens(m) for m in wjazzd.read_wjazzd(
      fixtures.write_wjazzd_csv(str(tmp_path / 'solos.csv')))[0]]
  scores = {(genre, data): quality.evaluate_saved_model(loaded, melodies)['duration']['nll']
            for genre, loaded in shipped.items()
            for data, melodies in (('folk', folk), ('jazz', jazz))}
  assert scores['folk', 'folk'] < scores['jazz', 'folk']
  assert scores['jazz', 'jazz'] < scores['folk', 'jazz']


def test_recorded_evaluation_beats_the_ngram_on_both_heads():
  with open(os.path.join(loading.PRETRAINED_DIR, 'evaluation.json')) as f:
    report = json.load(f)
  for genre in ('folk', 'jazz'):
    for head in ('pitch', 'duration'):
      assert report[genre]['lstm'][head]['nll'] < report[genre]['ngram'][head]['nll']
      assert report[genre]['lstm'][head]['tokens'] == report[genre]['ngram'][head]['tokens']


@pytest.mark.corpora
@pytest.mark.skipif(not os.path.isdir(CORPORA), reason='../shared/corpora absent')
def test_shipped_jazz_beats_the_ngram_on_the_held_out_solos(shipped):
  melodies, _ = wjazzd.read_wjazzd(os.path.join(CORPORA, 'jazz-wjazzd',
                                                'wjazzd_melody.csv.gz'))
  splits = collections.defaultdict(list)
  for melody in melodies:
    splits[corpus.split_of(melody.tune_id)].append(_tokens(melody))
  baseline = ngram.best_baseline(splits['train'], splits['validation'], splits['test'])
  lstm = quality.evaluate_saved_model(shipped['jazz'], splits['test'])
  for head in ('pitch', 'duration'):
    assert lstm[head]['tokens'] == baseline[head]['tokens']
    assert lstm[head]['nll'] < baseline[head]['nll']
