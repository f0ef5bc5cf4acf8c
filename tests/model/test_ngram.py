"""Tests for the smoothed n-gram baselines: framing, normalisation, and exact scores."""

import math

import numpy as np
import pytest

from stylexfer.model import melody_model
from stylexfer.model import ngram
from stylexfer.tokens import vocabulary as vocab

START, END = vocab.START, vocab.END
UP, DOWN, SAME = vocab.interval_id(2), vocab.interval_id(-2), vocab.interval_id(0)
EIGHTH, QUARTER, HALF = vocab.duration_id(0.5), vocab.duration_id(1), vocab.duration_id(2)

# One bar that a bigram cannot get right and a trigram can: after UP comes UP or DOWN, and
# after EIGHTH comes EIGHTH or QUARTER, but two tokens of history settle both.
CYCLE = {'intervals': [UP, UP, DOWN], 'durations': [EIGHTH, EIGHTH, QUARTER, EIGHTH]}


def _random_melodies(count, seed):
  rng = np.random.default_rng(seed)
  melodies = []
  for _ in range(count):
    n = int(rng.integers(1, 30))
    melodies.append({
        'intervals': rng.integers(vocab.NUM_SPECIAL, vocab.NUM_INTERVALS, n - 1),
        'durations': rng.integers(vocab.NUM_SPECIAL, vocab.NUM_DURATIONS, n)})
  return melodies


def test_pitch_events_follow_intervals_out_without_its_start():
  contexts, targets = ngram.HeadBaseline('pitch', 3).events([CYCLE])
  np.testing.assert_array_equal(targets, [UP, UP, DOWN, END])
  np.testing.assert_array_equal(contexts, [[START, START], [UP, START], [UP, UP], [DOWN, UP]])


def test_pitch_events_with_duration_read_durations_in():
  contexts, targets = ngram.HeadBaseline('pitch', 2, with_duration=True).events([CYCLE])
  np.testing.assert_array_equal(targets, [UP, UP, DOWN, END])
  # durations_in[t] for t = 1..n is d_0..d_{n-1}.
  np.testing.assert_array_equal(
      contexts, [[START, EIGHTH], [UP, EIGHTH], [UP, QUARTER], [DOWN, EIGHTH]])


def test_duration_events_read_the_next_interval_then_previous_durations():
  contexts, targets = ngram.HeadBaseline('duration', 3).events([CYCLE])
  np.testing.assert_array_equal(targets, [EIGHTH, EIGHTH, QUARTER, EIGHTH, END])
  np.testing.assert_array_equal(contexts, [
      [START, START, START],
      [UP, EIGHTH, START],
      [UP, EIGHTH, EIGHTH],
      [DOWN, QUARTER, EIGHTH],
      [END, EIGHTH, QUARTER]])


@pytest.mark.parametrize('order', [1, 2, 3])
def test_token_counts_skip_the_start_target(order):
  melodies = [{'intervals': [], 'durations': [QUARTER]},  # a single note
              CYCLE,
              (np.full([9], SAME), np.full([10], HALF))]
  metrics = ngram.evaluate_heads(ngram.fit_heads(melodies, order), melodies)
  notes = [1, 4, 10]
  assert metrics['pitch']['tokens'] == sum(n - 1 + 1 for n in notes)
  assert metrics['duration']['tokens'] == sum(n + 1 for n in notes)


@pytest.mark.parametrize('smoothing', ngram.SMOOTHINGS)
@pytest.mark.parametrize('head,order,with_duration', [
    ('pitch', 1, False), ('pitch', 2, False), ('pitch', 3, False), ('pitch', 3, True),
    ('duration', 2, False), ('duration', 3, False)])
def test_probabilities_sum_to_one_for_seen_and_unseen_contexts(
    head, order, with_duration, smoothing):
  model = ngram.HeadBaseline(head, order, with_duration, smoothing)
  model.fit(_random_melodies(50, seed=0))
  seen, _ = model.events(_random_melodies(50, seed=0))
  unseen = np.full([1, model.ngram.context_size], vocab.PAD)  # PAD is never in a context
  half_seen = seen[:1].copy()
  if order > 1:
    half_seen[:, -1] = vocab.PAD  # a seen shorter prefix, an unseen full context
  for contexts in (seen, unseen, half_seen):
    probs = model.ngram.probabilities(contexts)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (probs > 0).all()


@pytest.mark.parametrize('smoothing', ngram.SMOOTHINGS)
def test_unseen_token_gets_non_zero_probability_in_a_seen_context(smoothing):
  # The training data is deterministic: no singletons, so Kneser-Ney needs its floor.
  model = ngram.HeadBaseline('pitch', 3, smoothing=smoothing).fit([CYCLE] * 20)
  probs = model.ngram.probabilities([[UP, UP]])[0]
  assert probs[DOWN] > 0.9
  assert 0 < probs[SAME] < probs[DOWN]  # SAME never occurs in training


