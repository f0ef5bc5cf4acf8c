"""Writes a melody as ABC notation (standard 2.1; music21 reads ABC but cannot write it).

The unit note length is L:1/8, or L:1/16 where the tune has values shorter than an
eighth: a power of two, as the standard asks, so abc2midi, abcm2ps and abcjs read it.
Triplets are tuplet groups, one per beat, `(3:2:n` followed by the n notes and rests of
the beat (stylexfer.writers.measures makes the groups); the notes of a beat are written
together, so they are beamed together. Notes tied over a bar line or a beat are written
`c2-|c2`; accidentals are written explicitly on every note whose letter was already
altered in the bar, so the tune reads the same whether a reader carries accidentals by
letter or by letter and octave. Rests are `z`, a whole bar's rest `Z`; repeat signs `|:`
and `:|`, endings `[1` and `[2`, double bars `||` and meter changes `[M:3/4]` come from
the tune's form. The header keeps the input's fields (T: C: R: O: N: ...), its tempo
(Q:), key, mode and clef (K:), and chord symbols are written in quotes before the note
they stand on.
"""

import fractions
import re

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.writers import beaming
from stylexfer.writers import measures
from stylexfer.writers import spelling
from stylexfer.writers import time_signatures

Fraction = fractions.Fraction

_BARS_PER_LINE = 4
# Four bars of 16ths with accidentals overfill a page's width, one bar alone can leave
# the line short: engravers are asked to break the lines themselves (an abcm2ps format
# directive; other readers pass over '%%' lines they do not know).
_LAYOUT = '%%continueall 1'
# A bar wider than this (notes and rests, an accidental counting one more) can be wider
# than abcm2ps's line at its own scale (0.75; it cannot break a bar across lines): such a
# tune is engraved smaller, in step.
_WIDEST_BAR = 18
# ... but no smaller than this: at 0.5 a line of a long solo holds more than abcm2ps's
# output buffer ("Possible buffer overflow").
_SMALLEST_SCALE = 0.55
# abcm2ps keeps a page's engraving in a buffer of its own size (its -k option, which a
# file cannot set): a long solo's continuous lines overflow it ("Possible buffer
# overflow") unless a page is ended now and then. 48 bars of 16ths fit at the smallest
# scale; 96 overflowed.
_BARS_PER_PAGE = 48
_MOST_IN_GROUP = 9
_MODES = {'major': '', 'minor': 'm', 'dorian': 'dor', 'phrygian': 'phr', 'lydian': 'lyd',
          'mixolydian': 'mix', 'aeolian': 'aeo', 'ionian': 'ion', 'locrian': 'loc'}


def key_name(sharps, mode=None):
  """The key with `sharps` sharps (negative: flats) in ABC spelling, e.g. 'Bb', 'Ador'."""
  known = mode if mode in _MODES else None
  tonic = lead_sheet.Key(sharps, known).tonic
  return tonic.replace('-', 'b') + _MODES.get(known or 'major', '')


def note_name(spelled, alter, explicit):
  """ABC spelling of a music21 Pitch: accidental, letter, octave marks."""
  accidental = {1: '^', -1: '_', 0: '=', 2: '^^', -2: '__'}[alter] if explicit else ''
  octave = spelled.octave
  if octave >= 5:
    return accidental + spelled.step.lower() + "'" * (octave - 5)
  return accidental + spelled.step + ',' * (4 - octave)


def _length(written, unit):
  units = written / unit
  if units == 1:
    return ''
  if units.denominator == 1:
    return str(units.numerator)
  return f'{units.numerator if units.numerator != 1 else ""}/{units.denominator}'


def _text(value):
  """A header value on one line, without control characters."""
  return ' '.join(re.sub(r'[\x00-\x1f\x7f]', ' ', str(value)).split())


