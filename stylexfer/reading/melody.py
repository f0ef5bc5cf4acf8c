"""The Melody type that every reader makes: monophonic melodies read from score files.

A melody is its notes (MIDI pitch, onset in quarter notes, sounding length) with the
marks that later stages need to keep structure: the bar each note falls in, its position
in the bar, the section or phrase it belongs to, and the time signature. The readers are
stylexfer.reading.abc_reader (ABC), stylexfer.reading.score_reader (MIDI and MusicXML) and
stylexfer.reading.wjazzd; stylexfer.reading.readers chooses one by a file's suffix.
"""

import collections
import dataclasses
import fractions
import functools
import numbers
import re

from music21 import meter
import numpy as np

from stylexfer.reading import lead_sheet


# What a reader counts in `Melody.counts`, named as the data build's statistics name
# everything: 'dropped <files|tunes|notes>: <reason>' for what is lost, plain words for
# what is noted.
GRACE_NOTES = 'dropped notes: grace'
CHORD_NOTES = 'dropped notes: chord (top note kept)'
SIMULTANEOUS_NOTES = 'dropped notes: simultaneous (top note kept)'
POLYPHONIC = 'tunes with chords or simultaneous notes'
UNKNOWN_KEYS = 'unknown ABC keys'
TRUNCATED_MIDI = 'truncated MIDI files'


class MelodyError(ValueError):
  """A file or tune that yields no usable melody; the message names it and says why."""


class UnreadableFileError(MelodyError):
  """The file is missing, or cannot be parsed as the format its name says."""


class NoNotesError(MelodyError):
  """The file or tune parses but holds no pitched notes."""


class TooLongError(MelodyError):
  """A file or tune says a length no melody has (a note held for days, a bar of 10,000
  beats): refused before music21 spends hours or gigabytes on it."""


class NoSuchTuneError(MelodyError):
  """An ABC file holds no tune at the position or with the title asked for."""


