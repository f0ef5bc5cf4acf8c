"""The genre judges separate separable fixtures, and grouped folds keep a tune together."""

import fractions

import numpy as np
import pytest

from stylexfer.evaluation import classifier
from stylexfer.evaluation import data

F = fractions.Fraction


def _melody(rng, tune_id, steps, rhythm, notes=96):
  pitches = [60]
  for _ in range(notes - 1):
    pitches.append(int(np.clip(pitches[-1] + rng.choice(steps), 40, 90)))
  durations = [rhythm[i % len(rhythm)] for i in range(notes)]
  return data.rendition(data.melody_of_notes(pitches, durations, '4/4', tune_id))


def _corpora(seed=0, tunes=12):
  rng = np.random.default_rng(seed)
  # "plain": stepwise diatonic lines in even eighths; "busy": chromatic leaps in triplets
  # and sixteenths (an eighth-note rhythm that runs off the beat too).
  plain = [_melody(rng, f'plain{i}', [-2, -1, 1, 2, 2, -2], [F(1, 2)] * 3 + [F(1, 1)])
           for i in range(tunes)]
  busy = [_melody(rng, f'busy{i}', [-6, -1, 1, 5, 7, -7, 3],
                  [F(1, 3)] * 3 + [F(1, 4)] * 2 + [F(3, 4)]) for i in range(tunes)]
  return {'plain': plain, 'busy': busy}


@pytest.mark.parametrize('kind', classifier.KINDS)
def test_separable_genres_are_told_apart_in_grouped_cross_validation(kind):
  judge = classifier.GenreClassifier(kind, excerpt=32)
  found = judge.cross_validate(_corpora(), folds=3)
  assert found['excerpt_accuracy'] == 1.0 and found['balanced_accuracy'] == 1.0
  assert found['tunes'] == 24 and found['excerpts'] == 24 * 3
  assert judge.judge(_corpora(seed=1)['busy']) == ['busy'] * 12


def test_rhythm_and_pitch_judges_split_a_restyled_melody():
  corpora = _corpora()
  rhythm = classifier.GenreClassifier('rhythm').fit(corpora)
  pitch = classifier.GenreClassifier('pitch').fit(corpora)
  source = _corpora(seed=2)['plain']
  busy_rhythm = [F(1, 3)] * 3 + [F(1, 4)] * 2 + [F(3, 4)]
  restyled = [r.with_rhythm([busy_rhythm[i % 6] for i in range(len(r))]) for r in source]
  assert rhythm.share_judged(restyled, 'busy') == 1.0
  assert pitch.share_judged(restyled, 'plain') == 1.0
  probabilities = rhythm.probabilities(restyled)
  assert probabilities.shape == (12, 2) and np.allclose(probabilities.sum(axis=1), 1)


def test_excerpts_cover_every_note_once():
  assert classifier.excerpt_bounds(40, 64) == [(0, 40)]
  assert classifier.excerpt_bounds(128, 64) == [(0, 64), (64, 128)]
  # A tail shorter than half an excerpt joins the excerpt before it.
  assert classifier.excerpt_bounds(150, 64) == [(0, 64), (64, 150)]
  assert classifier.excerpt_bounds(170, 64) == [(0, 64), (64, 128), (128, 170)]


def test_an_unfitted_judge_says_so():
  with pytest.raises(ValueError, match='not fitted'):
    classifier.GenreClassifier('rhythm').judge(_corpora()['plain'])
  with pytest.raises(ValueError, match='kind'):
    classifier.GenreClassifier('timbre')
