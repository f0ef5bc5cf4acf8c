"""Writes a melody as ABC notation (music21 reads ABC but cannot write it).

The unit note length is L:1/8 when every written value is a plain or dotted one; a tune
with triplet-time values gets the smallest unit that makes every length a whole number
(L:1/12 for eighth-note triplets, L:1/96 for the finest values of the duration grid),
which every ABC reader parses without tuplet groups that the rhythm may not fill.
Notes tied over a bar line are written `c2-|c2`; accidentals are written explicitly on
every note whose letter was already altered in the bar, so the tune reads the same
whether a reader carries accidentals through the bar or not. Rests are `z`; repeat signs
`|:` and `:|`, endings `[1` and `[2`, double bars `||` and meter changes `[M:3/4]` come
from the tune's form (stylexfer.writers.notation).
"""

import fractions
import math

from music21 import key

from stylexfer.writers import notation

Fraction = fractions.Fraction

_BARS_PER_LINE = 4


def key_name(sharps):
  """The major key with `sharps` sharps (negative: flats) in ABC spelling, e.g. 'Bb'."""
  tonic = key.KeySignature(sharps).asKey('major').tonic.name
  return tonic.replace('-', 'b')


def note_name(spelled, alter, explicit):
  """ABC spelling of a music21 Pitch: accidental, letter, octave marks."""
  accidental = {1: '^', -1: '_', 0: '=', 2: '^^', -2: '__'}[alter] if explicit else ''
  octave = spelled.octave
  if octave >= 5:
    return accidental + spelled.step.lower() + "'" * (octave - 5)
  return accidental + spelled.step + ',' * (4 - octave)


def _unit(pieces):
  """The denominator of the unit note length L:1/n (in whole notes)."""
  denominator = 1
  for piece in pieces:
    whole = piece.quarters / 4
    denominator = denominator * whole.denominator // math.gcd(denominator, whole.denominator)
  if denominator & (denominator - 1) == 0:
    return 8
  return denominator


def _length(quarters, unit):
  units = quarters / 4 * unit
  if units == 1:
    return ''
  if units.denominator == 1:
    return str(units.numerator)
  return f'{units.numerator if units.numerator != 1 else ""}/{units.denominator}'


def to_abc(tune, sharps=0, tempo=None, number=1):
  """ABC text of a notation.Layout (one tune, header X/T/M/L/Q/K)."""
  all_bars = notation.bars(tune)
  meters = notation.meter_changes(tune, len(all_bars))
  unit = _unit([piece for pieces in all_bars for piece in pieces])
  signature = key.KeySignature(sharps)
  key_alters = {p.step: int(p.accidental.alter) for p in signature.alteredPitches}
  title = ' '.join((tune.title or 'Melody').split())
  lines = [f'X:{number}', f'T:{title}', f'M:{tune.time_signature}', f'L:1/{unit}']
  if tempo:
    lines.append(f'Q:1/4={int(tempo)}')
  lines.append(f'K:{key_name(sharps)}')
  body, line = [], []
  head_explicit = False  # whether the first note of the current tie chain shows its accidental
  for index, pieces in enumerate(all_bars):
    altered_steps = set()
    words = []
    for piece in pieces:
      if piece.pitch is None:
        words.append('z' + _length(piece.quarters, unit))
        continue
      spelled = notation.spell(piece.pitch, sharps)
      alter = int(spelled.accidental.alter) if spelled.accidental is not None else 0
      if piece.tie in ('continue', 'stop'):
        # A tied note is spelled like the note it continues, so readers (music21's
        # stripTies among them) see one pitch, with or without an explicit natural.
        explicit = head_explicit
      else:
        explicit = spelled.step in altered_steps or alter != key_alters.get(spelled.step, 0)
        head_explicit = explicit
      if explicit:
        altered_steps.add(spelled.step)
      word = note_name(spelled, alter, explicit) + _length(piece.quarters, unit)
      if piece.tie in ('start', 'continue'):
        word += '-'
      words.append(word)
    mark = tune.marks.get(index, {})
    last = index == len(all_bars) - 1
    opening = ''
    if mark.get('left') == 'repeat':
      opening = '|: '
    elif mark.get('left') == 'double' and index and tune.marks.get(index - 1, {}).get(
        'right') not in ('double', 'repeat', 'final'):
      opening = '|| '
    if index in meters:
      opening += f'[M:{meters[index]}] '
    if mark.get('ending'):
      opening += f'[{mark["ending"]} '
    opens_repeat = tune.marks.get(index + 1, {}).get('left') == 'repeat' and not last
    if mark.get('right') == 'repeat':
      closing = ' :|'
    elif last or mark.get('right') == 'final':
      closing = ' |]'
    elif mark.get('right') == 'double':
      closing = ' ||'
    else:
      closing = ' ' if opens_repeat else ' |'  # the next bar's |: is the bar line
    line.append(opening + ' '.join(words) + closing)
    if len(line) == _BARS_PER_LINE or last:
      body.append(' '.join(line))
      line = []
  return '\n'.join(lines + body) + '\n'
