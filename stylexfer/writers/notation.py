"""A melody ready to write: its bars, ties, rests and repeats, and how it is played.

`layout(melody, swing)` lays a reading.melody.Melody out for the writers as a `Layout`:
MIDI pitches, inter-onset durations in quarter notes on a grid a score can show, how long
each note sounds (a rest fills the rest of its duration), the bars (a time signature, or
each bar's own length for mixed meters and bars cut short before a repeat), the first
note's offset in its bar (a pickup), the form's bar lines (repeat signs, endings, double
bars) and a swing ratio for playing. Every writer (MusicXML and the engraved score in
stylexfer.writers.render, ABC in stylexfer.writers.abc_writer, MIDI in
stylexfer.writers.midi_writer, audio in stylexfer.writers.audio) reads the bars and the
performance from here, so they always agree: a note that crosses a bar line is split into notes tied
over it, and every piece is a value a score can show (plain, dotted or triplet).
"""

import bisect
import dataclasses
import fractions
import math

from music21 import key as m21_key
from music21 import pitch as m21_pitch

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib

Fraction = fractions.Fraction

# Single note values a score can show: 2^k quarters plain, dotted or double dotted, and
# triplet values (2/3 of a plain one); each family is filled greedily on its own.
_PLAIN = sorted({shape * Fraction(2) ** k for shape in (Fraction(7, 4), Fraction(3, 2), 1)
                 for k in range(-6, 4)}, reverse=True)
_TRIPLET = sorted({Fraction(2, 3) * Fraction(2) ** k for k in range(-6, 4)}, reverse=True)
NOTATABLE = sorted(set(_PLAIN) | set(_TRIPLET), reverse=True)


@dataclasses.dataclass
class Layout:
  """A melody laid into bars for the writers; every per-note list has one entry per note."""
  pitches: list          # MIDI pitch numbers
  durations: list        # inter-onset durations, quarter notes (Fractions)
  time_signature: str = '4/4'
  pickup: Fraction = Fraction(0)  # the first note's offset in its bar, in quarter notes
  title: str = ''
  sounding: list = None     # how long each note sounds (<= its duration); None: legato
  bar_lengths: list = None  # each bar's length in quarter notes; None: the time signature's
  marks: dict = None        # bar index -> {'left', 'right', 'ending'} (see melody.Melody)
  swing: float = 1.0        # long-short ratio of eighth pairs when played; 1: straight
  # What the lead sheet says besides the notes (stylexfer.reading.lead_sheet).
  tempo: float = None       # quarter notes per minute; None: not stated
  key: lead_sheet.Key = None  # None: chosen from the pitches
  clef: str = None          # None: chosen from the range
  header: list = None       # [(name, text)]: composer, rhythm, origin, ...
  chords: list = None       # [(quarter notes from the first bar line, text)]
  spellings: list = None    # each note's written name ('G#4'), or None where unknown
  meters: dict = None       # bar index -> time signature where the input changes meter

  def __post_init__(self):
    self.pitches = [int(p) for p in self.pitches]
    self.durations = on_grid([melody_lib.fraction(d) for d in self.durations])
    if self.sounding is None:
      self.sounding = list(self.durations)
    step = Fraction(1, 24)
    self.sounding = [min(max(step, round(melody_lib.fraction(s) / step) * step), d)
                     for s, d in zip(self.sounding, self.durations)]
    # Bars and the pickup on the same grid as the onsets: a bar of an input's quintuplets
    # or nonuplets can be read a hair longer than its meter.
    self.bar_lengths = [max(step, round(melody_lib.fraction(b) / step) * step)
                        for b in self.bar_lengths or []]
    self.marks = dict(self.marks or {})
    self.meters = dict(self.meters or {})
    self.pickup = (round(melody_lib.fraction(self.pickup) / step) * step) % self.bar_length_at(0)
    self.sounding = written_rests(self.durations, self.sounding, self.pickup)
    if self.key is None:
      self.key = lead_sheet.key_for(self.pitches, self.durations)
    self.clef = lead_sheet.clef_for(self.pitches, self.clef)
    self.header = list(self.header or [])
    self.chords = sorted((melody_lib.fraction(at), text) for at, text in self.chords or [])
    self.spellings = [_checked_spelling(name, midi) for name, midi in
                      zip(self.spellings or [None] * len(self.pitches), self.pitches)]

  @property
  def bar_length(self):
    """The bar length of the time signature, in quarter notes."""
    return melody_lib.signature_length(self.time_signature)

  def bar_length_at(self, index):
    """The length of bar `index` (0 is the first bar, a pickup bar counted whole)."""
    if not self.bar_lengths:
      return self.bar_length
    return self.bar_lengths[min(index, len(self.bar_lengths) - 1)]

  def bar_starts(self, until):
    """Starts of the bars (quarter notes from the first bar's start) up to `until`."""
    starts = [Fraction(0)]
    while starts[-1] <= until:
      starts.append(starts[-1] + self.bar_length_at(len(starts) - 1))
    return starts

  @property
  def quarters(self):
    """Length from the first onset to the end of the last note, in quarter notes."""
    return sum(self.durations, Fraction(0))


