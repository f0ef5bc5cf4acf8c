"""Beams: which written notes of a bar are beamed together."""

import bisect
import fractions
import math

from stylexfer.writers import time_signatures

Fraction = fractions.Fraction


def beam_groups(pieces, time_signature):
  """Runs of piece indices beamed together: notes shorter than a quarter in one beat (a
  dotted quarter in compound time), a tuplet group with the beat it lies in, or alone
  where it crosses beats; a rest ends a run. An additive meter (2+3+2/8) beams by its
  groups."""
  beat = (Fraction(3, 2) if time_signatures.compound_time(time_signature)
          else time_signatures.tuplet_unit(time_signature))
  starts = time_signatures.groups(time_signature)
  beat_of = ((lambda place: bisect.bisect_right(starts, place) - 1) if starts
             else (lambda place: math.floor(place / beat)))
  groups, run, run_key, tuplet, group_key = [], [], None, 0, None
  for index, piece in enumerate(pieces):
    key = ('beat', beat_of(piece.place))
    if piece.tuplet in ('start', 'only'):
      tuplet += 1
      last = piece.place + piece.tuplet_span - Fraction(1, 96)
      group_key = key if beat_of(last) == key[1] else ('tuplet', tuplet)
    if piece.tuplet:
      key = group_key
    beamed = piece.pitch is not None and piece.written < 1
    if beamed and key == run_key:
      run.append(index)
      continue
    if len(run) > 1:
      groups.append(run)
    run, run_key = ([index], key) if beamed else ([], None)
  if len(run) > 1:
    groups.append(run)
  return groups
