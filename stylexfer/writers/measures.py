"""A laid-out tune cut into written bars: each bar a list of Pieces, the notes and rests a
score writes, tied over bar lines and grouped under 3:2 tuplet brackets.
"""

import bisect
import dataclasses
import fractions
import math

from stylexfer.writers import notation
from stylexfer.writers import note_values
from stylexfer.writers import time_signatures

Fraction = fractions.Fraction


@dataclasses.dataclass
class Piece:
  """One written note or rest: part of a melody note, inside one bar."""
  pitch: int        # None for a rest
  quarters: Fraction  # how long it lasts
  bar: int          # 0-based bar index (bar 0 is the pickup bar when there is one)
  tie: str = ''     # '', 'start', 'continue' or 'stop'
  place: Fraction = Fraction(0)  # where it starts, quarter notes after its bar line
  written: Fraction = None  # its value as written: `quarters`, or 3/2 of it in a triplet
  tuplet: str = ''  # in a 3:2 group: 'start', 'continue', 'stop' or 'only'; '' outside one
  tuplet_span: Fraction = None  # the group's length in quarter notes: a beat, or two
  chords: tuple = ()  # chord symbols written at its start
  spelling: str = None  # its pitch as written ('G#4'); None: spelled from the key
  note: int = None  # which melody note it is part of (None for a rest)

  def __post_init__(self):
    if self.written is None:
      self.written = self.quarters


def section_ends(marks, count):
  """Bars whose right bar line closes a section: a repeat sign, a double or final bar,
  or an ending's start or end after it. A note is never tied over such a line."""
  ends = set()
  for index in range(count - 1):
    here, after = marks.get(index, {}), marks.get(index + 1, {})
    if here.get('right') or after.get('left') or after.get('ending') != here.get('ending'):
      ends.add(index)
  return ends


def bars(tune):
  """The tune as written: a list of bars, each a list of Pieces (notes and rests).

  A note sounds up to its next onset or for its sounding length, and never over a bar
  line that closes a section (a repeat sign, an ending): a rest fills the rest of its
  duration. Notes and rests are cut at bar lines into values a score writes; a beat
  with an onset or an end in triplet time is one 3:2 group under one bracket (two beats
  for quarter-note triplets written as such), every value in it as written under the
  bracket; rests in a group are at most a third of the beat, rests elsewhere lie on
  their own values. Chord symbols sit on the piece that starts where they stand (a
  piece is cut there where the place fits its beat).
  """
  starts = tune.bar_starts(tune.pickup + tune.quarters)
  count = len(starts) - 1
  lines = [starts[index + 1] for index in sorted(section_ends(tune.marks, count))]
  segments = [[] for _ in range(count)]  # per bar: (pitch, begin, end, note), in the bar
  position = tune.pickup
  for index, (pitch, quarters, sounding) in enumerate(
      zip(tune.pitches, tune.durations, tune.sounding)):
    stop = position + sounding
    following = bisect.bisect_right(lines, position)
    if following < len(lines):
      stop = min(stop, lines[following])
    for value, begin, end, note_index in ((pitch, position, stop, index),
                                          (None, stop, position + quarters, None)):
      while begin < end:
        bar = notation.bar_index(starts, begin)
        cut = min(end, starts[bar + 1])
        segments[bar].append((value, begin - starts[bar], cut - starts[bar], note_index))
        begin = cut
    position += quarters
  unit = time_signatures.tuplet_unit(tune.time_signature)
  # A first onset or a last end in triplet time: the bracket's beat is written whole,
  # a rest before the pickup or after the last note.
  if segments and segments[0] and not note_values.is_plain(segments[0][0][1]):
    segments[0].insert(0, (None, unit * math.floor(segments[0][0][1] / unit),
                           segments[0][0][1], None))
  last = next((bar for bar in reversed(range(count)) if segments[bar]), None)
  if last is not None and not note_values.is_plain(segments[last][-1][2]):
    end = segments[last][-1][2]
    segments[last].append((None, end, min(unit * math.ceil(end / unit),
                                          starts[last + 1] - starts[last]), None))
  chords = [[] for _ in range(count)]
  for at, text in tune.chords:
    bar = notation.bar_index(starts, at)
    if 0 <= bar < count:
      chords[bar].append((at - starts[bar], text))
  compound = time_signatures.compound_time(tune.time_signature)
  written = [_bar_pieces(segments[bar], starts[bar + 1] - starts[bar], unit, compound,
                         chords[bar], bar) for bar in range(count)]
  _tie(written, tune.spellings)
  while written and not written[-1]:
    written.pop()
  return written


