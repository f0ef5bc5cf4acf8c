"""Note values a score can show: a duration cut into plain, dotted and triplet values,
at the beats it crosses, and rests on their own values.
"""

import fractions
import math

from stylexfer.reading import melody as melody_lib

Fraction = fractions.Fraction


# Single note values a score can show: 2^k quarters plain, dotted or double dotted, and
# triplet values (2/3 of a plain one); each family is filled greedily on its own.
_PLAIN = sorted({shape * Fraction(2) ** k for shape in (Fraction(7, 4), Fraction(3, 2), 1)
                 for k in range(-6, 4)}, reverse=True)
_TRIPLET = sorted({Fraction(2, 3) * Fraction(2) ** k for k in range(-6, 4)}, reverse=True)
NOTATABLE = sorted(set(_PLAIN) | set(_TRIPLET), reverse=True)


def notatable_pieces(quarters):
  """A duration split into values a score can show (plain, dotted or triplet), longest first.

  A duration in triplet time is written with triplet values (5/6 = 2/3 + 1/6); one that
  is neither gets a plain part and a triplet part, never a run of the tiniest values.
  """
  quarters = melody_lib.fraction(quarters)
  if quarters <= 0:
    return []
  plain = _largest_plain_part(quarters)
  pieces = []
  for part, values in ((plain, _PLAIN), (quarters - plain, _TRIPLET)):
    while part > 0:
      piece = next((v for v in values if v <= part), None)
      if piece is None:  # finer than a 64th: keep the rest as one piece
        pieces.append(part)
        break
      pieces.append(piece)
      part -= piece
  return sorted(pieces, reverse=True)


def beat_pieces(place, quarters):
  """`quarters` from `place` quarter notes after a bar line, in the pieces a score writes.

  A duration is cut at the beats it crosses, so that the beat stays visible: a note from
  a 16th's place into a beat of triplets is a 16th tied to a triplet eighth, not a triplet
  quarter tied to ever smaller triplets. One notatable value stays whole where a score
  writes it across the beat: from a beat, between eighth places (the off-beat quarter of
  a syncopation), or in its own tuplet (a quarter-note triplet's middle note).
  """
  place, quarters = melody_lib.fraction(place), melody_lib.fraction(quarters)
  end = place + quarters
  beats = {Fraction(math.ceil(place)), Fraction(math.floor(end))}  # the whole beats between
  cuts = sorted(b for b in beats if place < b < end)
  whole = quarters in NOTATABLE and (
      not cuts or place.denominator == 1 or (place * 2).denominator == (end * 2).denominator == 1
      or (quarters in _TRIPLET and (place / quarters).denominator == 1))
  if whole:
    return [quarters]
  cuts = [place] + cuts + [end]
  return [piece for start, stop in zip(cuts, cuts[1:])
          for piece in notatable_pieces(stop - start)]


def _largest_plain_part(quarters):
  """The largest multiple of a plain value <= quarters whose remainder is pure triplets."""
  if is_plain(quarters):
    return quarters
  if is_plain(quarters * Fraction(3, 2)):
    return Fraction(0)
  for step in (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)):
    plain = step * math.floor(quarters / step)
    while plain > 0:
      if is_plain((quarters - plain) * Fraction(3, 2)):
        return plain
      plain -= step
  return quarters


def is_plain(value):
  """Whether a value is written without a tuplet: its denominator is a power of two."""
  denominator = melody_lib.fraction(value).denominator
  return denominator & (denominator - 1) == 0


# Values written under a tuplet bracket: plain and dotted ones.
_IN_TUPLET = sorted({shape * Fraction(2) ** k for shape in (Fraction(3, 2), 1)
                     for k in range(-6, 3)}, reverse=True)


def tuplet_values(written):
  """A length as written under a tuplet bracket, in plain and dotted values."""
  values = []
  while written > 0:
    value = next((v for v in _IN_TUPLET if v <= written), written)
    values.append(value)
    written -= value
  return values


def rest_pieces(place, quarters, bar_length=None, compound=False):
  """A rest from `place` quarter notes after its bar line, in the rests a score writes.

  A whole bar's rest is one rest; otherwise each rest lies on a multiple of its own
  value from the bar line (a half rest on the bar's first or third beat, a 16th rest on
  a 16th), the longest that fits first; dotted quarter rests only in compound time.
  """
  place, quarters = melody_lib.fraction(place), melody_lib.fraction(quarters)
  if place == 0 and quarters == bar_length:
    return [quarters]
  values = [Fraction(2) ** k for k in range(2, -7, -1)]
  if compound:
    values = sorted(values + [Fraction(3, 2)], reverse=True)
  pieces, end = [], place + quarters
  while place < end:
    value = next((v for v in values if v <= end - place and (place / v).denominator == 1),
                 end - place)
    pieces.append(value)
    place += value
  return pieces
