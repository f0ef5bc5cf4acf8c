"""Writes a melody as MusicXML (3.1, partwise) that notation programs open without a message.

Written from the tune's bars (stylexfer.writers.measures.bars) element by element,
rather than through music21's exporter, which would choose the tuplet brackets itself
(over two beats and mixed values), name music21 as the composer, mark a pickup as a
full bar and leave the part without a name, an instrument or a clef. What is written:
the title and the input's header (composer as a creator, the others as miscellaneous
fields), a part named after its instrument with the MIDI program the MIDI file plays, the
key, meter and clef, the tempo as a metronome mark and a sound tempo, chord symbols as
harmony, a pickup as an implicit measure 0, repeat signs, labelled endings, double and
final bars, ties, accidentals as a score shows them, beams by beat and one tuplet
bracket per beat of triplets.
"""

import datetime
import fractions
import math
import xml.etree.ElementTree as ET

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.writers import beaming
from stylexfer.writers import measures
from stylexfer.writers import spelling
from stylexfer.writers import time_signatures

Fraction = fractions.Fraction

PART_ID, INSTRUMENT_ID = 'P1', 'P1-I1'
# What the MIDI file plays (stylexfer.writers.midi_writer): General MIDI program 1,
# counted from 1 as MusicXML counts it.
INSTRUMENT = ('Piano', 1)
_TYPES = {Fraction(8): 'breve', Fraction(4): 'whole', Fraction(2): 'half', Fraction(1): 'quarter',
          Fraction(1, 2): 'eighth', Fraction(1, 4): '16th', Fraction(1, 8): '32nd',
          Fraction(1, 16): '64th', Fraction(1, 32): '128th'}
_ACCIDENTALS = {-2: 'flat-flat', -1: 'flat', 0: 'natural', 1: 'sharp', 2: 'double-sharp'}
_MODES = ('major', 'minor', 'dorian', 'phrygian', 'lydian', 'mixolydian', 'aeolian',
          'ionian', 'locrian')


def note_type(written):
  """(MusicXML type, dots) of a written value in quarter notes; None when it is no value."""
  base = Fraction(2) ** math.floor(math.log2(written))
  dots, rest, add = 0, written - base, base / 2
  while rest >= add and dots < 3:
    rest, dots, add = rest - add, dots + 1, add / 2
  if rest or base not in _TYPES:
    return None
  return _TYPES[base], dots


def _sub(parent, tag, content=None, **attributes):
  """A child element: its text `content`, attributes by name ('font_size': font-size)."""
  element = ET.SubElement(parent, tag, {k.replace('_', '-'): str(v)
                                        for k, v in attributes.items()})
  if content is not None:
    element.text = str(content)
  return element


def musicxml_bytes(tune, bars=None):
  """The MusicXML document of a notation.Layout, as bytes; `bars` are measures.bars(tune)
  when the caller has them already."""
  bars = measures.bars(tune) if bars is None else bars
  meters = time_signatures.meter_changes(tune, len(bars))
  in_force = time_signatures.signatures(tune, len(bars))
  divisions = math.lcm(*[piece.quarters.denominator for pieces in bars for piece in pieces],
                       *[tune.bar_length_at(i).denominator for i in range(len(bars))])
  root = ET.Element('score-partwise', version='3.1')
  _header(root, tune)
  part = _sub(root, 'part', id=PART_ID)
  unit = time_signatures.tuplet_unit(tune.time_signature)
  pitches = spelling.written_pitches(bars, tune.key.sharps)
  for index, pieces in enumerate(bars):
    measure = _sub(part, 'measure', number=index if tune.pickup else index + 1)
    if index == 0 and tune.pickup:
      measure.set('implicit', 'yes')
    mark = tune.marks.get(index, {})
    _left_bar_line(measure, mark, tune.marks.get(index - 1, {}))
    if index == 0 or index in meters:
      attributes = _sub(measure, 'attributes')
      if index == 0:
        _sub(attributes, 'divisions', divisions)
        key = _sub(attributes, 'key')
        _sub(key, 'fifths', tune.key.sharps)
        if tune.key.mode in _MODES:
          _sub(key, 'mode', tune.key.mode)
      beats, beat_type = (meters.get(index) or tune.time_signature).split('/')
      time = _sub(attributes, 'time')
      _sub(time, 'beats', beats)
      _sub(time, 'beat-type', beat_type)
      if index == 0:
        sign, line, octave = lead_sheet.CLEFS[tune.clef]
        clef = _sub(attributes, 'clef')
        _sub(clef, 'sign', sign)
        _sub(clef, 'line', line)
        if octave:
          _sub(clef, 'clef-octave-change', octave)
        if tune.tempo:
          _tempo(measure, tune)
    whole_bar = measures.whole_bar_rest(pieces, tune.bar_length_at(index),
                                        melody_lib.signature_length(in_force[index]))
    beams = _beams(pieces, in_force[index])
    for piece, (pitch, shown), beam in zip(pieces, pitches[index], beams):
      for text in piece.chords:
        _harmony(measure, text)
      _note(measure, piece, pitch, shown, beam, divisions, unit, whole_bar)
    _right_bar_line(measure, mark, tune.marks.get(index + 1, {}), index == len(bars) - 1)
  ET.indent(root, '  ')
  return (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
          b'<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 3.1 Partwise//EN" '
          b'"http://www.musicxml.org/dtds/partwise.dtd">\n'
          + ET.tostring(root, encoding='utf-8') + b'\n')