def _triplet_groups(segments, length, unit):
  """The (begin, end) of the bar's 3:2 groups: beats with a start or end off the 32nds.

  Two such beats are one group of quarter-note triplets where a value crosses the beat
  between them and every start and end inside lies on a third of the two beats.
  """
  bounds = {value for segment in segments for value in segment[1:3]}
  edges = [min(k * unit, length) for k in range(math.ceil(length / unit) + 1)]
  # A bar whose length is off the 32nds (an input's miscounted triplet) ends its last
  # beat in triplet time too.
  triple = [any(a < b < c and not note_values.is_plain(b) for b in bounds)
            or not note_values.is_plain(c) for a, c in zip(edges, edges[1:])]
  groups, k = [], 0
  while k < len(triple):
    if not triple[k]:
      k += 1
      continue
    if (k + 1 < len(triple) and triple[k + 1] and edges[k + 2] - edges[k] == 2 * unit
        and edges[k + 1] not in bounds
        and all(((b - edges[k]) / (2 * unit / 3)).denominator == 1
                for b in bounds if edges[k] < b < edges[k + 2])):
      groups.append((edges[k], edges[k + 2]))
      k += 2
    else:
      groups += _halves(edges[k], edges[k + 1], bounds)
      k += 1
  return groups


def _halves(begin, end, bounds):
  """A beat's 3:2 groups: the beat, or the half of it that holds the triplets (16th-note
  triplets in an eighth's time, beside a plain eighth) where nothing crosses its middle."""
  middle = (begin + end) / 2
  if middle not in bounds:
    return [(begin, end)]
  halves = [(begin, middle), (middle, end)]
  return [(a, b) for a, b in halves
          if any(a < x < b and not note_values.is_plain(x) for x in bounds)]


def _bar_pieces(segments, length, unit, compound, chords, bar):
  """One bar's segments (pitch, begin, end, note) as written Pieces (see `bars`)."""
  groups = _triplet_groups(segments, length, unit)
  inside = lambda place: next((g for g in groups if g[0] < place < g[1]), None)
  cuts = {edge for group in groups for edge in group}
  for place, _ in chords:
    group = inside(place)
    # A chord's place cuts a note only where the cut fits the beat's kind.
    if (note_values.is_plain(place) if group is None
        else ((place - group[0]) / ((group[1] - group[0]) / 6)).denominator == 1):
      cuts.add(place)
  pieces = []
  for pitch, begin, end, note_index in segments:
    marks = sorted(c for c in cuts if begin < c < end)
    for start, stop in zip([begin] + marks, marks + [end]):
      group = next((g for g in groups if g[0] <= start and stop <= g[1]), None)
      if group is None:
        values = (note_values.beat_pieces(start, stop - start) if pitch is not None
                  else note_values.rest_pieces(start, stop - start, length, compound))
        for value in values:
          pieces.append(Piece(pitch, value, bar, place=start, note=note_index))
          start += value
        continue
      third = (group[1] - group[0]) / 3
      spans = [(start, stop)]
      if pitch is None:  # rests of at most a third of the group, each on its third
        thirds = [group[0] + k * third for k in range(1, 3) if start < group[0] + k * third < stop]
        spans = list(zip([start] + thirds, thirds + [stop]))
      for a, b in spans:
        for value in note_values.tuplet_values((b - a) * Fraction(3, 2)):
          pieces.append(Piece(pitch, value * Fraction(2, 3), bar, place=a, written=value,
                              tuplet_span=group[1] - group[0], note=note_index))
          a += value * Fraction(2, 3)
  for group in groups:
    members = [piece for piece in pieces if group[0] <= piece.place < group[1]]
    for k, piece in enumerate(members):
      piece.tuplet = ('only' if len(members) == 1 else 'start' if k == 0
                      else 'stop' if k == len(members) - 1 else 'continue')
  for place, text in chords:
    holder = next((piece for piece in reversed(pieces) if piece.place <= place),
                  pieces[0] if pieces else None)
    if holder is not None:
      holder.chords += (text,)
  return pieces


def whole_bar_rest(pieces, bar_length, meter_length):
  """Whether a bar is one rest as long as its meter's bar: a whole-bar rest."""
  return (len(pieces) == 1 and pieces[0].pitch is None
          and pieces[0].quarters == bar_length == meter_length)


def _tie(written, spellings):
  """Ties the pieces of each note's sound together and gives them its spelling."""
  chains = {}
  for pieces in written:
    for piece in pieces:
      if piece.note is not None:
        chains.setdefault(piece.note, []).append(piece)
        piece.spelling = spellings[piece.note] if spellings else None
  for chain in chains.values():
    if len(chain) > 1:
      for k, piece in enumerate(chain):
        piece.tie = 'start' if k == 0 else 'stop' if k == len(chain) - 1 else 'continue'
