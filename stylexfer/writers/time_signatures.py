"""Time signatures as written: the beat a meter counts, and the meter in force at each bar
where a tune's bars change length.
"""

import fractions

from stylexfer.reading import melody as melody_lib
from stylexfer.writers import note_values

Fraction = fractions.Fraction


def tuplet_unit(time_signature):
  """What one tuplet bracket spans: a quarter-note beat (a 16th in x/16 meters).

  Beats are quarter notes wherever the sampler places onsets (stylexfer.tokens.beats),
  in 6/8 too, so a triplet is three in the time of two eighths there as well.
  """
  denominator = int(time_signature.split('/')[1]) if '/' in time_signature else 4
  return Fraction(1, 4) if denominator >= 16 else Fraction(1)


def compound_time(time_signature):
  """Whether a meter counts dotted-quarter beats (6/8, 9/8, 12/8)."""
  numerator, _, denominator = time_signature.partition('/')
  return denominator == '8' and numerator.isdigit() and int(numerator) % 3 == 0 and int(
      numerator) > 3


def groups(time_signature):
  """The starts of an additive meter's groups in quarters (2+3+2/8: 0, 1, 5/2), or None
  for a meter of equal beats."""
  numerator, _, denominator = time_signature.partition('/')
  if '+' not in numerator:
    return None
  starts, place = [], Fraction(0)
  for beats in numerator.split('+'):
    starts.append(place)
    place += Fraction(4 * int(beats), int(denominator))
  return starts


def meter_changes(tune, count):
  """{bar index: time signature} where the meter changes.

  Where the input says (tune.meters), its meters. Elsewhere by the bars' lengths: a single
  bar shorter than the meter (a pickup's complement before a repeat, the last bar) stays
  an incomplete bar of the meter around it; a bar longer than the meter, or a run of two
  shorter ones, is a new meter.
  """
  changes, current, signature = {}, tune.bar_length, tune.time_signature
  for index in range(1, count):
    length = tune.bar_length_at(index)
    following = tune.bar_length_at(index + 1) if index + 1 < count else None
    stated = tune.meters.get(index)
    if stated and stated != signature and melody_lib.signature_length(stated) >= length:
      changes[index] = signature = stated
      current = melody_lib.signature_length(stated)
    elif note_values.is_plain(length) and (
        length > current or (length < current and following == length)):
      # (A bar no meter writes, an input's miscounted triplet, stays an odd bar.)
      changes[index] = signature = signature_of(length, tune.time_signature)
      current = length
  return changes


def signatures(tune, count):
  """The time signature in force at each of `count` bars."""
  changes = meter_changes(tune, count)
  in_force, current = [], tune.time_signature
  for index in range(count):
    current = changes.get(index, current)
    in_force.append(current)
  return in_force


def meters(tune, count):
  """The bar length of the meter in force at each of `count` bars."""
  return [melody_lib.signature_length(signature) for signature in signatures(tune, count)]


def signature_of(length, like='4/4'):
  """A time signature string for a bar of `length` quarters, in the denominator of `like`."""
  denominator = int(like.split('/')[1]) if '/' in like else 4
  for unit in (denominator, 4, 8, 16):
    beats = length * unit / 4
    if beats.denominator == 1:
      return f'{beats.numerator}/{unit}'
  return f'{int(length * 16)}/64'