# The shortest rest a lead sheet writes between notes: a shorter silence is articulation
# (a performed melody's gap before the next note), written as part of the note.
SHORTEST_REST = Fraction(1, 4)


def written_rests(durations, sounding, pickup=0):
  """How long each note is written to sound: a rest after it only where a score writes one.

  A silence shorter than SHORTEST_REST is written as part of the note; a longer rest
  starts on a 16th or on a triplet eighth of its beat, the nearer one (a performed gap
  from MIDI or WJazzD ends anywhere), and stays SHORTEST_REST long at least.
  """
  written, onset = [], Fraction(pickup)
  for duration, sound in zip(durations, sounding):
    if duration - sound < SHORTEST_REST:
      sound = duration
    else:
      end = onset + sound
      candidates = [grid * round(end / grid) for grid in (Fraction(1, 4), Fraction(1, 3))]
      end = min(candidates, key=lambda place: (abs(place - end), place.denominator))
      sound = min(max(end - onset, Fraction(1, 24)), duration - SHORTEST_REST)
    written.append(sound)
    onset += duration
  return written


def _checked_spelling(name, midi):
  """A written pitch name that still names `midi`, else None (spelled from the key)."""
  if not name:
    return None
  try:
    return name if m21_pitch.Pitch(name).midi == midi else None
  except Exception:  # not a pitch name music21 reads
    return None


def bar_index(starts, onset):
  """The index of the bar (from bar_starts) that holds `onset`."""
  return bisect.bisect_right(starts, onset) - 1


def on_grid(durations, step=Fraction(1, 24)):
  """Durations whose onsets lie on a grid a score can write (24ths of a quarter).

  Quintuplets and other tuplets no score value expresses are moved onset by onset to the
  nearest grid point, so later notes keep their places and no note vanishes.
  """
  if all((d / step).denominator == 1 for d in durations):
    return durations
  onsets, position = [], Fraction(0)
  for duration in durations:
    onsets.append(position)
    position += duration
  placed = []
  for onset in onsets:
    point = round(onset / step) * step
    placed.append(max(point, placed[-1] + step) if placed else point)
  last = max(step, round(durations[-1] / step) * step)
  return [b - a for a, b in zip(placed, placed[1:])] + [last]


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
  if _is_plain(quarters):
    return quarters
  if _is_plain(quarters * Fraction(3, 2)):
    return Fraction(0)
  for step in (Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)):
    plain = step * math.floor(quarters / step)
    while plain > 0:
      if _is_plain((quarters - plain) * Fraction(3, 2)):
        return plain
      plain -= step
  return quarters


def _is_plain(value):
  denominator = melody_lib.fraction(value).denominator
  return denominator & (denominator - 1) == 0


# Values written under a tuplet bracket: plain and dotted ones.
_IN_TUPLET = sorted({shape * Fraction(2) ** k for shape in (Fraction(3, 2), 1)
                     for k in range(-6, 3)}, reverse=True)


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


def tuplet_unit(time_signature):
  """What one tuplet bracket spans: a quarter-note beat (a 16th in x/16 meters).

  Beats are quarter notes wherever the sampler places onsets (stylexfer.tokens.beats),
  in 6/8 too, so a triplet is three in the time of two eighths there as well.
  """
  denominator = int(time_signature.split('/')[1]) if '/' in time_signature else 4
  return Fraction(1, 4) if denominator >= 16 else Fraction(1)


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
        bar = bar_index(starts, begin)
        cut = min(end, starts[bar + 1])
        segments[bar].append((value, begin - starts[bar], cut - starts[bar], note_index))
        begin = cut
    position += quarters
  unit = tuplet_unit(tune.time_signature)
  # A first onset or a last end in triplet time: the bracket's beat is written whole,
  # a rest before the pickup or after the last note.
  if segments and segments[0] and not _is_plain(segments[0][0][1]):
    segments[0].insert(0, (None, unit * math.floor(segments[0][0][1] / unit),
                           segments[0][0][1], None))
  last = next((bar for bar in reversed(range(count)) if segments[bar]), None)
  if last is not None and not _is_plain(segments[last][-1][2]):
    end = segments[last][-1][2]
    segments[last].append((None, end, min(unit * math.ceil(end / unit),
                                          starts[last + 1] - starts[last]), None))
  chords = [[] for _ in range(count)]
  for at, text in tune.chords:
    bar = bar_index(starts, at)
    if 0 <= bar < count:
      chords[bar].append((at - starts[bar], text))
  compound = compound_time(tune.time_signature)
  written = [_bar_pieces(segments[bar], starts[bar + 1] - starts[bar], unit, compound,
                         chords[bar], bar) for bar in range(count)]
  _tie(written, tune.spellings)
  while written and not written[-1]:
    written.pop()
  return written


