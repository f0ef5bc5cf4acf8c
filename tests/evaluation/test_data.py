"""Records back to melodies with their bars, and the histograms measured on them."""

import fractions

import numpy as np
import pytest

import fixtures
from stylexfer.reading import abc_reader
from stylexfer.tokens import vocabulary
from stylexfer.reading import wjazzd
from stylexfer.evaluation import data
from stylexfer.evaluation import histograms
from stylexfer.evaluation import structure

F = fractions.Fraction


def _jig():
  number, title, text = abc_reader.split_abc(fixtures.ABC_TUNES)[0]
  return abc_reader.parse_abc_tune(text, 'fixture', number, title)


def test_a_record_reads_back_as_the_melody_it_was_made_of():
  original = _jig()
  melody = data.record_to_melody(fixtures.record_of(original))
  assert melody.pitches == fixtures.JIG_PITCHES
  assert [float(d) for d in melody.durations()] == fixtures.JIG_DURATIONS
  assert melody.onsets == original.onsets and melody.beats == original.beats
  assert melody.time_signature == '6/8' and melody.title == 'Pickup Jig'


def test_a_rendition_places_the_pickup_and_every_note_in_its_bar():
  rendition = data.rendition(data.record_to_melody(fixtures.record_of(_jig())))
  assert rendition.first_position == F(5, 2) and rendition.bar_lengths[0] == 3
  assert list(rendition.positions()) == [float(b) for b in _jig().beats]
  assert structure.notes_in_bars(rendition.durations, rendition.bars, rendition.bar_lengths,
                                 rendition.first_position) == 1.0


def test_jazz_bars_below_zero_skipped_and_of_three_beats_keep_their_onsets(tmp_path):
  solos, _ = wjazzd.read_wjazzd(fixtures.write_wjazzd_csv(str(tmp_path / 'solos.csv')))
  solo = solos[0]  # a 3/4 bar, a bar without notes, a leap folded in the tokens
  melody = data.record_to_melody(fixtures.record_of(solo, 'jazz'))
  assert melody.onsets == solo.onsets
  rendition = data.rendition(melody)
  assert rendition.bars == [0] * 6 + [1, 1, 3, 3]
  assert rendition.bar_lengths == [4, 3, 3, 4]  # the silent bar takes its neighbour's length
  assert rendition.durations == solo.durations()
  assert structure.notes_in_bars(rendition.durations, rendition.bars, rendition.bar_lengths,
                                 rendition.first_position) == 1.0


def test_token_ids_are_the_vocabularys():
  rng = np.random.default_rng(0)
  for _ in range(50):
    pitches = [int(p) for p in rng.integers(0, 128, 20)]
    durations = [F(int(a), int(b)) for a, b in zip(rng.integers(1, 300, 20),
                                                   rng.integers(1, 40, 20))]
    encoding = vocabulary.encode(pitches, durations)
    assert data.interval_ids(pitches) == encoding.intervals
    assert data.duration_ids(durations) == encoding.durations


def test_an_excerpt_and_a_new_rhythm_keep_the_bars():
  rendition = data.rendition(data.record_to_melody(fixtures.record_of(_jig())))
  part = rendition.excerpt(5)
  assert len(part) == 5 and part.bars == [0, 1, 1, 1, 1] and len(part.bar_lengths) == 2
  restyled = rendition.with_rhythm([F(1, 3)] * len(rendition))
  assert restyled.original == rendition.durations and restyled.bars == rendition.bars


def test_generated_notes_fall_in_bars_of_their_time_signature():
  melody = data.melody_of_notes([60, 62, 64, 65], [F(3, 2), F(3, 2), 3, 1], '6/8')
  assert melody.bars == [0, 0, 1, 2] and melody.beats == [0, F(3, 2), 0, 0]


def test_histograms_count_what_a_melody_is_made_of():
  melody = data.melody_of_notes([60, 62, 60, 67, 60], [1, 1, 1, 1, F(1, 2)], '4/4')
  rendition = data.rendition(melody)
  intervals = histograms.interval_histogram(rendition)
  assert intervals.sum() == pytest.approx(1)
  assert intervals[list(histograms.INTERVALS).index(2)] == 0.25
  assert intervals[list(histograms.INTERVALS).index(-7)] == 0.25
  durations = histograms.duration_histogram(rendition)
  assert durations[list(histograms.DURATIONS).index(1.0)] == 0.8
  positions = histograms.position_histogram(rendition)
  assert [i for i in np.flatnonzero(positions)] == [0, 12, 24, 36]
  assert positions[0] == 0.4  # the first note and the fifth, on the next downbeat
  transitions = histograms.duration_transitions(rendition)
  quarter, eighth = (list(histograms.DURATIONS).index(v) for v in (1.0, 0.5))
  assert transitions[quarter, quarter] == 0.75 and transitions[quarter, eighth] == 0.25


def test_pooled_histograms_count_every_event_once():
  short = data.rendition(data.melody_of_notes([60, 62], [1, 1]))
  long = data.rendition(data.melody_of_notes([60, 59, 58, 57, 56], [1] * 5))
  pooled = histograms.pooled([short, long], 'intervals')
  assert pooled[list(histograms.INTERVALS).index(2)] == 0.2
  assert pooled[list(histograms.INTERVALS).index(-1)] == 0.8
  assert histograms.overlap(pooled, pooled) == pytest.approx(1)
