"""Novelty: exact longest shared runs, and a copy has novelty 0."""

import numpy as np

from stylexfer.evaluation import novelty


def _brute_force(query, corpus):
  best = 0
  for melody in corpus:
    for i in range(len(query)):
      for j in range(len(melody)):
        k = 0
        while i + k < len(query) and j + k < len(melody) and query[i + k] == melody[j + k]:
          k += 1
        best = max(best, k)
  return best


def test_a_copied_melody_has_novelty_zero_and_a_new_one_is_near_one():
  rng = np.random.default_rng(0)
  corpus = [list(rng.integers(0, 30, 120)) for _ in range(10)]
  copied = corpus[4][20:84]
  new = [100 + i % 3 for i in range(64)]  # tokens the corpus never holds
  longest = novelty.longest_shared_runs([copied, new], corpus)
  assert list(longest) == [64, 0]
  assert list(novelty.novelty([64, 64], longest)) == [0.0, 1.0]


def test_longest_runs_equal_a_brute_force_search():
  rng = np.random.default_rng(1)
  corpus = [list(rng.integers(0, 6, int(rng.integers(5, 60)))) for _ in range(12)]
  queries = [list(rng.integers(0, 6, 25)) for _ in range(8)]
  queries.append(corpus[0][:7] + [9] + corpus[3][2:14])  # two stolen stretches
  expected = [_brute_force(q, corpus) for q in queries]
  assert list(novelty.longest_shared_runs(queries, corpus)) == expected
  assert expected[-1] == 12


def test_a_run_never_crosses_from_one_training_melody_into_the_next():
  corpus = [[1, 2, 3], [4, 5, 6]]
  assert list(novelty.longest_shared_runs([[2, 3, 4, 5]], corpus)) == [2]


def test_note_tokens_join_interval_and_duration():
  intervals, durations = [30, 31], [10, 10, 12]
  notes = novelty.tokens(intervals, durations, 'notes')
  assert len(notes) == 3 and len(set(notes)) == 3
  assert novelty.tokens(intervals, durations, 'intervals')[1:] == intervals
  assert novelty.tokens(intervals, durations, 'durations') == durations
