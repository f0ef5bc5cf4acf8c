"""Which genre does a rhythm, or a pitch line, sound like? Classifiers trained on real music.

An independent judge of the transfer: not the LSTMs that wrote the rhythm, but logistic
regression (scikit-learn) on simple histograms, trained on the real corpora alone:

  rhythm  the duration histogram (56 grid values) and where onsets fall in the beat
          (12ths of a quarter note)
  pitch   the interval histogram (49 intervals) and the pitch classes relative to the
          excerpt's most frequent one (12)

Melodies are cut into excerpts of `excerpt` notes (64 by default; a shorter melody is one
excerpt), so a 2,000-note solo and a 60-note reel weigh alike, and a melody is judged by
its excerpts' mean probability. Classes are weighted by their size (folk has seven tunes
for every jazz solo). Accuracy is cross-validated with folds that keep every excerpt of a
tune together (StratifiedGroupKFold): excerpts of one tune in both training and test
folds would make the judge look better than it is.
"""

import numpy as np
from sklearn import linear_model
from sklearn import model_selection
from sklearn import pipeline
from sklearn import preprocessing

from stylexfer.tokens import vocabulary
from stylexfer.evaluation import histograms

KINDS = ('rhythm', 'pitch')
EXCERPT = 64
_BEAT_STEPS = 12


def note_streams(rendition):
  """Per-note arrays the features are made of: duration ids, step in the beat, interval
  ids (START for the first note) and pitch classes."""
  positions = rendition.positions()
  return {
      'durations': np.asarray(rendition.duration_ids(), int) - vocabulary.NUM_SPECIAL,
      'beat_steps': np.rint((positions % 1.0) * _BEAT_STEPS).astype(int) % _BEAT_STEPS,
      'intervals': np.concatenate([[-1], np.asarray(rendition.interval_ids(), int)
                                   - vocabulary.NUM_SPECIAL]),
      'pitch_classes': np.asarray(rendition.pitches, int) % 12,
  }


def _histogram(values, size):
  values = values[values >= 0]
  counts = np.bincount(values, minlength=size).astype(float)
  return counts / max(counts.sum(), 1.0)


def features(streams, kind, start=0, stop=None):
  """One excerpt's feature vector (`kind` 'rhythm' or 'pitch') from note_streams."""
  part = {name: values[start:stop] for name, values in streams.items()}
  if kind == 'rhythm':
    return np.concatenate([_histogram(part['durations'], len(histograms.DURATIONS)),
                           _histogram(part['beat_steps'], _BEAT_STEPS)])
  if kind == 'pitch':
    classes = part['pitch_classes']
    tonic = np.bincount(classes, minlength=12).argmax()
    return np.concatenate([_histogram(part['intervals'], len(histograms.INTERVALS)),
                           _histogram((classes - tonic) % 12, 12)])
  raise ValueError(f'kind {kind!r} is not one of {KINDS}')


def excerpt_bounds(notes, excerpt=EXCERPT):
  """(start, stop) of each excerpt: consecutive runs of `excerpt` notes; a last run shorter
  than half an excerpt joins the one before it."""
  if notes <= excerpt:
    return [(0, notes)]
  bounds = [(start, min(start + excerpt, notes)) for start in range(0, notes, excerpt)]
  if bounds[-1][1] - bounds[-1][0] < excerpt // 2:
    bounds[-2:] = [(bounds[-2][0], notes)]
  return bounds


def excerpt_features(renditions, kind, excerpt=EXCERPT):
  """(features [excerpts, dims], melody index of each excerpt) of a list of renditions."""
  rows, owners = [], []
  for index, rendition in enumerate(renditions):
    streams = note_streams(rendition)
    for start, stop in excerpt_bounds(len(rendition), excerpt):
      rows.append(features(streams, kind, start, stop))
      owners.append(index)
  return np.array(rows), np.array(owners)


def _model(regularization):
  return pipeline.make_pipeline(
      preprocessing.StandardScaler(),
      linear_model.LogisticRegression(C=regularization, max_iter=2000,
                                      class_weight='balanced'))


class GenreClassifier:
  """Logistic regression on one kind of feature; fit on {genre: [Rendition]} of real music."""

  def __init__(self, kind='rhythm', excerpt=EXCERPT, regularization=1.0):
    if kind not in KINDS:
      raise ValueError(f'kind {kind!r} is not one of {KINDS}')
    self.kind = kind
    self.excerpt = excerpt
    self.regularization = regularization
    self.genres = None
    self.model = None

  def _dataset(self, by_genre):
    rows, labels, groups = [], [], []
    for label, genre in enumerate(self.genres):
      found, owners = excerpt_features(by_genre[genre], self.kind, self.excerpt)
      rows.append(found)
      labels.append(np.full(len(owners), label))
      groups += [f'{genre}/{by_genre[genre][i].tune_id}' for i in owners]
    return np.concatenate(rows), np.concatenate(labels), np.array(groups)

  def fit(self, by_genre):
    """Trains on the melodies of each genre; returns self."""
    self.genres = sorted(by_genre)
    x, y, _ = self._dataset(by_genre)
    self.model = _model(self.regularization).fit(x, y)
    return self

  def probabilities(self, renditions):
    """[melodies, genres]: each melody's mean excerpt probability of each genre."""
    if self.model is None:
      raise ValueError('the classifier is not fitted; call fit() first')
    if not renditions:
      return np.zeros([0, len(self.genres)])
    x, owners = excerpt_features(renditions, self.kind, self.excerpt)
    excerpt_probabilities = self.model.predict_proba(x)
    sums = np.zeros([len(renditions), len(self.genres)])
    np.add.at(sums, owners, excerpt_probabilities)
    return sums / np.bincount(owners, minlength=len(renditions))[:, None]

  def judge(self, renditions):
    """The genre each melody is judged to be."""
    return [self.genres[i] for i in self.probabilities(renditions).argmax(axis=1)]

  def share_judged(self, renditions, genre):
    """Share of the melodies judged to be `genre`."""
    if not renditions:
      return float('nan')
    return float(np.mean([judged == genre for judged in self.judge(renditions)]))

  def cross_validate(self, by_genre, folds=5, seed=0):
    """Grouped cross-validated accuracy on real melodies (every excerpt of a tune in one
    fold); then fits the classifier on all of them, as fit() does.

    Returns {'excerpt_accuracy', 'balanced_accuracy' (mean of per-genre recall),
    'per_genre' {genre: recall}, 'excerpts', 'tunes', 'folds'}.
    """
    self.genres = sorted(by_genre)
    x, y, groups = self._dataset(by_genre)
    splitter = model_selection.StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    guesses = np.zeros_like(y)
    for train, test in splitter.split(x, y, groups):
      guesses[test] = _model(self.regularization).fit(x[train], y[train]).predict(x[test])
    self.model = _model(self.regularization).fit(x, y)
    recall = {genre: float(np.mean(guesses[y == label] == label))
              for label, genre in enumerate(self.genres)}
    return {'excerpt_accuracy': float(np.mean(guesses == y)),
            'balanced_accuracy': float(np.mean(list(recall.values()))),
            'per_genre': recall, 'excerpts': int(len(y)),
            'tunes': int(len(set(groups))), 'folds': folds}
