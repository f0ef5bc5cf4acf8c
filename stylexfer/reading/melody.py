"""Monophonic melodies read from score files: ABC, MIDI and MusicXML.

A melody is its notes (MIDI pitch, onset in quarter notes, sounding length) with the
marks that later stages need to keep structure: the bar each note falls in, its position
in the bar, the section or phrase it belongs to, and the time signature.
"""

import collections
import copy
import dataclasses
import fractions
import functools
import numbers
import os
import re
import stat
import struct
import tempfile
import zipfile

from music21 import abcFormat
from music21 import bar as m21_bar
from music21 import chord, clef, converter, environment, harmony, key, meter, note, spanner
from music21 import stream, tempo
import numpy as np

from stylexfer.reading import lead_sheet

ABC_SUFFIXES = ('.abc',)
MIDI_SUFFIXES = ('.mid', '.midi')
MUSICXML_SUFFIXES = ('.xml', '.musicxml', '.mxl')
# A compressed MusicXML file that unpacks to more than this is refused before music21
# reads it: a 1 MB archive can unpack to gigabytes. The largest real scores are a few MB.
MAX_UNPACKED_BYTES = 64 * 2**20
# Key names of ABC 2.1 (K: field): a tonic with a mode, 'none', the bagpipe keys, or only
# a clef or explicit accidentals; modes are recognised by their first three letters.
_ABC_KEY = re.compile(
    r'(?:(?:none|HP|Hp)|[A-G][#b]?\s*(?:m|(?:maj|min|ion|aeo|mix|dor|phr|lyd|loc|exp)[a-z]*)?)'
    r'(?=\s|$)|(?=[_^=]|[a-z]+=|(?:treble|bass|alto|tenor|perc)\b)', re.IGNORECASE)


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
        swing=self.swing, chords=[(onset - shift, text) for onset, text in self.chords])

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


def melody_from_score(score, source, tune_id='', title='', label='', in_place=False):
  """The top line (skyline) of a music21 Score, Part or Stream as a Melody.

  Chords keep their highest note and notes sounding together keep the highest one; both
  are counted in `counts`. Raises NoNotesError when nothing pitched is left. With
  in_place, ties are merged in `score` itself rather than in a copy of it (the copy is a
  fifth of the time of reading a long MIDI file): for a score that only the caller holds.
  """
  counts = collections.Counter()
  # Ties split a note in two; merge them first, but only between equal pitches (the
  # O'Neill transcriptions use '-' between different notes).
  if not in_place:
    score = copy.deepcopy(score)
  for element in score.recurse().notes:
    # A natural sign shown on a tie's first note but not on its continuation (as a score
    # writes it) is the same pitch: music21 compares the signs.
    for written in getattr(element, 'pitches', ()):
      if written.accidental is not None and written.accidental.alter == 0:
        written.accidental = None
  score.stripTies(matchByPitch=True, inPlace=True)
  top = {}  # onset -> [pitch, length, spelling]
  chords = []
  for element in score.flatten().notes:
    if isinstance(element, harmony.Harmony):
      text = lead_sheet.chord_text(element.figure or '')
      if isinstance(element, harmony.ChordSymbol) and lead_sheet.chord(text):
        chords.append((fraction(element.offset), text))
      continue  # chord symbols above the melody
    if element.duration.isGrace or element.quarterLength == 0:
      counts[GRACE_NOTES] += 1
      continue
    if isinstance(element, chord.Chord):
      if not element.pitches:
        continue
      counts[CHORD_NOTES] += len(element.pitches) - 1
      highest = max(element.pitches, key=lambda p: p.midi)
    elif isinstance(element, note.Note):
      highest = element.pitch
    else:
      continue  # unpitched percussion
    onset = fraction(element.offset)
    pitch, length = highest.midi, fraction(element.quarterLength)
    if onset in top:
      counts[SIMULTANEOUS_NOTES] += 1
      if pitch <= top[onset][0]:
        continue
    top[onset] = [pitch, length, highest.nameWithOctave]
  if not top:
    raise NoNotesError(f'{source}: {label or "the score"} has no pitched notes')
  if any(count for key, count in counts.items() if key != GRACE_NOTES):
    counts[POLYPHONIC] = 1

  onsets = sorted(top)
  bars, beats, phrases, bar_lengths, marks = _structure(score, onsets)
  flat = score.flatten()
  time_signatures = list(flat.getElementsByClass(meter.TimeSignature))
  time_signature = _pickup_meter(time_signatures, bars, beats, bar_lengths)
  # A rest after the last note is part of the tune.
  last = onsets[-1] + top[onsets[-1]][1]
  end = fraction(score.highestTime)
  marks_of_tempo = flat.getElementsByClass(tempo.MetronomeMark)
  keys = flat.getElementsByClass(key.KeySignature)
  return Melody(
      tune_id=tune_id, title=title or '', source=str(source),
      pitches=[top[o][0] for o in onsets], onsets=onsets,
      lengths=[top[o][1] for o in onsets], bars=bars, beats=beats, phrases=phrases,
      time_signature=time_signature, counts=counts, bar_lengths=bar_lengths,
      bar_marks=marks, end=end if end > last else None,
      tempo=_quarter_tempo(marks_of_tempo[0]) if marks_of_tempo else None,
      key=lead_sheet.Key(keys[0].sharps, getattr(keys[0], 'mode', None)) if keys else None,
      chords=chords, spellings=[top[o][2] for o in onsets], meters=_stated_meters(score))


