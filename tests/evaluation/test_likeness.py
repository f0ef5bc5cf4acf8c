"""Distances between rhythms, and what the model hears of a melody it restyles like."""

import fractions

import pytest

from stylexfer.evaluation import data
from stylexfer.evaluation import likeness

F = fractions.Fraction


def _rendition(durations, time_signature='4/4'):
  pitches = [60 + k % 5 for k in range(len(durations))]
  return data.rendition(data.melody_of_notes(pitches, durations, time_signature))


def test_distance_is_the_share_of_durations_that_would_have_to_change():
  eighths = _rendition([F(1, 2)] * 8)
  assert likeness.distance(eighths, _rendition([F(1, 2)] * 3)) == 0
  assert likeness.distance(eighths, _rendition([1] * 4)) == pytest.approx(1)
  # Half eighths, half quarters against eighths: half of the mass moves.
  mixed = _rendition([F(1, 2), 1] * 4)
  assert likeness.distance(eighths, mixed) == pytest.approx(0.5)
  assert likeness.distance(mixed, eighths) == likeness.distance(eighths, mixed)
  # A quarter-note triplet's third and dotted eighth-sixteenth pairs: nothing shared.
  assert likeness.distance(_rendition([F(2, 3)] * 6),
                           _rendition([F(3, 4), F(1, 4)] * 3)) == pytest.approx(1)


def test_the_model_hears_the_first_notes_of_the_target_melody():
  durations = [F(1, 3), F(1, 3), F(1, 3), F(3, 4), F(1, 4), 1, 2] * 40
  melody = data.melody_of_notes([62 + k % 7 for k in range(len(durations))], durations,
                                '3/4', 'target')
  heard = likeness.heard(melody)
  assert len(heard.pitches) == likeness.NOTES_HEARD == 200
  assert heard.pitches == melody.pitches[:200]
  assert heard.durations()[:199] == melody.durations()[:199]
  assert heard.time_signature == '3/4'
  short = likeness.heard(melody, notes=10)
  assert short.pitches == melody.pitches[:10] and short.durations()[:9] == durations[:9]