@dataclasses.dataclass
class Melody:
  """One monophonic line; every per-note list has one entry per note."""
  tune_id: str
  title: str
  source: str
  pitches: list            # MIDI pitch numbers
  onsets: list             # Fractions of a quarter note from the start
  lengths: list            # sounding lengths (quarter notes)
  bars: list               # bar number of each note (0 for a pickup bar)
  beats: list              # onset within its bar, in quarter notes
  phrases: list            # phrase or section index: WJazzD phrases, score sections
  time_signature: str = '4/4'
  counts: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  # Quarter notes of the bar each note falls in, as written (a pickup bar counts whole;
  # a bar cut short before a repeat, or a bar in another meter, has its own length).
  bar_lengths: list = dataclasses.field(default_factory=list)
  # Bar lines that shape the form, by bar number: {'left': 'repeat' | 'double',
  # 'right': 'repeat' | 'double' | 'final', 'ending': '1' | '2' | ...}.
  bar_marks: dict = dataclasses.field(default_factory=dict)
  # One line per thing read that is not what the file means (a cut-short MIDI file, an
  # unknown key), for programs to print; each also counted in `counts`.
  warnings: list = dataclasses.field(default_factory=list)
  # Where the melody ends, in quarter notes on the onsets' clock, when a rest follows its
  # last note (a new rhythm's last duration); None: it ends when its last note stops.
  end: fractions.Fraction = None
  # What a lead sheet says besides the notes (stylexfer.reading.lead_sheet): each None or
  # empty where the file does not say it.
  tempo: float = None      # quarter notes per minute (ABC Q:, a metronome mark, MIDI tempo)
  key: lead_sheet.Key = None
  clef: str = None         # lead_sheet.CLEFS: 'treble', 'treble-8', 'bass', ...
  # Header fields other than the title, in the file's order: (name, text), names from
  # lead_sheet.HEADER_FIELDS ('composer', 'rhythm', 'origin', 'notes', ...).
  header: list = dataclasses.field(default_factory=list)
  # Chord symbols: (onset on the onsets' clock, text as written, e.g. 'Am7', 'Bb/D').
  chords: list = dataclasses.field(default_factory=list)
  # Each note's pitch as written, e.g. 'G#4', 'B-3' (music21's names); empty: unknown.
  spellings: list = dataclasses.field(default_factory=list)
  # Meter changes the file states, by bar number: {bar: '2/4'}.
  meters: dict = dataclasses.field(default_factory=dict)
  # How its eighth pairs are played: a long-short ratio (1: straight; None: straight, as
  # a file states no swing). A restyle plays its target genre's.
  swing: float = None
  # What kind of tune it is, as its source names it, lower case: a folk tune type (ABC
  # R:, 'reel', 'jig', 'slip jig') or a jazz style (WJazzD's 'bebop', 'postbop'); and
  # a jazz solo's rhythm feel ('swing', 'latin', 'ballad'). Empty: not stated.
  style: str = ''
  feel: str = ''

  def __post_init__(self):
    # Control characters in a title (a NUL, an ESC from a MIDI file's track name) would
    # make the MusicXML and SVG written from it ill-formed and reach a terminal raw.
    self.title = printable(self.title)

  @classmethod
  def from_durations(cls, pitches, durations, time_signature='4/4', pickup=0, title='',
                     sounding=None, bar_lengths=None, bar_marks=None, first_bar=0,
                     source='', tune_id=''):
    """A melody told by its inter-onset durations (quarter notes), laid into bars.

    `bar_lengths` are the bars' lengths from the first one (the last repeats; None: the
    time signature's), `pickup` the first note's offset in its bar, `sounding` how long
    each note sounds (None: its whole duration), `bar_marks` the form's bar lines by bar
    number, the first bar being `first_bar`.
    """
    durations = [fraction(d) for d in durations]
    sounding = list(durations) if sounding is None else [fraction(s) for s in sounding]
    lengths = ([fraction(b) for b in bar_lengths] if bar_lengths is not None and
               len(bar_lengths) else [signature_length(time_signature)])
    length_at = lambda index: lengths[min(index, len(lengths) - 1)]
    pickup = fraction(pickup) % length_at(0)
    onsets, bars, beats, note_bar_lengths = [], [], [], []
    position, start, index = pickup, fractions.Fraction(0), 0
    for duration in durations:
      while position >= start + length_at(index):
        start += length_at(index)
        index += 1
      onsets.append(position - pickup)
      bars.append(first_bar + index)
      beats.append(position - start)
      note_bar_lengths.append(length_at(index))
      position += duration
    return cls(tune_id, title, source, [int(p) for p in pitches], onsets, sounding, bars,
               beats, [0] * len(durations), time_signature, bar_lengths=note_bar_lengths,
               bar_marks=dict(bar_marks or {}), end=position - pickup)

  def with_rhythm(self, durations, sounding=None, title=None):
    """The same tones in the same bars and form, with new inter-onset durations.

    Everything else the tune says (tempo, key, clef, spelling, chords, header) is kept.
    The tune ends where it ended: the last note lasts, and sounds, up to the end of the
    melody as it was (a long last note stays long), when it starts before that end.
    """
    _, bar_lengths, pickup = self.form()
    durations = [fraction(d) for d in durations]
    sounding = list(durations) if sounding is None else [fraction(s) for s in sounding]
    if self.pitches:
      old = self.durations()
      end = sum(old, fractions.Fraction(0))
      last_onset = sum(durations[:-1], fractions.Fraction(0))
      if last_onset < end:
        stops = sum(old[:-1], fractions.Fraction(0)) + min(self.lengths[-1], old[-1])
        durations[-1] = end - last_onset
        sounding[-1] = max(min(stops - last_onset, durations[-1]), sounding[-1])
        sounding[-1] = min(sounding[-1], durations[-1])
    melody = type(self).from_durations(
        self.pitches, durations, self.time_signature, pickup,
        self.title if title is None else title, sounding, list(bar_lengths),
        self.bar_marks, self.bars[0] if self.bars else 0, self.source, self.tune_id)
    shift = self.onsets[0] if self.onsets else 0
    # A melody whose file states no key is written in the one its own rhythm suggests, in
    # every copy: a new rhythm does not move the key signature.
    key = self.key or lead_sheet.key_for(self.pitches, self.durations())
    return dataclasses.replace(
        melody, phrases=list(self.phrases), tempo=self.tempo, key=key, clef=self.clef,
        header=list(self.header), spellings=list(self.spellings), meters=dict(self.meters),
        swing=self.swing, style=self.style, feel=self.feel, chords=[(onset - shift, text) for onset, text in self.chords])

  def __len__(self):
    return len(self.pitches)

  def form(self):
    """The (bars, bar_lengths, pickup) a restyle keeps: see `form_of`."""
    return form_of(self.bars, self.bar_lengths or [4] * len(self),
                   self.beats[0] if self.beats else 0)

  def durations(self):
    """Inter-onset intervals in quarter notes; rests lengthen the note before them."""
    if not self.pitches:
      return []
    iois = [b - a for a, b in zip(self.onsets, self.onsets[1:])]
    return iois + [self.lengths[-1] if self.end is None else self.end - self.onsets[-1]]