def _stated_meters(score):
  """{bar number: time signature} of the bars after the first that state a meter."""
  parts = score.parts if hasattr(score, 'parts') and score.parts else [score]
  measures = list(parts[0].getElementsByClass('Measure'))
  return {int(m.number): m.timeSignature.ratioString for m in measures[1:]
          if m.timeSignature is not None}


def _quarter_tempo(mark):
  """A metronome mark's tempo in quarter notes per minute (None when it has no number)."""
  try:
    quarters = mark.getQuarterBPM()
  except Exception:  # a mark with text alone
    return None
  # music21 computes it in floats (110.00000000000001 for Q:1/4=110).
  return round(float(quarters), 3) if quarters and 0 < quarters < 10_000 else None


def _pickup_meter(time_signatures, bars, beats, bar_lengths):
  """The tune's time signature; a first bar in a short meter of its own is a pickup.

  Notation programs and DAWs write a pickup to MIDI as a bar of its own meter (1/8, then
  2/4): that first meter is no meter of the tune. The first bar's notes are then placed
  at the end of a bar of the second meter, in `beats` and `bar_lengths` themselves.
  """
  if not time_signatures:
    return '4/4'
  first = time_signatures[0]
  if len(time_signatures) > 1 and bars:
    second = time_signatures[1]
    short = fraction(first.barDuration.quarterLength)
    full = fraction(second.barDuration.quarterLength)
    if short < full and fraction(second.offset) == short + fraction(first.offset):
      for i, bar in enumerate(bars):
        if bar != bars[0]:
          break
        beats[i] += full - short
        bar_lengths[i] = full
      return second.ratioString
  return first.ratioString


