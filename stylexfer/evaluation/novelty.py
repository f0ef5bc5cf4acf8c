"""Is a generated melody new, or a copy? The longest run of tokens it shares with training.

A model that memorizes its training tunes would write long stretches of them note for
note. For each melody, the longest run of consecutive tokens that also occurs somewhere in
the training melodies (in any one of them), in one of three streams:

  intervals  interval ids (the pitch line, key-free)
  durations  duration ids (the rhythm)
  notes      both together: a note is its interval and its duration

novelty = 1 - longest run / melody length: 0 for a melody copied whole, near 1 for one
whose every stretch is new. Held-out real melodies of the same corpus give the yardstick:
real tunes share stock phrases (and folk collections hold variants of one tune).
"""

import numpy as np

from stylexfer.tokens import vocabulary

STREAMS = ('intervals', 'durations', 'notes')


def note_tokens(rendition, stream='notes'):
  """One token per note of a Rendition: its interval (START for the first note), its
  duration, or both in one id."""
  return tokens(rendition.interval_ids(), rendition.duration_ids(), stream)


def tokens(intervals, durations, stream='notes'):
  """One token per note from a melody's n - 1 interval ids and n duration ids."""
  intervals = [vocabulary.START] + [int(i) for i in intervals]
  durations = [int(d) for d in durations]
  if stream == 'intervals':
    return intervals
  if stream == 'durations':
    return durations
  if stream == 'notes':
    return [i * vocabulary.NUM_DURATIONS + d for i, d in zip(intervals, durations)]
  raise ValueError(f'stream {stream!r} is not one of {STREAMS}')


def longest_shared_runs(queries, corpus):
  """For each query sequence, the length of its longest run found in a corpus sequence.

  Exact (no hashing): every position's k-gram gets an id, and k + 1-grams are ranked from
  (k-gram id, next token) pairs, growing k until no query k-gram is in the corpus. Only
  positions that can still match are carried from one k to the next.
  """
  sequences = [np.asarray(s, np.int64) for s in list(corpus) + list(queries)]
  lengths = np.array([len(s) for s in sequences], np.int64)
  tokens = np.concatenate(sequences) if len(sequences) else np.zeros(0, np.int64)
  owner = np.repeat(np.arange(len(sequences)), lengths)
  ends = np.repeat(np.cumsum(lengths), lengths)  # one past each position's sequence
  from_corpus = owner < len(corpus)
  longest = np.zeros(len(queries), np.int64)
  base = int(tokens.max()) + 1 if len(tokens) else 1
  positions = np.arange(len(tokens))
  ids = tokens.copy()
  k = 1
  while len(positions):
    in_corpus = from_corpus[positions]
    matched = ~in_corpus & np.isin(ids, ids[in_corpus])
    if not matched.any():
      break
    longest[np.unique(owner[positions[matched]]) - len(corpus)] = k
    # A query k-gram not in the corpus, or a corpus k-gram no query has, cannot extend to
    # a longer match.
    useful = matched | (in_corpus & np.isin(ids, ids[matched]))
    keep = useful & (positions + k < ends[positions])
    positions, ids = positions[keep], ids[keep]
    _, ids = np.unique(ids * base + tokens[positions + k], return_inverse=True)
    k += 1
  return longest


def novelty(lengths, longest):
  """1 - longest shared run / length, per melody."""
  lengths = np.asarray(lengths, float)
  return 1.0 - np.asarray(longest, float) / np.maximum(lengths, 1.0)


def measure(renditions, training, stream='notes'):
  """{'longest': per-melody longest shared run, 'novelty': per-melody novelty, and their
  means} of renditions against training melodies, in one token stream.

  `training` holds token lists of that stream (tokens() of each training melody).
  """
  longest = longest_shared_runs([note_tokens(r, stream) for r in renditions], training)
  scores = novelty([len(r) for r in renditions], longest)
  return {'longest': longest.tolist(), 'novelty': scores.tolist(),
          'mean_longest': float(np.mean(longest)) if len(longest) else float('nan'),
          'median_longest': float(np.median(longest)) if len(longest) else float('nan'),
          'mean_novelty': float(np.mean(scores)) if len(scores) else float('nan')}
