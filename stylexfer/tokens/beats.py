"""Where in a beat a score writes an onset: the places a lead sheet uses.

A place is an onset's distance after its beat, in 24ths of a quarter note (the duration
grid's finest step), beats being quarter notes counted from the bar line. A score writes
onsets on 16ths and 32nds (duple places) or on 8th- and 16th-note triplets (triple places);
the beat and its half are both. The 24ths in between (5/24, 7/24, 11/24 of a quarter and
so on) engrave as fragments of 32nd- and 64th-note triplets that no player would write,
and so does a beat that mixes a duple-only place with a triple-only one (a 16th, then a
triplet eighth in the same beat). Held-out folk and jazz put 99.5% and 96.1% of their
notes in beats a score writes; most of the rest of jazz are quintuplets and other tuplets
off the 24th grid (BUILD_NOTES.md, "Onsets a score writes").

Kinds are bits, so that a beat's kind is the OR of its onsets' kinds: BOTH (0) fits either
kind of beat, DUPLE | TRIPLE is a beat no score writes, and UNWRITTEN is that already.
"""

import numpy as np

STEPS_PER_BEAT = 24
BOTH, DUPLE, TRIPLE = 0, 1, 2
UNWRITTEN = DUPLE | TRIPLE
# Quarter notes: onsets summed in float32 drift this far from their place, far less
# than the 1/24 between places.
TOLERANCE = 1e-4


def _kinds():
  kinds = np.full(STEPS_PER_BEAT, UNWRITTEN, np.int32)
  kinds[3::3] = DUPLE          # 32nds and 16ths
  kinds[4::4] = TRIPLE         # 16th- and 8th-note triplets
  kinds[0::12] = BOTH          # the beat and its half belong to both
  return kinds


# KINDS[step] is the kind of an onset `step` 24ths after its beat.
KINDS = _kinds()


def place_kinds(places):
  """Kinds (numpy int32) of onsets `places` quarter notes after their bar lines.

  An onset off the 24th grid (a quintuplet, say) is UNWRITTEN: the places above are the
  only ones the duration grid can reach.
  """
  steps = np.asarray(places, float) * STEPS_PER_BEAT
  rounded = np.round(steps)
  kinds = KINDS[np.mod(rounded, STEPS_PER_BEAT).astype(int)]
  return np.where(np.abs(steps - rounded) < TOLERANCE * STEPS_PER_BEAT, kinds, UNWRITTEN)


def written(places, bars):
  """Per onset [N], whether a score writes the beat it falls in: every onset of that beat
  on a written place, and no duple-only place beside a triple-only one.

  `places` are the onsets' distances from their own bar lines and `bars` their bars, in
  order; a beat is the onsets of one bar with the same whole number of quarters from its
  bar line.
  """
  places = np.asarray(places, float)
  bars = np.asarray(bars)
  if not len(places):
    return np.zeros(0, bool)
  kinds = place_kinds(places)
  beats = np.floor(places + TOLERANCE)
  # The onsets of one beat are consecutive: a new beat wherever the beat or the bar changes.
  new_beat = np.concatenate([[True], (beats[1:] != beats[:-1]) | (bars[1:] != bars[:-1])])
  group = np.cumsum(new_beat) - 1
  beat_kinds = np.zeros(group[-1] + 1, np.int32)
  np.bitwise_or.at(beat_kinds, group, kinds)
  return beat_kinds[group] != UNWRITTEN