def _structure(score, onsets):
  """Bar number, position in the bar, section index and bar length of each onset, and the
  form's bar lines by bar number."""
  parts = score.parts if hasattr(score, 'parts') and score.parts else [score]
  measures = list(parts[0].getElementsByClass('Measure'))
  if not measures:
    # No bar lines (some MIDI files): count bars from the first time signature.
    signatures = score.flatten().getElementsByClass(meter.TimeSignature)
    bar_length = fraction(signatures[0].barDuration.quarterLength if signatures else 4)
    return ([int(o // bar_length) for o in onsets], [o % bar_length for o in onsets],
            [0] * len(onsets), [bar_length] * len(onsets), {})
  # A section ends at a double bar, a final bar or a repeat sign; a pickup bar belongs
  # to the section it leads into.
  starts, sections, section = [], [], 0
  for i, measure in enumerate(measures):
    after_pickup = i == 1 and measures[0].paddingLeft > 0
    if i and (measures[i - 1].rightBarline is not None or
              (measure.leftBarline is not None and not after_pickup)):
      section += 1
    starts.append(fraction(measure.offset))
    sections.append(section)
  lengths = _bar_lengths(measures, starts, fraction(parts[0].highestTime))
  bars, beats, phrases, bar_lengths, m = [], [], [], [], 0
  for onset in onsets:
    while m + 1 < len(measures) and starts[m + 1] <= onset:
      m += 1
    measure = measures[m]
    bars.append(int(measure.number))
    beats.append(onset - starts[m] + _padding(measures, m))
    phrases.append(sections[m])
    bar_lengths.append(lengths[m])
  return bars, beats, phrases, bar_lengths, _bar_marks(measures)


def _bar_lengths(measures, starts, end):
  """Each measure's length as written: the distance to the next one (the last one: to the
  end of the music, at least the bar before it unless it is the pickup's complement), a
  pickup's padding counted in.

  Offsets rather than time signatures, because music21's ABC reader drops a meter change
  inside a tune ([M:3/4]) but places the bars where they are.
  """
  lengths = []
  for i, measure in enumerate(measures):
    padding = _padding(measures, i)
    if i + 1 < len(measures):
      length = starts[i + 1] - starts[i] + padding
    else:
      # The last bar is whole, or the pickup's complement where it holds just that.
      full = lengths[-1] if lengths else fraction(measure.barDuration.quarterLength)
      held = end - starts[i] + padding
      # A pickup is padded on its left by what its complement holds.
      complement = fraction(measures[0].paddingLeft) if len(measures) > 1 else 0
      length = held if complement and held == complement else max(held, full)
    lengths.append(length if length > 0 else fraction(measure.barDuration.quarterLength))
  return lengths


def _padding(measures, index):
  """The pickup's missing start of the first bar; none for later bars.

  music21's MusicXML reader pads a short bar inside a tune (the upbeat to a repeated
  section) on its left as if it were a pickup; counting that padding would put the bar's
  notes later than the bar before it ends.
  """
  return fraction(measures[index].paddingLeft) if index == 0 else 0


def _bar_marks(measures):
  """Repeat signs, double and final bars and numbered endings, by bar number."""
  marks = {}
  for measure in measures:
    mark = {}
    for side, line in (('left', measure.leftBarline), ('right', measure.rightBarline)):
      if isinstance(line, m21_bar.Repeat):
        mark[side] = 'repeat'
      elif line is not None and line.type in ('double', 'final', 'light-heavy'):
        mark[side] = 'final' if line.type != 'double' and side == 'right' else 'double'
    for site in measure.getSpannerSites():
      if isinstance(site, spanner.RepeatBracket) and site.number:
        mark['ending'] = str(site.number)
    if mark:
      marks[int(measure.number)] = mark
  return marks


def split_abc(text):
  """The tunes of an ABC file as (number, title, text), each with the file header."""
  chunks = re.split(r'(?m)^(?=X:)', text)
  header = '' if chunks[0].lstrip().startswith('X:') else chunks.pop(0)
  tunes = []
  for index, chunk in enumerate(chunks):
    number = re.match(r'X:\s*(\S*)', chunk).group(1) or str(index + 1)
    title = re.search(r'(?m)^T:\s*(.*?)\s*$', chunk)
    tunes.append((number, title.group(1) if title else '', header + chunk))
  return tunes


def parse_abc_tune(text, source, number, title):
  """One ABC tune's text as a Melody with id '<source>#X:<number>'; errors name the tune."""
  label = f"tune X:{number}{f' {title!r}' if title else ''}"
  use_private_scratch()
  try:
    score = abc_score(lead_sheet.readable_abc(text))
  except Exception as error:  # music21 raises many types on bad ABC
    raise UnreadableFileError(f'{source}: {label} cannot be parsed as ABC ({error})') from error
  melody = melody_from_score(score, source, tune_id=f'{source}#X:{number}', title=title,
                             label=label, in_place=True)
  melody.header = lead_sheet.abc_header(text)
  melody.clef = lead_sheet.abc_clef(text)
  for name in unknown_abc_keys(text):
    melody.counts[UNKNOWN_KEYS] += 1
    melody.warnings.append(f'warning: {source}: {label} has an unknown key K:{name} '
                           '(read as C major, no sharps or flats)')
  return melody


class _UnbeamedPart(stream.Part):
  """A Part whose makeBeams does nothing, for melodies read from ABC.

  music21's ABC translator beams every part it builds, and Part.makeBeams looks the time
  signature up in the whole part for every bar and sets stems by the clef: 8 of the 11 s
  it takes to read a 4,000-note tune, quadratic in its length. A melody keeps pitches,
  durations and bars only, so the beams would be thrown away.
  """

  def makeBeams(self, *, inPlace=False, **keywords):  # pylint: disable=invalid-name
    del keywords
    return None if inPlace else self


def abc_score(text):
  """The music21 Score of an ABC tune, as converter.parse(text, format='abc') reads it, unbeamed.

  The same steps as music21's ABC converter (tokens, one part per voice, the translator's
  bars, repeats, ties and tuplets), with each part built as an _UnbeamedPart. Text that
  holds several X: tunes gives the first (lowest-numbered) one.
  """
  handler = abcFormat.ABCFile().readstr(text)
  if handler.definesReferenceNumbers():
    handler = sorted(handler.splitByReferenceNumber().items())[0][1]
  voices = handler.splitByVoice()
  # As abcToStreamScore: the tokens before the first V: field go with every voice.
  handlers = voices if len(voices) == 1 else [voices[0] + voice for voice in voices[1:]]
  score = stream.Score()
  for part_handler in handlers:
    part = abcFormat.translate.abcToStreamPart(part_handler, _UnbeamedPart())
    _inline_meters(part_handler, part)
    score.coreInsert(0, part)
  score.coreElementsChanged()
  return score


def _inline_meters(handler, part):
  """Puts the meter changes written inline ([M:2/4]) on their measures: music21's reader
  parses their tokens but sets no time signature from them."""
  if not handler.definesMeasures():
    return
  bars = [bar for bar in abcFormat.mergeLeadingMetaData(handler.splitByMeasure())
          if bar.hasNotes()]
  measures = list(part.getElementsByClass('Measure'))
  if len(bars) != len(measures):
    return
  for bar, measure in zip(bars[1:], measures[1:]):
    for token in bar.tokens:
      stated = re.fullmatch(r'\[M:\s*(\d+/\d+)\s*\]', str(getattr(token, 'src', '')))
      if stated:
        try:
          measure.timeSignature = meter.TimeSignature(stated.group(1))
        except Exception:  # music21 refuses an odd meter: the bar keeps its length
          pass


def unknown_abc_keys(text):
  """The values of K: fields (header lines and inline [K:...]) that are no ABC key."""
  found = re.findall(r'(?m)^K:(.*)$', text) + re.findall(r'\[K:([^\]]*)\]', text)
  unknown = []
  for value in found:
    value = value.split('%', 1)[0].strip()
    if value and not _ABC_KEY.match(value):
      unknown.append(value)
  return unknown


def read_text(path):
  """A text file's contents; raises UnreadableFileError naming the file."""
  try:
    with open(path, encoding='utf-8', errors='replace') as f:
      return f.read()
  except OSError as error:
    raise UnreadableFileError(f'{path}: cannot be read ({error.strerror})') from error


def read_abc(path):
  """Every tune of an ABC file as a Melody (raises on the first tune that fails)."""
  tunes = split_abc(read_text(path))
  if not tunes:
    raise NoNotesError(f'{path}: holds no ABC tune (no X: line)')
  return [parse_abc_tune(text, path, number, title) for number, title, text in tunes]


def read_score(path):
  """A MIDI or MusicXML file's top line as a Melody.

  A MIDI file cut short is read up to the cut, with a warning (in `warnings` and
  `counts[TRUNCATED_MIDI]`): the notes before the cut are the melody as far as it
  goes, and the warning says that the rest is missing. A compressed MusicXML file that
  unpacks beyond MAX_UNPACKED_BYTES is refused.
  """
  if not os.path.isfile(path):
    raise UnreadableFileError(f'{path}: no such file')
  if os.path.getsize(path) == 0:
    raise UnreadableFileError(f'{path}: the file is empty')
  suffix = os.path.splitext(str(path))[1].lower()
  if suffix == '.mxl' or (suffix in MUSICXML_SUFFIXES and zipfile.is_zipfile(path)):
    check_archive_size(path)
  use_private_scratch()
  midi = suffix in MIDI_SUFFIXES
  # A MIDI file's onsets and lengths are read on the duration grid's written places
  # (32nds and 16th-note triplets), so that a run of 16th-note triplets stays a run and
  # is not merged into chords on music21's default grid of 16ths and 8th-note triplets.
  options = dict(quantizePost=True, quarterLengthDivisors=(8, 6)) if midi else {}
  try:
    # forceSource: never load a parse cache (pickles) for a user's file.
    score = converter.parse(path, forceSource=True, **options)
  except Exception as error:  # music21 raises many types on corrupt files
    raise UnreadableFileError(f'{path}: cannot be parsed ({error})') from error
  info = score.metadata
  title = (info.title or info.movementName or '') if info is not None else ''
  name = os.path.splitext(os.path.basename(path))[0]
  cut = midi_truncation(path) if midi else None
  clefs = [] if midi else score.flatten().getElementsByClass(clef.Clef)
  try:
    melody = melody_from_score(score, path, tune_id=name, title=title or '', in_place=True)
  except NoNotesError as error:
    if cut:
      raise NoNotesError(f'{path}: the MIDI file is cut short ({cut}) before its first '
                         'note') from error
    raise
  if midi:
    # A MIDI file's silence before its end of track is no rest of the tune beyond the
    # bar its last note ends in.
    if melody.end is not None:
      bar_end = melody.onsets[-1] - melody.beats[-1] + melody.bar_lengths[-1]
      melody.end = max(melody.onsets[-1] + melody.lengths[-1], min(melody.end, bar_end))
      if melody.end == melody.onsets[-1] + melody.lengths[-1]:
        melody.end = None
    # MIDI has pitches, not their names; a key is chosen once, here, so that every copy
    # of the melody (as it was, restyled) is written in the same key.
    melody.spellings = []
    if melody.key is None:
      melody.key = lead_sheet.key_for(melody.pitches, melody.durations())
  else:
    melody.clef = lead_sheet.clef_name(clefs[0]) if clefs else None
    composer = info.composer if info is not None else None
    if composer:
      melody.header = [('composer', composer)]
  if cut:
    melody.counts[TRUNCATED_MIDI] += 1
    melody.warnings.append(
        f'warning: {path}: the MIDI file is cut short ({cut}); read the {len(melody)} '
        f'note{"s" if len(melody) != 1 else ""} before the cut, the rest is missing')
  return melody


def midi_truncation(path):
  """How a Standard MIDI File is cut short, in words, or None when it is whole.

  Read from the chunk lengths: each track chunk states its length, and the header states
  the number of tracks, so a file that ends early is known without parsing an event.
  """
  with open(path, 'rb') as f:
    data = f.read()
  if data[:4] != b'MThd' or len(data) < 14:
    return None  # not a MIDI file: music21 says so
  header_length, = struct.unpack('>I', data[4:8])
  tracks, = struct.unpack('>H', data[10:12])
  position, found = 8 + header_length, 0
  while position + 8 <= len(data):
    length, = struct.unpack('>I', data[position + 4:position + 8])
    if position + 8 + length > len(data):
      return (f'track {found + 1} of {tracks} states {length} bytes, '
              f'{len(data) - position - 8} are there')
    if data[position:position + 4] == b'MTrk':
      found += 1
    position += 8 + length
  if found < tracks:
    return f'{found} of {tracks} tracks are there'
  return None


def check_archive_size(path, limit=MAX_UNPACKED_BYTES):
  """Raises UnreadableFileError for a zip (.mxl) that unpacks beyond `limit` bytes.

  Checked from the archive's directory before anything is unpacked; Python's zipfile
  stops at the stated size of each member, so a directory that lies cannot get past it.
  """
  try:
    with zipfile.ZipFile(path) as archive:
      unpacked = sum(info.file_size for info in archive.infolist())
  except (zipfile.BadZipFile, OSError) as error:
    raise UnreadableFileError(f'{path}: not a readable compressed MusicXML file '
                              f'({error})') from error
  if unpacked > limit:
    raise UnreadableFileError(
        f'{path}: unpacks to {unpacked / 2**20:.0f} MiB, more than the '
        f'{limit / 2**20:.0f} MiB a compressed MusicXML score may hold')


@functools.lru_cache(maxsize=None)
def use_private_scratch():
  """Points music21's scratch folder to one only this user can write; returns it.

  By default music21 keeps its parse cache as pickles in <system temp>/music21, a folder
  that another local user can create first and fill with pickles that music21 would load.
  A folder the user set in music21's own settings is kept.
  """
  settings = environment.Environment()
  if settings['directoryScratch'] is not None:
    return str(settings['directoryScratch'])
  cache = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  folder = os.path.join(cache, 'stylexfer', 'music21')
  try:
    os.makedirs(folder, mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()):
      raise PermissionError(f'{folder} is not a folder of this user')
    os.chmod(folder, 0o700)
  except (OSError, AttributeError):
    folder = tempfile.mkdtemp(prefix='stylexfer-music21-')  # 0700, new and ours
  settings['directoryScratch'] = folder
  return folder


def read_melodies(path):
  """Every melody in a file, chosen by its suffix: ABC (many tunes), MIDI or MusicXML."""
  suffix = os.path.splitext(str(path))[1].lower()
  if suffix in ABC_SUFFIXES:
    return read_abc(path)
  if suffix in MIDI_SUFFIXES + MUSICXML_SUFFIXES:
    return [read_score(path)]
  raise UnreadableFileError(
      f'{path}: unknown melody format {suffix!r} (use ABC, MIDI or MusicXML)')


class NoSuchTuneError(MelodyError):
  """An ABC file holds no tune at the position or with the title asked for."""


_MAX_TUNES_LISTED = 6


def _describe(tunes):
  listed = ', '.join(f'{i} {title!r}' if title else str(i)
                     for i, (_, title, _) in enumerate(tunes[:_MAX_TUNES_LISTED], 1))
  more = ', ...' if len(tunes) > _MAX_TUNES_LISTED else ''
  return f'{len(tunes)} tune{"s" if len(tunes) != 1 else ""}: {listed}{more}'


def choose_tune(tunes, tune, path):
  """The (number, title, text) of an ABC file's tune chosen by position or title."""
  if tune is None or not str(tune).strip():
    return tunes[0]
  tune = str(tune).strip()
  if tune.isdigit():
    if 1 <= int(tune) <= len(tunes):
      return tunes[int(tune) - 1]
    raise NoSuchTuneError(f'{path}: there is no tune {tune} (the file holds '
                          f'{_describe(tunes)})')
  wanted = tune.casefold()
  for match in (lambda title: title.casefold() == wanted,
                lambda title: wanted in title.casefold()):
    found = [t for t in tunes if match(t[1])]
    if found:
      return found[0]
  raise NoSuchTuneError(f'{path}: no tune is titled {tune!r} (the file holds '
                        f'{_describe(tunes)})')


def find_tune(path, tune=None):
  """Checks a request for a melody without parsing music: the file, and which tune.

  Returns the ABC tune that `tune` chooses (number, title, text), or None for a MIDI or
  MusicXML file, which holds one melody. Raises a MelodyError that names the file and
  the problem.
  """
  if not os.path.exists(path):
    raise UnreadableFileError(f'{path}: no such file')
  if os.path.isdir(path):
    raise UnreadableFileError(f'{path}: is a folder, not a melody file')
  if os.path.getsize(path) == 0:
    raise UnreadableFileError(f'{path}: the file is empty')
  if os.path.splitext(path)[1].lower() in ABC_SUFFIXES:
    tunes = split_abc(read_text(path))
    if not tunes:
      raise NoNotesError(f'{path}: holds no ABC tune (no X: line)')
    return choose_tune(tunes, tune, path)
  if tune is not None and str(tune).strip() not in ('', '1'):
    raise NoSuchTuneError(f'{path}: a tune is chosen among the tunes of an ABC file; '
                          'this file holds one melody')
  return None


def read_melody(path, tune=None):
  """One melody from a file: an ABC file's tune chosen by `tune` (position or title).

  Raises a MelodyError that names the file and the problem.
  """
  chosen = find_tune(path, tune)
  if chosen is not None:
    number, title, text = chosen
    return parse_abc_tune(text, path, number, title)
  return read_melodies(path)[0]


def polyphony_warning(melody):
  """A one-line warning when the melody was reduced to its top line, else None."""
  if not melody.counts.get(POLYPHONIC):
    return None
  dropped = (melody.counts.get(CHORD_NOTES, 0) +
             melody.counts.get(SIMULTANEOUS_NOTES, 0))
  return (f'warning: {melody.source}: the music is polyphonic; kept its top line '
          f'({dropped} lower note{"s" if dropped != 1 else ""} dropped)')
