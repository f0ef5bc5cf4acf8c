"""Structure metrics on hand-made bars whose answers can be counted on one's fingers."""

import fractions
import math

import pytest

from stylexfer.evaluation import structure

F = fractions.Fraction


def test_a_rhythm_that_keeps_the_bar_lines_has_every_note_in_its_bar():
  # Two 4/4 bars of quarters, the input rhythm itself.
  assert structure.notes_in_bars([1] * 8, [0, 0, 0, 0, 1, 1, 1, 1], [4, 4], 0) == 1.0


def test_a_note_pushed_over_the_bar_line_leaves_its_bar():
  # Bar 0 holds notes 0-3, bar 1 notes 4-5. Dotted quarters put note 3 at 4.5 (bar 1)
  # while note 4 (at 6) and note 5 (at 7.5) are still in bar 1.
  durations = [F(3, 2)] * 6
  bars = [0, 0, 0, 0, 1, 1]
  assert list(structure.in_bars(durations, bars, [4, 4], 0)) == [
      True, True, True, False, True, True]
  assert structure.notes_in_bars(durations, bars, [4, 4], 0) == pytest.approx(5 / 6)


def test_the_pickup_and_a_short_bar_are_placed_by_their_own_lengths():
  # A 6/8 pickup (bar 0 is whole: 3 quarters, the note at 2.5), a bar of 3, a bar cut
  # short to 1.5 before a repeat, then a full bar.
  bars, lengths = [0, 1, 1, 2, 3], [3, 3, F(3, 2), 3]
  assert structure.notes_in_bars([F(1, 2), 2, 1, F(3, 2), 1], bars, lengths, F(5, 2)) == 1.0
  # Bars start at 0, 3, 6 and 7.5; the onsets above are 2.5, 3, 5, 6, 7.5. With the
  # third note a half shorter, the fourth starts at 5.5, before its bar (the short one).
  early = [F(1, 2), 2, F(1, 2), 2, 1]
  assert list(structure.in_bars(early, bars, lengths, F(5, 2))) == [
      True, True, True, False, True]


def test_written_onsets_count_the_notes_in_beats_a_score_writes():
  # Bar 0: four 16ths, then triplets: all written. Bar 1: a 16th and a triplet eighth in
  # beat 0 (mixed: its three notes), then a note 5/24 after beat 1 (with the one on it).
  onsets = [0, F(1, 4), F(1, 2), F(3, 4), 1, F(4, 3), F(5, 3), 2,
            4, F(17, 4), F(14, 3), 5, 5 + F(5, 24)]
  durations = [b - a for a, b in zip(onsets, onsets[1:])] + [1]
  bars = [0] * 8 + [1] * 5
  assert structure.written_onsets(durations[:8], bars[:8], [4, 4], 0) == 1.0
  assert structure.written_onsets(durations, bars, [4, 4], 0) == pytest.approx(8 / 13)
  assert math.isnan(structure.written_onsets([], [], [4], 0))


def test_a_bar_end_is_exclusive_and_a_bar_start_inclusive():
  # The second note lands exactly on the next bar line: it is out of bar 0.
  assert list(structure.in_bars([4, 1], [0, 0], [4, 4], 0)) == [True, False]
  assert list(structure.in_bars([4, 1], [0, 1], [4, 4], 0)) == [True, True]


def test_repeated_bars_keep_one_rhythm_only_when_their_new_rhythm_repeats():
  pitches = [60, 62, 64, 65, 60, 62, 64, 65, 67, 69]
  durations = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2]
  bars = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
  assert structure.repeated_bars(pitches, durations, bars, [4, 4, 4], 0) == {1: 0}
  same = [F(1, 2), F(3, 2), 1, 1] * 2 + [2, 2]
  assert structure.repeated_bar_rhythms(pitches, durations, same, bars, [4, 4, 4], 0) == (
      1.0, 1)
  other = [F(1, 2), F(3, 2), 1, 1, F(3, 2), F(1, 2), 1, 1, 2, 2]
  assert structure.repeated_bar_rhythms(pitches, durations, other, bars, [4, 4, 4], 0) == (
      0.0, 1)


def test_a_bar_of_the_same_notes_shifted_in_the_bar_is_not_a_repeat():
  pitches = [60, 62, 60, 62]
  durations = [2, 2, 1, 3]  # bar 1 starts at 4: its notes sit at 0 and 1, not 0 and 2
  assert structure.repeated_bars(pitches, [2, 2, 2, 2], [0, 0, 1, 1], [4, 4], 0) == {1: 0}
  assert structure.repeated_bars(pitches, durations, [0, 0, 1, 1], [4, 4], 0) == {}
  share, count = structure.repeated_bar_rhythms(pitches, durations, durations, [0, 0, 1, 1],
                                                [4, 4], 0)
  assert math.isnan(share) and count == 0


def test_short_notes_count_in_runs_of_three_or_more():
  eighth, thirty_second = F(1, 2), F(1, 8)
  durations = ([thirty_second] * 4 + [eighth] + [thirty_second] * 2 + [eighth] +
               [thirty_second])
  # Seven notes shorter than a 16th; the run of four counts, the pair and the lone one not.
  assert structure.short_note_runs(durations) == (4 / 7, 7)
  # A 16th is not shorter than a 16th.
  share, count = structure.short_note_runs([F(1, 4)] * 5)
  assert math.isnan(share) and count == 0
  # A run at the very end counts too.
  assert structure.short_note_runs([eighth] + [F(1, 12)] * 3) == (1.0, 3)


def test_changed_durations_compare_on_the_grid():
  # A quintuplet (1/5) snaps to 5/24 on the grid, so writing 5/24 changes nothing.
  assert structure.changed_durations([F(1, 5), 1, 1, 1], [F(5, 24), 1, F(1, 2), 1]) == 0.25


def test_summaries_pool_by_notes_bars_and_short_notes():
  measures = [
      {'notes': 10, 'in_bars': 1.0, 'written': 1.0, 'changed': 0.0, 'repeated_bars': 2,
       'repeated_kept': 1.0, 'short_notes': 0, 'short_in_runs': float('nan')},
      {'notes': 30, 'in_bars': 0.5, 'written': 0.9, 'changed': 1.0, 'repeated_bars': 0,
       'repeated_kept': float('nan'), 'short_notes': 4, 'short_in_runs': 0.5}]
  summary = structure.summarize(measures)
  assert summary['in_bars'] == pytest.approx((10 + 15) / 40)
  assert summary['written'] == pytest.approx((10 + 27) / 40)
  assert summary['changed'] == pytest.approx(30 / 40)
  assert summary['repeated_kept'] == 1.0 and summary['repeated_bars'] == 2
  assert summary['short_in_runs'] == 0.5 and summary['short_notes'] == 4
