"""The token vocabularies shared by every genre: pitch intervals and note durations.

A melody of n notes becomes its first MIDI pitch, n - 1 interval tokens (semitones from
the previous note) and n duration tokens (inter-onset intervals in quarter notes). Rests
are not tokens: a rest lengthens the inter-onset interval of the note before it, so the
rhythm (where the onsets fall) is kept exactly and the pitch stream stays free of gaps.
The last note, having no next onset, takes its own sounding duration.

Every genre shares these two vocabularies, so a model trained on one genre can read the
tokens of another; the same tables are stored inside every exported SavedModel.
"""

import fractions

import numpy as np

PAD, START, END = 0, 1, 2
NUM_SPECIAL = 3
SPECIAL_NAMES = ('<pad>', '<start>', '<end>')

# Intervals beyond two octaves are rare (folk spans -21..+22 semitones, jazz solos
# reach +-41 in a handful of leaps); they are folded by octaves into this range.
MIN_INTERVAL = -24
MAX_INTERVAL = 24


def _duration_grid():
  """Inter-onset intervals in quarter notes, finest where rhythms are densest.

  Up to one beat the grid is 1/24 of a quarter, which holds 16ths, 32nds, and 8th and
  16th triplets exactly; longer values need less resolution.
  """
  frac = fractions.Fraction
  grid = [frac(k, 24) for k in range(1, 25)]       # up to 1 quarter
  grid += [frac(k, 12) for k in range(13, 25)]     # up to 2 quarters
  grid += [frac(k, 6) for k in range(13, 25)]      # up to 4 quarters
  grid += [frac(k, 2) for k in range(9, 17)]       # up to 8 quarters (two 4/4 bars)
  return tuple(grid)


DURATION_GRID = _duration_grid()
MIN_DURATION = DURATION_GRID[0]
MAX_DURATION = DURATION_GRID[-1]

NUM_INTERVALS = NUM_SPECIAL + MAX_INTERVAL - MIN_INTERVAL + 1
NUM_DURATIONS = NUM_SPECIAL + len(DURATION_GRID)

_GRID_FLOATS = np.array([float(d) for d in DURATION_GRID])
# The grid in 24ths of a quarter note is whole numbers, so distances to it are exact for
# binary fractions and a value halfway between two grid values is a true tie.
_GRID_24THS = np.array([int(d * 24) for d in DURATION_GRID])


class TokenError(ValueError):
  """A token id or value that has no place in the vocabulary."""


def fold_interval(semitones):
  """Folds an interval by octaves into [MIN_INTERVAL, MAX_INTERVAL]; returns it unchanged inside."""
  semitones = int(semitones)
  while semitones > MAX_INTERVAL:
    semitones -= 12
  while semitones < MIN_INTERVAL:
    semitones += 12
  return semitones


def interval_id(semitones):
  """Token id of an interval in semitones; raises TokenError outside the range (fold first)."""
  if not MIN_INTERVAL <= semitones <= MAX_INTERVAL or semitones != int(semitones):
    raise TokenError(
        f'interval {semitones} is outside [{MIN_INTERVAL}, {MAX_INTERVAL}] semitones')
  return NUM_SPECIAL + int(semitones) - MIN_INTERVAL


def interval_value(token):
  """Interval in semitones of a token id; raises TokenError for special or unknown ids."""
  if not NUM_SPECIAL <= token < NUM_INTERVALS:
    raise TokenError(f'interval token {token} is not an interval (ids {NUM_SPECIAL}..'
                     f'{NUM_INTERVALS - 1})')
  return int(token) - NUM_SPECIAL + MIN_INTERVAL


def snap_duration(quarters):
  """The grid value nearest to a duration in quarter notes (ties go to the shorter value)."""
  if quarters <= 0:
    raise TokenError(f'duration {quarters} is not positive')
  index = int(np.argmin(np.abs(_GRID_24THS - float(quarters * 24))))
  return DURATION_GRID[index]


def duration_id(quarters):
  """Token id of a duration that lies on the grid; raises TokenError otherwise (snap first)."""
  try:
    return NUM_SPECIAL + DURATION_GRID.index(fractions.Fraction(quarters))
  except (ValueError, TypeError):
    raise TokenError(f'duration {quarters} quarter notes is not on the duration grid') from None


def duration_value(token):
  """Duration in quarter notes (a Fraction) of a token id; raises TokenError for others."""
  if not NUM_SPECIAL <= token < NUM_DURATIONS:
    raise TokenError(f'duration token {token} is not a duration (ids {NUM_SPECIAL}..'
                     f'{NUM_DURATIONS - 1})')
  return DURATION_GRID[int(token) - NUM_SPECIAL]


def interval_table():
  """Semitones for every interval id (0 for the special tokens), for use inside graphs."""
  table = np.zeros([NUM_INTERVALS], np.int32)
  table[NUM_SPECIAL:] = np.arange(MIN_INTERVAL, MAX_INTERVAL + 1)
  return table


def duration_table():
  """Quarter notes for every duration id (0 for the special tokens), for use inside graphs."""
  table = np.zeros([NUM_DURATIONS], np.float32)
  table[NUM_SPECIAL:] = _GRID_FLOATS
  return table


class Encoding:
  """The tokens of one melody, with what had to be changed to make them."""

  def __init__(self, first_pitch, intervals, durations, folded, snapped):
    self.first_pitch = first_pitch
    self.intervals = intervals  # n - 1 interval ids
    self.durations = durations  # n duration ids
    self.folded = folded        # intervals folded by octaves
    self.snapped = snapped      # durations moved to the nearest grid value


def encode(pitches, durations):
  """Tokens for MIDI pitches and inter-onset durations (quarter notes), one each per note."""
  if len(pitches) != len(durations):
    raise TokenError(f'{len(pitches)} pitches but {len(durations)} durations')
  if not pitches:
    raise TokenError('a melody needs at least one note')
  intervals, folded = [], 0
  for previous, pitch in zip(pitches, pitches[1:]):
    semitones = int(pitch) - int(previous)
    kept = fold_interval(semitones)
    folded += kept != semitones
    intervals.append(interval_id(kept))
  tokens, snapped = [], 0
  for quarters in durations:
    grid_value = snap_duration(quarters)
    snapped += abs(float(grid_value) - float(quarters)) > 1e-6
    tokens.append(duration_id(grid_value))
  return Encoding(int(pitches[0]), intervals, tokens, folded, snapped)


def decode(first_pitch, intervals, durations):
  """MIDI pitches and durations (Fractions of a quarter note) for a melody's tokens."""
  if len(intervals) + 1 != len(durations):
    raise TokenError(f'{len(intervals)} intervals need {len(intervals) + 1} durations, '
                     f'got {len(durations)}')
  pitches = [int(first_pitch)]
  for token in intervals:
    pitches.append(pitches[-1] + interval_value(token))
  return pitches, [duration_value(token) for token in durations]