def _header(tune, number, unit, widest):
  lines = [f'X:{number}', f'T:{_text(tune.title) or "Melody"}']
  for name, value in tune.header:
    if name == 'subtitle':
      lines.append(f'T:{_text(value)}')
    elif name in lead_sheet.ABC_LETTERS:
      lines.append(f'{lead_sheet.ABC_LETTERS[name]}:{_text(value)}')
  lines += [f'M:{tune.time_signature}', f'L:1/{int(4 / unit)}']
  if tune.tempo:
    if time_signatures.compound_time(tune.time_signature):
      lines.append(f'Q:3/8={round(tune.tempo / 1.5)}')
    else:
      lines.append(f'Q:1/4={round(tune.tempo)}')
  lines.append(_LAYOUT)
  if widest > _WIDEST_BAR:
    lines.append(f'%%scale {max(_SMALLEST_SCALE, 0.75 * _WIDEST_BAR / widest):.2f}')
  lines.append(f'K:{key_name(tune.key.sharps, tune.key.mode)} clef={tune.clef}')
  return lines


def _bar_words(pieces, pitches, signature, unit, whole_bar):
  """One bar's notes and rests as ABC words: a beat's (or a tuplet's) notes in one word."""
  if whole_bar and not pieces[0].chords:
    return ['Z']
  beamed = {index: group[0] for group in beaming.beam_groups(pieces, signature)
            for index in group}
  words, tokens, left = [], [], 0
  for index, (piece, (spelled, explicit)) in enumerate(zip(pieces, pitches)):
    # A chord symbol stands before the tuplet group it opens, as before a note.
    token = ''.join(f'"{chord}"' for chord in piece.chords)
    if piece.tuplet in ('start', 'only'):
      left = next(k for k, later in enumerate(pieces[index:], 1)
                  if later.tuplet in ('stop', 'only'))
    if piece.tuplet and left and (piece.tuplet in ('start', 'only')
                                  or left % _MOST_IN_GROUP == 0):
      # abcjs reads one digit of a group's note count: a beat of more notes is written
      # as groups of at most nine, with the same ratio and so the same times.
      size = left % _MOST_IN_GROUP or _MOST_IN_GROUP
      token += f'(3:2:{size}'
    left -= 1 if piece.tuplet else 0
    if piece.pitch is None:
      token += 'z' + _length(piece.written, unit)
    else:
      alter = int(spelled.accidental.alter) if spelled.accidental is not None else 0
      token += note_name(spelled, alter, explicit) + _length(piece.written, unit)
      if piece.tie in ('start', 'continue'):
        token += '-'
    joined = index > 0 and beamed.get(index) is not None and beamed.get(index) == beamed.get(
        index - 1)
    in_tuplet = piece.tuplet in ('continue', 'stop')
    if tokens and (joined or in_tuplet):
      tokens.append(token)
    else:
      if tokens:
        words.append(''.join(tokens))
      tokens = [token]
  if tokens:
    words.append(''.join(tokens))
  return words


def to_abc(tune, number=1, bars=None):
  """ABC text of a notation.Layout (one tune: the header, then four bars a line);
  `bars` are measures.bars(tune) when the caller has them already."""
  all_bars = measures.bars(tune) if bars is None else bars
  meters = time_signatures.meter_changes(tune, len(all_bars))
  in_force = time_signatures.signatures(tune, len(all_bars))
  shortest = min((piece.written for pieces in all_bars for piece in pieces),
                 default=Fraction(1, 2))
  unit = Fraction(1, 2) if shortest >= Fraction(1, 2) else Fraction(1, 4)
  body, line = [], []
  pitches = spelling.written_pitches(all_bars, tune.key.sharps, by_letter=True)
  for index, pieces in enumerate(all_bars):
    whole_bar = measures.whole_bar_rest(pieces, tune.bar_length_at(index),
                                        melody_lib.signature_length(in_force[index]))
    words = _bar_words(pieces, pitches[index], in_force[index], unit, whole_bar)
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
    if mark.get('ending') and mark.get('ending') != tune.marks.get(index - 1, {}).get('ending'):
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
      if (index + 1) % _BARS_PER_PAGE == 0 and not last:
        body.append('%%newpage')
  widest = max((len(pieces) + sum(shown for _, shown in bar_pitches)
                for pieces, bar_pitches in zip(all_bars, pitches)), default=0)
  return '\n'.join(_header(tune, number, unit, widest) + body) + '\n'
