"""Histograms of what a rhythm and a pitch line are made of, per melody and per set.

Each histogram is a probability vector (it sums to 1; a melody with no events gives all
zeros) over fixed bins, so melodies and sets of any size compare:

  intervals   semitones from the previous note, -24..+24 (49 bins)
  durations   the 56 grid values of the duration vocabulary (quarter notes)
  positions   onset within the bar, in 12ths of a quarter note (16ths and 8th triplets
              land on bins), 0 up to 6 quarters (72 bins; later positions in the last bin)
  transitions consecutive duration pairs, a 56 x 56 matrix (flattened for distances)
"""

import numpy as np

from stylexfer.tokens import vocabulary

INTERVALS = np.arange(vocabulary.MIN_INTERVAL, vocabulary.MAX_INTERVAL + 1)
DURATIONS = np.array([float(d) for d in vocabulary.DURATION_GRID])
POSITION_STEP = 1 / 12
POSITIONS = np.arange(72) * POSITION_STEP
FEATURES = ('intervals', 'durations', 'positions', 'transitions')


def _normalized(counts):
  counts = np.asarray(counts, float)
  total = counts.sum()
  return counts / total if total else counts


def interval_histogram(rendition):
  """Share of each interval, -24..+24 semitones (octave-folded as the vocabulary folds)."""
  ids = np.asarray(rendition.interval_ids(), int) - vocabulary.NUM_SPECIAL
  return _normalized(np.bincount(ids, minlength=len(INTERVALS)))


def duration_histogram(rendition):
  """Share of each grid duration (durations snapped to the grid)."""
  ids = np.asarray(rendition.duration_ids(), int) - vocabulary.NUM_SPECIAL
  return _normalized(np.bincount(ids, minlength=len(DURATIONS)))


def position_histogram(rendition):
  """Share of onsets at each position in the bar, in 12ths of a quarter note."""
  steps = np.rint(rendition.positions() / POSITION_STEP)
  steps = np.clip(steps.astype(int), 0, len(POSITIONS) - 1)
  return _normalized(np.bincount(steps, minlength=len(POSITIONS)))


def duration_transitions(rendition):
  """[56, 56]: share of each (duration, next duration) pair, rows the first duration."""
  ids = np.asarray(rendition.duration_ids(), int) - vocabulary.NUM_SPECIAL
  size = len(DURATIONS)
  counts = np.bincount(ids[:-1] * size + ids[1:], minlength=size * size)
  return _normalized(counts).reshape(size, size)


_FUNCTIONS = {'intervals': interval_histogram, 'durations': duration_histogram,
              'positions': position_histogram, 'transitions': duration_transitions}


def features(renditions, name):
  """[melodies, bins]: one feature's histogram of every melody (transitions flattened)."""
  return np.stack([_FUNCTIONS[name](r).reshape(-1) for r in renditions])


def pooled(renditions, name):
  """One feature's histogram of a whole set: every event of every melody counted once."""
  # Each melody's histogram times its number of events gives back its counts.
  fewer = 1 if name in ('intervals', 'transitions') else 0
  weights = np.array([len(r) - fewer for r in renditions], float)
  rows = features(renditions, name) * weights[:, None]
  result = _normalized(rows.sum(axis=0))
  return result.reshape(len(DURATIONS), len(DURATIONS)) if name == 'transitions' else result


def overlap(p, q):
  """Shared mass of two histograms, sum(min(p, q)): 1 for equal ones, 0 for disjoint ones."""
  return float(np.minimum(np.asarray(p).reshape(-1), np.asarray(q).reshape(-1)).sum())