def write_musicxml(tune, path, bars=None):
  """Writes musicxml_bytes(tune, bars) to `path`; returns the path."""
  with open(path, 'wb') as f:
    f.write(musicxml_bytes(tune, bars))
  return path


def _header(root, tune):
  """Title, creator, encoding, the other header fields, credits and the part list."""
  title = ' '.join((tune.title or '').split())
  if title:
    _sub(_sub(root, 'work'), 'work-title', title)
    _sub(root, 'movement-title', title)
  identification = _sub(root, 'identification')
  fields = [(name, value) for name, value in tune.header if value]
  for name, value in fields:
    if name == 'composer':
      _sub(identification, 'creator', value, type='composer')
  encoding = _sub(identification, 'encoding')
  _sub(encoding, 'software', 'stylexfer')
  _sub(encoding, 'encoding-date', datetime.date.today().isoformat())
  others = [(name, value) for name, value in fields if name != 'composer']
  if others:
    miscellaneous = _sub(identification, 'miscellaneous')
    for name, value in others:
      _sub(miscellaneous, 'miscellaneous-field', value, name=name)
  # The title centred at the top, the composer on the right under it.
  credits = [('title', title, 'center', 'top', 24)] + [
      ('composer', value, 'right', 'bottom', 12)
      for name, value in fields if name == 'composer']
  for kind, text, justify, valign, size in credits:
    if text:
      credit = _sub(root, 'credit', page=1)
      _sub(credit, 'credit-type', kind)
      _sub(credit, 'credit-words', text, justify=justify, valign=valign, font_size=size)
  part_list = _sub(root, 'part-list')
  score_part = _sub(part_list, 'score-part', id=PART_ID)
  name, program = INSTRUMENT
  _sub(score_part, 'part-name', name, print_object='no')
  instrument = _sub(score_part, 'score-instrument', id=INSTRUMENT_ID)
  _sub(instrument, 'instrument-name', name)
  midi = _sub(score_part, 'midi-instrument', id=INSTRUMENT_ID)
  _sub(midi, 'midi-channel', 1)
  _sub(midi, 'midi-program', program)


def _tempo(measure, tune):
  """A metronome mark in the meter's beat (a dotted quarter in compound time)."""
  direction = _sub(measure, 'direction', placement='above')
  metronome = _sub(_sub(direction, 'direction-type'), 'metronome')
  compound = time_signatures.compound_time(tune.time_signature)
  _sub(metronome, 'beat-unit', 'quarter')
  if compound:
    _sub(metronome, 'beat-unit-dot')
  per_minute = tune.tempo / 1.5 if compound else tune.tempo
  _sub(metronome, 'per-minute', f'{round(per_minute, 1):g}')
  _sub(direction, 'sound', tempo=f'{tune.tempo:g}')


def _harmony(measure, text):
  chord = lead_sheet.chord(text)
  if chord is None:
    return
  harmony = _sub(measure, 'harmony')
  root = _sub(harmony, 'root')
  _sub(root, 'root-step', chord.root)
  if chord.alter:
    _sub(root, 'root-alter', chord.alter)
  _sub(harmony, 'kind', chord.kind, text=chord.kind_text)
  if chord.bass:
    bass = _sub(harmony, 'bass')
    _sub(bass, 'bass-step', chord.bass)
    if chord.bass_alter:
      _sub(bass, 'bass-alter', chord.bass_alter)