_CONTROL = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f]')


def printable(text):
  """`text` without control characters (tabs and line breaks kept)."""
  return _CONTROL.sub('', text) if text else text


def form_of(bar_numbers, bar_lengths, first_position):
  """The bar structure a restyle keeps, from a melody's per-note bars.

  `bar_numbers` are the bars of the notes as read (numbers that never decrease, or that
  restart per section), `bar_lengths` each note's bar length, `first_position` the first
  note's onset in its bar. Returns (bars, lengths, pickup): each note's bar index from 0,
  one length per bar (a bar without an onset of its own, under a held note, takes the
  length of the bar before it) and the pickup in quarter notes.
  """
  numbers = np.asarray(bar_numbers, np.int64)
  if len(numbers) and np.all(np.diff(numbers) >= 0):
    bars = numbers - numbers[0]
  else:
    bars = np.concatenate([[0], np.cumsum(np.diff(numbers) != 0)]).astype(np.int64)
  lengths = np.zeros(int(bars[-1]) + 1 if len(bars) else 0, np.float32)
  known = np.zeros(len(lengths), bool)
  for bar, length in zip(bars, bar_lengths):
    lengths[bar], known[bar] = float(length), True
  for bar in range(1, len(lengths)):
    if not known[bar]:
      lengths[bar] = lengths[bar - 1]
  return bars.astype(np.int32), lengths, float(first_position)


def fraction(value):
  """Quarter notes as an exact Fraction (floats from music21, NumPy or TensorFlow included).

  music21 offsets are floats or Fractions, and tuplets need exact Fractions; NumPy and
  TensorFlow floats are not Python floats, which Fraction refuses.
  """
  if not isinstance(value, numbers.Rational):
    value = float(value)
  return fractions.Fraction(value).limit_denominator(10080)


@functools.lru_cache(maxsize=64)
def signature_length(time_signature):
  """The bar length of a time signature, in quarter notes.

  Cached: a music21 TimeSignature takes 100 us to build, and writers ask once per bar.
  """
  return fraction(meter.TimeSignature(time_signature).barDuration.quarterLength)


def signature_text(time_signature):
  """A music21 TimeSignature as a melody keeps it: '3/4', or '2+3+2/8' for an additive one.

  music21 names an additive meter '2/8+3/8+2/8', which no writer writes; one whose terms
  have different beat units (3/8+2/4) is kept as the sum (7/8).
  """
  terms = [(term.numerator, term.denominator) for term in time_signature.displaySequence]
  if len(terms) < 2:
    return time_signature.ratioString
  if len({denominator for _, denominator in terms}) == 1:
    return '+'.join(str(numerator) for numerator, _ in terms) + f'/{terms[0][1]}'
  return f'{time_signature.numerator}/{time_signature.denominator}'


def polyphony_warning(melody):
  """A one-line warning when the melody was reduced to its top line, else None."""
  if not melody.counts.get(POLYPHONIC):
    return None
  dropped = (melody.counts.get(CHORD_NOTES, 0) +
             melody.counts.get(SIMULTANEOUS_NOTES, 0))
  return (f'warning: {melody.source}: the music is polyphonic; kept its top line '
          f'({dropped} lower note{"s" if dropped != 1 else ""} dropped)')