def compound_time(time_signature):
  """Whether a meter counts dotted-quarter beats (6/8, 9/8, 12/8)."""
  numerator, _, denominator = time_signature.partition('/')
  return denominator == '8' and numerator.isdigit() and int(numerator) % 3 == 0 and int(
      numerator) > 3


def _triplet_groups(segments, length, unit):
  """The (begin, end) of the bar's 3:2 groups: beats with a start or end off the 32nds.

  Two such beats are one group of quarter-note triplets where a value crosses the beat
  between them and every start and end inside lies on a third of the two beats.
  """
  bounds = {value for segment in segments for value in segment[1:3]}
  edges = [min(k * unit, length) for k in range(math.ceil(length / unit) + 1)]
  # A bar whose length is off the 32nds (an input's miscounted triplet) ends its last
  # beat in triplet time too.
  triple = [any(a < b < c and not _is_plain(b) for b in bounds) or not _is_plain(c)
            for a, c in zip(edges, edges[1:])]
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
  return [(a, b) for a, b in halves if any(a < x < b and not _is_plain(x) for x in bounds)]


def _bar_pieces(segments, length, unit, compound, chords, bar):
  """One bar's segments (pitch, begin, end, note) as written Pieces (see `bars`)."""
  groups = _triplet_groups(segments, length, unit)
  inside = lambda place: next((g for g in groups if g[0] < place < g[1]), None)
  cuts = {edge for group in groups for edge in group}
  for place, _ in chords:
    group = inside(place)
    # A chord's place cuts a note only where the cut fits the beat's kind.
    if (_is_plain(place) if group is None
        else ((place - group[0]) / ((group[1] - group[0]) / 6)).denominator == 1):
      cuts.add(place)
  pieces = []
  for pitch, begin, end, note_index in segments:
    marks = sorted(c for c in cuts if begin < c < end)
    for start, stop in zip([begin] + marks, marks + [end]):
      group = next((g for g in groups if g[0] <= start and stop <= g[1]), None)
      if group is None:
        values = (beat_pieces(start, stop - start) if pitch is not None
                  else rest_pieces(start, stop - start, length, compound))
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
        for value in _tuplet_values((b - a) * Fraction(3, 2)):
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


def _tuplet_values(written):
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
    elif _is_plain(length) and (length > current or (length < current and following == length)):
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


def spell(midi, sharps):
  """A music21 Pitch for a MIDI number, black keys spelled with the key's accidentals."""
  spelled = m21_pitch.Pitch(midi=midi)
  if spelled.accidental is not None and spelled.accidental.alter > 0 and sharps < 0:
    spelled = spelled.getEnharmonic()
  return spelled


def written_pitches(bars_of_pieces, sharps, by_letter=False):
  """Each piece's pitch as written (a music21 Pitch, None for a rest) and whether its
  accidental is shown: a list per bar, for the bars of `bars()`.

  As a score shows them: an accidental where the note differs from the key signature or
  from the same note earlier in the bar (by letter and octave), none on a tied note's
  continuation. `by_letter` shows one wherever the letter was altered earlier in the bar
  in any octave, or differs from the key: for ABC, whose readers carry accidentals by
  letter or by letter and octave, not all alike, and read a tied continuation as a pitch
  of its own, so a continuation shows what its first note showed (a natural sign too),
  or what the key and the bar would otherwise read wrong.
  """
  key_alters = {p.step: int(p.accidental.alter)
                for p in m21_key.KeySignature(sharps).alteredPitches}
  head_shown, out = False, []
  for pieces in bars_of_pieces:
    in_force, altered, written = {}, set(), []
    for piece in pieces:
      if piece.pitch is None:
        written.append((None, False))
        continue
      spelled = (m21_pitch.Pitch(piece.spelling) if piece.spelling
                 else spell(piece.pitch, sharps))
      alter = int(spelled.accidental.alter) if spelled.accidental is not None else 0
      continuation = piece.tie in ('continue', 'stop')
      if continuation and not by_letter:
        written.append((spelled, False))
        continue
      if by_letter:
        shown = (spelled.step in altered or alter != key_alters.get(spelled.step, 0)
                 or (continuation and head_shown))
        if shown:
          altered.add(spelled.step)
      else:
        slot = (spelled.step, spelled.octave)
        shown = alter != in_force.get(slot, key_alters.get(spelled.step, 0))
        in_force[slot] = alter
      if not continuation:
        head_shown = shown
      written.append((spelled, shown))
    out.append(written)
  return out