def _note(measure, piece, pitch, shown, beam, divisions, unit, whole_bar):
  element = _sub(measure, 'note')
  if pitch is None:
    _sub(element, 'rest', measure='yes') if whole_bar else _sub(element, 'rest')
  else:
    written = _sub(element, 'pitch')
    _sub(written, 'step', pitch.step)
    alter = int(pitch.accidental.alter) if pitch.accidental is not None else 0
    if alter:
      _sub(written, 'alter', alter)
    _sub(written, 'octave', pitch.octave)
  _sub(element, 'duration', int(piece.quarters * divisions))
  ties = {'start': ['start'], 'continue': ['stop', 'start'], 'stop': ['stop']}.get(
      piece.tie, [])
  for kind in ties:
    _sub(element, 'tie', type=kind)
  _sub(element, 'voice', 1)
  shape = note_type(piece.written)
  if shape and not whole_bar:
    _sub(element, 'type', shape[0])
    for _ in range(shape[1]):
      _sub(element, 'dot')
  if pitch is not None and shown:
    alter = int(pitch.accidental.alter) if pitch.accidental is not None else 0
    _sub(element, 'accidental', _ACCIDENTALS[alter])
  normal = None
  if piece.tuplet:
    normal = note_type(piece.tuplet_span / 2) or note_type(unit / 2)
    modification = _sub(element, 'time-modification')
    _sub(modification, 'actual-notes', 3)
    _sub(modification, 'normal-notes', 2)
    _sub(modification, 'normal-type', normal[0])
  for number, kind in beam:
    _sub(element, 'beam', kind, number=number)
  if ties or piece.tuplet in ('start', 'stop', 'only'):
    notations = _sub(element, 'notations')
    for kind in ties:
      _sub(notations, 'tied', type=kind)
    if piece.tuplet in ('start', 'only'):
      tuplet = _sub(notations, 'tuplet', type='start', bracket='yes')
      for tag, number in (('tuplet-actual', 3), ('tuplet-normal', 2)):
        side = _sub(tuplet, tag)
        _sub(side, 'tuplet-number', number)
        _sub(side, 'tuplet-type', normal[0])
    if piece.tuplet in ('stop', 'only'):
      _sub(notations, 'tuplet', type='stop')


def _beams(pieces, time_signature):
  """Per piece, its (beam number, begin|continue|end|forward hook|backward hook) list."""
  beams = [[] for _ in pieces]
  for group in beaming.beam_groups(pieces, time_signature):
    levels = [_beam_count(pieces[i].written) for i in group]
    for level in range(1, max(levels) + 1):
      for k, index in enumerate(group):
        if levels[k] < level:
          continue
        before = k > 0 and levels[k - 1] >= level
        after = k + 1 < len(group) and levels[k + 1] >= level
        if before and after:
          kind = 'continue'
        elif after:
          kind = 'begin'
        elif before:
          kind = 'end'
        else:
          kind = 'backward hook' if k > 0 else 'forward hook'
        beams[index].append((level, kind))
  return beams


def _beam_count(written):
  """Beams of a written value: 1 for an eighth, 2 for a 16th, ... (dots do not count)."""
  base = Fraction(2) ** math.floor(math.log2(written))
  return max(0, -int(math.log2(base)))


def _left_bar_line(measure, mark, before):
  repeat = mark.get('left') == 'repeat'
  double = (mark.get('left') == 'double' and
            before.get('right') not in ('double', 'repeat', 'final'))
  starts_ending = mark.get('ending') and mark.get('ending') != before.get('ending')
  if not (repeat or double or starts_ending):
    return
  line = _sub(measure, 'barline', location='left')
  # Every bar line names its style: MuseScore reports one without ("empty bar type").
  _sub(line, 'bar-style', 'heavy-light' if repeat else 'light-light' if double else 'regular')
  if starts_ending:
    number = mark['ending']
    _sub(line, 'ending', f'{number}.', number=number, type='start')
  if repeat:
    _sub(line, 'repeat', direction='forward')


def _right_bar_line(measure, mark, after, last):
  repeat = mark.get('right') == 'repeat'
  ends_ending = mark.get('ending') and mark.get('ending') != after.get('ending')
  style = ('light-heavy' if repeat or last or mark.get('right') == 'final'
           else 'light-light' if mark.get('right') == 'double' else None)
  if ends_ending:
    # The ending closes in a bar line of its own, before the repeat sign's: LilyPond's
    # musicxml2ly reads the two from one bar line in the wrong order and leaves the
    # repeat sign inside the first ending.
    line = _sub(measure, 'barline', location='right')
    _sub(line, 'bar-style', style if style and not repeat else 'regular')
    _sub(line, 'ending', number=mark['ending'], type='stop' if repeat else 'discontinue')
    if not repeat:
      return
  if style:
    line = _sub(measure, 'barline', location='right')
    _sub(line, 'bar-style', style)
    if repeat:
      _sub(line, 'repeat', direction='backward')
