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

from music21 import note
from music21 import pitch as m21_pitch
from music21 import stream

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

  def __post_init__(self):
    self.pitches = [int(p) for p in self.pitches]
    self.durations = on_grid([melody_lib.fraction(d) for d in self.durations])
    if self.sounding is None:
      self.sounding = list(self.durations)
    step = Fraction(1, 24)
    self.sounding = [min(max(step, round(melody_lib.fraction(s) / step) * step), d)
                     for s, d in zip(self.sounding, self.durations)]
    self.bar_lengths = [melody_lib.fraction(b) for b in self.bar_lengths or []]
    self.marks = dict(self.marks or {})
    self.pickup = melody_lib.fraction(self.pickup) % self.bar_length_at(0)

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


@dataclasses.dataclass
class Piece:
  """One written note or rest: part of a melody note, inside one bar."""
  pitch: int        # None for a rest
  quarters: Fraction
  bar: int          # 0-based bar index (bar 0 is the pickup bar when there is one)
  tie: str = ''     # '', 'start', 'continue' or 'stop'


def bars(tune):
  """The tune's notes and rests split at bar lines into notatable values: a list of bars."""
  position = tune.pickup
  starts = tune.bar_starts(position + tune.quarters)
  bars_out = [[] for _ in range(len(starts) - 1)]
  for pitch_value, quarters, sounding in zip(tune.pitches, tune.durations, tune.sounding):
    for part, part_pitch in ((sounding, pitch_value), (quarters - sounding, None)):
      chunks = []
      while part > 0:
        index = bar_index(starts, position)
        take = min(starts[index + 1] - position, part)
        chunks += [(index, value)
                   for value in beat_pieces(position - starts[index], take)]
        position += take
        part -= take
      for k, (index, value) in enumerate(chunks):
        tie_type = '' if len(chunks) == 1 or part_pitch is None else (
            'start' if k == 0 else 'stop' if k == len(chunks) - 1 else 'continue')
        bars_out[index].append(Piece(part_pitch, value, index, tie_type))
  while bars_out and not bars_out[-1]:
    bars_out.pop()
  return bars_out


def meter_changes(tune, count):
  """{bar index: time signature} where the bars take another length.

  A single bar shorter than the meter (a pickup's complement before a repeat, the last
  bar) stays an incomplete bar of the meter around it; a bar longer than the meter, or a
  run of two shorter ones, is a new meter.
  """
  changes, current = {}, tune.bar_length
  for index in range(1, count):
    length = tune.bar_length_at(index)
    following = tune.bar_length_at(index + 1) if index + 1 < count else None
    if length > current or (length < current and following == length):
      changes[index] = signature_of(length, tune.time_signature)
      current = length
  return changes


def meters(tune, count):
  """The bar length of the meter in force at each of `count` bars."""
  changes = meter_changes(tune, count)
  in_force, current = [], tune.bar_length
  for index in range(count):
    if index in changes:
      current = tune.bar_length_at(index)
    in_force.append(current)
  return in_force


def signature_of(length, like='4/4'):
  """A time signature string for a bar of `length` quarters, in the denominator of `like`."""
  denominator = int(like.split('/')[1]) if '/' in like else 4
  for unit in (denominator, 4, 8, 16):
    beats = length * unit / 4
    if beats.denominator == 1:
      return f'{beats.numerator}/{unit}'
  return f'{int(length * 16)}/64'


def estimate_key(tune):
  """The key signature (sharps, negative for flats) that best fits the tune's pitches.

  music21's key analysis weighs each pitch class by how long it sounds in all, so it is
  given one note per pitch class, as long as that class in all (exact sums): the same
  answer as a part of every note, without building one (0.2 s for 4,000 notes).
  """
  totals = [fractions.Fraction(0)] * 12
  for midi, duration in zip(tune.pitches, tune.durations):
    totals[midi % 12] += fractions.Fraction(duration)
  part = stream.Part([note.Note(60 + pitch_class, quarterLength=float(total))
                      for pitch_class, total in enumerate(totals) if total])
  try:
    return part.analyze('key').sharps
  except Exception:  # music21 can fail on one-note or atonal lines; C is a safe default
    return 0


def spell(midi, sharps):
  """A music21 Pitch for a MIDI number, black keys spelled with the key's accidentals."""
  spelled = m21_pitch.Pitch(midi=midi)
  if spelled.accidental is not None and spelled.accidental.alter > 0 and sharps < 0:
    spelled = spelled.getEnharmonic()
  return spelled


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


def layout(melody, swing=1.0):
  """A reading.melody.Melody laid into its bars, to be played with `swing`."""
  _, bar_lengths, pickup = melody.form()
  first = melody.bars[0] if melody.bars else 0
  marks = {number - first: mark for number, mark in melody.bar_marks.items()
           if number >= first}
  durations = melody.durations()
  sounding = [min(length, duration) for length, duration in zip(melody.lengths, durations)]
  return Layout(melody.pitches, durations, melody.time_signature, pickup, melody.title,
                sounding=sounding, bar_lengths=list(bar_lengths), marks=marks, swing=swing)