def beam_groups(pieces, time_signature):
  """Runs of piece indices beamed together: notes shorter than a quarter in one beat (a
  dotted quarter in compound time), a tuplet group with the beat it lies in, or alone
  where it crosses beats; a rest ends a run."""
  beat = Fraction(3, 2) if compound_time(time_signature) else tuplet_unit(time_signature)
  groups, run, run_key, tuplet, group_key = [], [], None, 0, None
  for index, piece in enumerate(pieces):
    key = ('beat', math.floor(piece.place / beat))
    if piece.tuplet in ('start', 'only'):
      tuplet += 1
      last = piece.place + piece.tuplet_span - Fraction(1, 96)
      group_key = key if math.floor(last / beat) == key[1] else ('tuplet', tuplet)
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


def play_order(marks, count):
  """Bar indices in the order they are played: repeats taken once, endings by pass.

  A right repeat sign sends the music back to the last left repeat sign (or the start)
  once; on the second pass the bars of ending 1 are skipped and ending 2 is played.
  """
  order, index, repeat_from, repeated = [], 0, 0, set()
  second_pass = False
  while index < count:
    mark = marks.get(index, {})
    if mark.get('left') == 'repeat' and not second_pass:
      repeat_from = index
    ending = mark.get('ending')
    if ending and second_pass and '1' in ending.split(','):
      index += 1
      continue
    if ending and not second_pass and '1' not in ending.split(','):
      index += 1
      continue
    order.append(index)
    if mark.get('right') == 'repeat' and index not in repeated:
      repeated.add(index)
      index, second_pass = repeat_from, True
      continue
    if mark.get('right') == 'repeat' or (mark.get('right') in ('double', 'final')):
      second_pass = False
      repeat_from = index + 1
    index += 1
  return order


def swing_time(quarters, ratio):
  """Where an onset at `quarters` is played when eighth pairs swing long-short by `ratio`.

  Each beat's first half is stretched to ratio / (1 + ratio) of the beat and its second
  half squeezed to the rest, so straight eighths become long-short pairs and finer values
  move with them.
  """
  if ratio == 1:
    return float(quarters)
  beat = math.floor(quarters)
  into = float(quarters) - beat
  long = ratio / (1.0 + ratio)
  return beat + (into * 2 * long if into <= 0.5 else long + (into - 0.5) * 2 * (1 - long))


def performance(tune):
  """The notes as played: (onset, length, pitch) in quarter notes, repeats and swing in.

  Onsets count from the first note; a repeated bar is played again with its notes.
  """
  onsets, position = [], tune.pickup
  for quarters in tune.durations:
    onsets.append(position)
    position += quarters
  starts = tune.bar_starts(position)
  by_bar = {}
  for onset, sounding, pitch_value in zip(onsets, tune.sounding, tune.pitches):
    index = bar_index(starts, onset)
    by_bar.setdefault(index, []).append((onset - starts[index], sounding, pitch_value))
  played, clock = [], Fraction(0)
  for index in play_order(tune.marks, len(starts) - 1):
    for into, sounding, pitch_value in by_bar.get(index, []):
      played.append((clock + into, sounding, pitch_value))
    clock += tune.bar_length_at(index)
  origin = swing_time(tune.pickup, tune.swing)
  notes = []
  for start, sounding, pitch_value in played:
    begin = swing_time(start, tune.swing)
    notes.append((begin - origin, swing_time(start + sounding, tune.swing) - begin,
                  pitch_value))
  return notes


def layout(melody, swing=None):
  """A reading.melody.Melody laid into its bars, to be played with `swing` (None: the
  melody's own, else straight)."""
  swing = swing or melody.swing or 1.0
  _, bar_lengths, pickup = melody.form()
  first = melody.bars[0] if melody.bars else 0
  marks = {number - first: mark for number, mark in melody.bar_marks.items()
           if number >= first}
  meters = {number - first: meter for number, meter in melody.meters.items()
            if number > first}
  durations = melody.durations()
  sounding = [min(length, duration) for length, duration in zip(melody.lengths, durations)]
  # Chords stand where they stood from the first note, which starts `pickup` into bar 0.
  origin = melody.onsets[0] if melody.onsets else 0
  chords = [(melody_lib.fraction(pickup) + at - origin, text) for at, text in melody.chords]
  return Layout(melody.pitches, durations, melody.time_signature, pickup, melody.title,
                sounding=sounding, bar_lengths=list(bar_lengths), marks=marks, swing=swing,
                tempo=melody.tempo, key=melody.key, clef=melody.clef, header=melody.header,
                chords=chords, spellings=melody.spellings, meters=meters)
