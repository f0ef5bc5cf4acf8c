"""Scores read as melodies through music21: MIDI and MusicXML files, and the top line of any
music21 score (the ABC reader's too), with its bars, sections, meters, tempo and key.
"""

import collections
import copy
import os
import struct
import zipfile

from music21 import bar as m21_bar
from music21 import chord, clef, converter, harmony, key, meter, note, spanner, tempo

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files

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
        chords.append((melody_lib.fraction(element.offset), text))
      continue  # chord symbols above the melody
    if element.duration.isGrace or element.quarterLength == 0:
      counts[melody_lib.GRACE_NOTES] += 1
      continue
    if isinstance(element, chord.Chord):
      if not element.pitches:
        continue
      counts[melody_lib.CHORD_NOTES] += len(element.pitches) - 1
      highest = max(element.pitches, key=lambda p: p.midi)
    elif isinstance(element, note.Note):
      highest = element.pitch
    else:
      continue  # unpitched percussion
    onset = melody_lib.fraction(element.offset)
    pitch, length = highest.midi, melody_lib.fraction(element.quarterLength)
    if onset in top:
      counts[melody_lib.SIMULTANEOUS_NOTES] += 1
      if pitch <= top[onset][0]:
        continue
    top[onset] = [pitch, length, highest.nameWithOctave]
  if not top:
    raise melody_lib.NoNotesError(f'{source}: {label or "the score"} has no pitched notes')
  if any(count for key, count in counts.items() if key != melody_lib.GRACE_NOTES):
    counts[melody_lib.POLYPHONIC] = 1

  onsets = sorted(top)
  bars, beats, phrases, bar_lengths, marks = _structure(score, onsets)
  flat = score.flatten()
  time_signatures = list(flat.getElementsByClass(meter.TimeSignature))
  time_signature = _pickup_meter(time_signatures, bars, beats, bar_lengths)
  # A rest after the last note is part of the tune.
  last = onsets[-1] + top[onsets[-1]][1]
  end = melody_lib.fraction(score.highestTime)
  marks_of_tempo = flat.getElementsByClass(tempo.MetronomeMark)
  keys = flat.getElementsByClass(key.KeySignature)
  return melody_lib.Melody(
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
  return {int(m.number): melody_lib.signature_text(m.timeSignature) for m in measures[1:]
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
    short = melody_lib.fraction(first.barDuration.quarterLength)
    full = melody_lib.fraction(second.barDuration.quarterLength)
    if (short < full and
        melody_lib.fraction(second.offset) == short + melody_lib.fraction(first.offset)):
      for i, bar in enumerate(bars):
        if bar != bars[0]:
          break
        beats[i] += full - short
        bar_lengths[i] = full
      return melody_lib.signature_text(second)
  return melody_lib.signature_text(first)


def _structure(score, onsets):
  """Bar number, position in the bar, section index and bar length of each onset, and the
  form's bar lines by bar number."""
  parts = score.parts if hasattr(score, 'parts') and score.parts else [score]
  measures = list(parts[0].getElementsByClass('Measure'))
  if not measures:
    # No bar lines (some MIDI files): count bars from the first time signature.
    signatures = score.flatten().getElementsByClass(meter.TimeSignature)
    bar_length = melody_lib.fraction(
        signatures[0].barDuration.quarterLength if signatures else 4)
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
    starts.append(melody_lib.fraction(measure.offset))
    sections.append(section)
  lengths = _bar_lengths(measures, starts, melody_lib.fraction(parts[0].highestTime))
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
      full = lengths[-1] if lengths else melody_lib.fraction(measure.barDuration.quarterLength)
      held = end - starts[i] + padding
      # A pickup is padded on its left by what its complement holds.
      complement = melody_lib.fraction(measures[0].paddingLeft) if len(measures) > 1 else 0
      length = held if complement and held == complement else max(held, full)
    lengths.append(length if length > 0
                   else melody_lib.fraction(measure.barDuration.quarterLength))
  return lengths


def _padding(measures, index):
  """The pickup's missing start of the first bar; none for later bars.

  music21's MusicXML reader pads a short bar inside a tune (the upbeat to a repeated
  section) on its left as if it were a pickup; counting that padding would put the bar's
  notes later than the bar before it ends.
  """
  return melody_lib.fraction(measures[index].paddingLeft) if index == 0 else 0


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


def read_score(path):
  """A MIDI or MusicXML file's top line as a Melody.

  A MIDI file cut short is read up to the cut, with a warning (in `warnings` and
  `counts[TRUNCATED_MIDI]`): the notes before the cut are the melody as far as it
  goes, and the warning says that the rest is missing. A compressed MusicXML file that
  unpacks beyond MAX_UNPACKED_BYTES is refused; its score is scanned for lengths no
  melody has, as a plain one is.
  """
  if not os.path.isfile(path):
    raise melody_lib.UnreadableFileError(f'{path}: no such file')
  if os.path.getsize(path) == 0:
    raise melody_lib.UnreadableFileError(f'{path}: the file is empty')
  suffix = os.path.splitext(str(path))[1].lower()
  if suffix == '.mxl' or (suffix in melody_files.MUSICXML_SUFFIXES
                          and zipfile.is_zipfile(path)):
    melody_files.check_archive_size(path)
  melody_files.use_private_scratch()
  midi = suffix in melody_files.MIDI_SUFFIXES
  # Lengths no melody has are refused before music21 spends hours or gigabytes on them.
  if midi:
    melody_files.check_midi_length(path)
  elif zipfile.is_zipfile(path):
    melody_files.check_musicxml_lengths(path, melody_files.archive_score_text(path))
  else:
    melody_files.check_musicxml_lengths(path, melody_files.read_text(path))
  # A MIDI file's onsets and lengths are read on the duration grid's written places
  # (32nds and 16th-note triplets), so that a run of 16th-note triplets stays a run and
  # is not merged into chords on music21's default grid of 16ths and 8th-note triplets.
  options = dict(quantizePost=True, quarterLengthDivisors=(8, 6)) if midi else {}
  try:
    # forceSource: never load a parse cache (pickles) for a user's file.
    score = converter.parse(path, forceSource=True, **options)
  except Exception as error:  # music21 raises many types on corrupt files
    raise melody_lib.UnreadableFileError(f'{path}: cannot be parsed ({error})') from error
  info = score.metadata
  title = (info.title or info.movementName or '') if info is not None else ''
  name = os.path.splitext(os.path.basename(path))[0]
  cut = midi_truncation(path) if midi else None
  clefs = [] if midi else score.flatten().getElementsByClass(clef.Clef)
  try:
    melody = melody_from_score(score, path, tune_id=name, title=title or '', in_place=True)
  except melody_lib.NoNotesError as error:
    if cut:
      raise melody_lib.NoNotesError(
          f'{path}: the MIDI file is cut short ({cut}) before its first note') from error
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
    melody.counts[melody_lib.TRUNCATED_MIDI] += 1
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
