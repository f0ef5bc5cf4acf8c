"""A melody ready to write: its notes on a grid a score can show, in their bars.

`layout(melody, swing)` lays a reading.melody.Melody out for the writers as a `Layout`:
MIDI pitches, inter-onset durations in quarter notes on a grid a score can show, how long
each note sounds (a rest fills the rest of its duration), the bars (a time signature, or
each bar's own length for mixed meters and bars cut short before a repeat), the first
note's offset in its bar (a pickup), the form's bar lines (repeat signs, endings, double
bars) and a swing ratio for playing. Every writer (MusicXML and the engraved score in
stylexfer.writers.render, ABC in stylexfer.writers.abc_writer, MIDI in
stylexfer.writers.midi_writer, audio in stylexfer.writers.audio) reads the bars
(stylexfer.writers.measures) and the performance (stylexfer.writers.playing) of one Layout,
so they always agree: a note that crosses a bar line is split into notes tied over it, and
every piece is a value a score can show (plain, dotted or triplet).
"""

import bisect
import dataclasses
import fractions

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.writers import spelling

Fraction = fractions.Fraction


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
    self.spellings = [spelling.checked_spelling(name, midi) for name, midi in
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