@pytest.mark.parametrize('smoothing', ngram.SMOOTHINGS)
def test_trigram_predicts_a_repeating_tune_exactly_and_beats_the_bigram(smoothing):
  train = [CYCLE] * 50
  bigram = ngram.evaluate_heads(ngram.fit_heads(train, 2, smoothing=smoothing), [CYCLE])
  trigram = ngram.evaluate_heads(ngram.fit_heads(train, 3, smoothing=smoothing), [CYCLE])
  for head in melody_model.HEADS:
    assert trigram[head]['accuracy'] == 1.0
    assert bigram[head]['accuracy'] < 1.0
    assert trigram[head]['nll'] < bigram[head]['nll']
    assert trigram[head]['nll'] < 0.05


@pytest.mark.parametrize('smoothing', ngram.SMOOTHINGS)
def test_uniform_counts_give_log_vocab_nll(smoothing):
  # Every target once after every context: each level's counts are flat, so the
  # interpolated distribution is exactly uniform.
  vocab_size, contexts_seen = 7, 5
  contexts = np.repeat(np.arange(contexts_seen), vocab_size)[:, None]
  targets = np.tile(np.arange(vocab_size), contexts_seen)
  model = ngram.NgramModel(1, vocab_size, smoothing).fit(contexts, targets)
  log_probs, _ = model.score(contexts, targets)
  np.testing.assert_allclose(-log_probs.mean(), math.log(vocab_size), rtol=1e-12)
  # An unseen context backs off to the (flat) unigram.
  log_probs, _ = model.score([[contexts_seen + 3]], [2])
  np.testing.assert_allclose(-log_probs[0], math.log(vocab_size), rtol=1e-12)


def test_witten_bell_values_by_hand():
  # Level 0: counts {0: 2, 1: 1}, T = 2, N = 3 -> P0 = (c + 2/3) / 5 over 3 tokens.
  # Level 1, context 9: counts {0: 2}, T = 1 -> P = (c + P0) / 3.
  model = ngram.NgramModel(1, 3, 'witten-bell').fit([[9], [9], [4]], [0, 0, 1])
  unigram = np.array([2 + 2 / 3, 1 + 2 / 3, 2 / 3]) / 5
  np.testing.assert_allclose(model.probabilities([[9]])[0], (np.array([2, 0, 0]) + unigram) / 3)
  np.testing.assert_allclose(model.probabilities([[5]])[0], unigram)


def test_kneser_ney_values_by_hand():
  # Level 0 counts continuations: token 0 follows one context, token 1 one other, so
  # n1 = 2, n2 = 0, D = 1 and the unigram is uniform. Level 1 counts are {9: [2, 0, 0],
  # 4: [0, 1, 0]}: n1 = 1, n2 = 1, D = 1/3; context 9 has one type in two events.
  model = ngram.NgramModel(1, 3).fit([[9], [9], [4]], [0, 0, 1])
  expected = (np.array([2 - 1 / 3, 0, 0]) + 1 / 3 * 1 * np.full(3, 1 / 3)) / 2
  np.testing.assert_allclose(model.probabilities([[9]])[0], expected)
  np.testing.assert_allclose(model.probabilities([[5]])[0], np.full(3, 1 / 3))


def test_best_baseline_chooses_by_validation_and_reports_test():
  train = [CYCLE] * 30 + _random_melodies(5, seed=1)
  report = ngram.best_baseline(train, [CYCLE] * 3, [CYCLE] * 2)
  for head in melody_model.HEADS:
    assert report[head]['order'] == 3
    assert set(report[head]['validation_nll']) == {2, 3}
    assert report[head]['validation_nll'][3] < report[head]['validation_nll'][2]
    assert report[head]['tokens'] == 2 * (4 if head == 'pitch' else 5)
  expected = ngram.evaluate_heads(ngram.fit_heads(train, 3), [CYCLE] * 2)
  assert report['pitch']['nll'] == pytest.approx(expected['pitch']['nll'])


def test_bad_inputs_raise():
  with pytest.raises(vocab.TokenError):
    ngram.fit_heads([{'intervals': [UP], 'durations': [EIGHTH]}], 2)
  with pytest.raises(ValueError):
    ngram.NgramModel(1, 3).fit([[0]], [3])
  with pytest.raises(ValueError):
    ngram.NgramModel(1, 3).score([[0]], [0])  # not fitted
  with pytest.raises(ValueError):
    ngram.HeadBaseline('duration', 2, with_duration=True)
  with pytest.raises(ValueError):
    ngram.NgramModel(1, 3, smoothing='add-one')
  with pytest.raises(ValueError):
    ngram.NgramModel(2, 3).fit([[0]], [0])  # one context token, two expected
