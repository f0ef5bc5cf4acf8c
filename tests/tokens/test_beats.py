"""Where a score writes onsets: places in the beat, and beats of one kind."""

import fractions

import numpy as np
import pytest

from stylexfer.tokens import beats

F = fractions.Fraction


@pytest.mark.parametrize('place,kind', [
    (0, beats.BOTH), (F(1, 2), beats.BOTH), (F(3), beats.BOTH),
    (F(1, 4), beats.DUPLE), (F(3, 4), beats.DUPLE), (F(1, 8), beats.DUPLE),
    (F(7, 8), beats.DUPLE),
    (F(1, 3), beats.TRIPLE), (F(2, 3), beats.TRIPLE), (F(1, 6), beats.TRIPLE),
    (F(2) + F(5, 6), beats.TRIPLE),
    (F(1, 24), beats.UNWRITTEN), (F(5, 24), beats.UNWRITTEN), (F(1, 12), beats.UNWRITTEN),
    (F(11, 24), beats.UNWRITTEN), (F(1, 5), beats.UNWRITTEN),  # a quintuplet
])
def test_the_kind_of_each_place(place, kind):
  assert beats.place_kinds([float(place)]).tolist() == [kind]


def test_beats_of_16ths_or_of_triplets_are_written():
  sixteenths = [0, 0.25, 0.5, 0.75, 1, 1.125, 1.25, 1.375, 1.5]
  triplets = [0, 1 / 3, 2 / 3, 1, 1 + 1 / 6, 1 + 1 / 3, 1.5, 1 + 5 / 6]
  assert beats.written(sixteenths, [0] * 9).all()
  assert beats.written(triplets, [0] * 8).all()


def test_a_beat_that_mixes_16ths_and_triplets_is_not_written():
  # Beat 1 holds a 16th's place (1.25) and a triplet's (1 + 2/3); beats 0 and 2 are fine.
  places = [0, 0.5, 1, 1.25, 1 + 2 / 3, 2, 2 + 1 / 3]
  assert beats.written(places, [0] * 7).tolist() == [
      True, True, False, False, False, True, True]


def test_a_place_no_score_writes_takes_its_beat_with_it():
  places = [0, 5 / 24, 0.5, 1]
  assert beats.written(places, [0] * 4).tolist() == [False, False, False, True]


def test_beats_of_different_bars_are_apart():
  # The same beat number in two bars: a 16th in one, a triplet in the other.
  assert beats.written([0.25, 1 / 3], [0, 1]).all()
  assert not beats.written([0.25, 1 / 3], [0, 0]).any()
  assert beats.written(np.zeros(0), np.zeros(0)).tolist() == []
