"""Writes a melody as MIDI, MusicXML, ABC, an engraved score (SVG, PNG) and audio (WAV).

A `Tune` is what the command line programs produce: MIDI pitches, inter-onset durations
in quarter notes (each note sounds until the next one starts), a time signature and the
first note's offset in its bar (a pickup). Bars are cut here, from those alone, so the
bar lines always fit the rhythm that was written: a note that crosses a bar line is split
into notes tied over it, and every piece is a value a score can show (plain, dotted or
triplet; anything else is split again into tied pieces).
"""

import copy
import dataclasses
import fractions
import math
import os
import re

from music21 import duration as m21_duration
from music21 import bar, key, metadata, meter, note, pitch as m21_pitch, stream, tie

from stylexfer import abc_writer
from stylexfer import audio

Fraction = fractions.Fraction

# Single note values a score can show: 2^k quarters plain, dotted or double dotted, and
# triplet values (2/3 of a plain one); each family is filled greedily on its own.
_PLAIN = sorted({shape * Fraction(2) ** k for shape in (Fraction(7, 4), Fraction(3, 2), 1)
                 for k in range(-6, 4)}, reverse=True)
_TRIPLET = sorted({Fraction(2, 3) * Fraction(2) ** k for k in range(-6, 4)}, reverse=True)
_NOTATABLE = sorted(set(_PLAIN) | set(_TRIPLET), reverse=True)


@dataclasses.dataclass
class Tune:
  """A monophonic melody ready to write: every note sounds for its inter-onset duration."""
  pitches: list          # MIDI pitch numbers
  durations: list        # quarter notes (Fractions), one per note
  time_signature: str = '4/4'
  pickup: Fraction = Fraction(0)  # the first note's offset in its bar, in quarter notes
  title: str = ''

  def __post_init__(self):
    self.pitches = [int(p) for p in self.pitches]
    self.durations = [_fraction(d) for d in self.durations]
    self.pickup = _fraction(self.pickup) % self.bar_length

  @property
  def bar_length(self):
    return _fraction(meter.TimeSignature(self.time_signature).barDuration.quarterLength)

  @property
  def quarters(self):
    """Length from the first onset to the end of the last note, in quarter notes."""
    return sum(self.durations, Fraction(0))


def _fraction(value):
  return Fraction(value).limit_denominator(10080)


def notatable_pieces(quarters):
  """A duration split into values a score can show (plain, dotted or triplet), longest first.

  A duration in triplet time is written with triplet values (5/6 = 2/3 + 1/6); one that
  is neither gets a plain part and a triplet part, never a run of the tiniest values.
  """
  quarters = _fraction(quarters)
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
  denominator = _fraction(value).denominator
  return denominator & (denominator - 1) == 0


@dataclasses.dataclass
class Piece:
  """One written note: part of a melody note, inside one bar."""
  pitch: int
  quarters: Fraction
  bar: int          # 0-based bar index (bar 0 is the pickup bar when there is one)
  tie: str = ''     # '', 'start', 'continue' or 'stop'


def bars(tune):
  """The tune's notes split at bar lines and into notatable values: a list of bars of Pieces."""
  length, position = tune.bar_length, tune.pickup
  bars_out = [[]]
  for pitch_value, quarters in zip(tune.pitches, tune.durations):
    chunks = []
    remaining = quarters
    while remaining > 0:
      index = int(position // length)
      room = (index + 1) * length - position
      take = min(room, remaining)
      chunks += [(index, value) for value in notatable_pieces(take)]
      position += take
      remaining -= take
    for k, (index, value) in enumerate(chunks):
      tie_type = '' if len(chunks) == 1 else (
          'start' if k == 0 else 'stop' if k == len(chunks) - 1 else 'continue')
      while len(bars_out) <= index:
        bars_out.append([])
      bars_out[index].append(Piece(pitch_value, value, index, tie_type))
  return bars_out


def estimate_key(tune):
  """The key signature (sharps, negative for flats) that best fits the tune's pitches."""
  part = stream.Part([note.Note(p, quarterLength=float(d))
                      for p, d in zip(tune.pitches, tune.durations)])
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


def to_score(tune, sharps=None):
  """A music21 Score of one part with bars, ties, key and time signature."""
  sharps = estimate_key(tune) if sharps is None else sharps
  length = tune.bar_length
  part = stream.Part(id='melody')
  pieces_per_bar = bars(tune)
  for index, pieces in enumerate(pieces_per_bar):
    measure = stream.Measure(number=index if tune.pickup else index + 1)
    start = max(index * length, tune.pickup)
    if index == 0:
      measure.append(meter.TimeSignature(tune.time_signature))
      measure.append(key.KeySignature(sharps))
      measure.paddingLeft = float(tune.pickup)
    offset = Fraction(0)
    for piece in pieces:
      written = note.Note(spell(piece.pitch, sharps))
      written.duration = m21_duration.Duration(piece.quarters)
      if piece.tie:
        written.tie = tie.Tie(piece.tie)
      measure.insert(offset, written)
      offset += piece.quarters
    if index == len(pieces_per_bar) - 1:
      measure.rightBarline = bar.Barline('final')
    part.insert(start - tune.pickup, measure)
  part.makeAccidentals(inPlace=True)
  _same_spelling_in_ties(part)
  for measure in part.getElementsByClass(stream.Measure):
    measure.makeBeams(inPlace=True)
  score = stream.Score([part])
  score.insert(0, metadata.Metadata(title=tune.title or 'Melody'))
  return score


def _same_spelling_in_ties(part):
  """Gives every tied continuation its first note's accidental, shown only on the first.

  makeAccidentals can give a continuation a natural sign that its first note lacks;
  music21 then reads them as different pitches, and stripTies(matchByPitch=True) breaks
  the chain at a 'continue'.
  """
  head = None
  for written in part.recurse().notes:
    if written.tie is None or written.tie.type == 'start':
      head = written
      continue
    if head is not None:
      accidental = copy.deepcopy(head.pitch.accidental)
      if accidental is not None:
        accidental.displayStatus = False
      written.pitch.accidental = accidental


def write_midi(score, path, tempo=120):
  from music21 import tempo as m21_tempo  # pylint: disable=g-import-not-at-top
  copy = score.__deepcopy__()
  copy.parts[0].measure(copy.parts[0].getElementsByClass(stream.Measure)[0].number).insert(
      0, m21_tempo.MetronomeMark(number=tempo))
  copy.write('midi', fp=path)
  return path


def write_musicxml(score, path):
  score.write('musicxml', fp=path)
  return path


def render_svg(musicxml_path, svg_path, page_width=2100):
  """Engraves a MusicXML file with Verovio into one SVG page; returns the SVG text."""
  import verovio  # pylint: disable=g-import-not-at-top
  verovio.enableLog(verovio.LOG_OFF)
  toolkit = verovio.toolkit()
  toolkit.setOptions({'pageWidth': page_width, 'pageHeight': 60000, 'adjustPageHeight': True,
                      'scale': 40, 'footer': 'none', 'header': 'auto', 'breaks': 'auto'})
  if not toolkit.loadFile(os.fspath(musicxml_path)):
    raise RuntimeError(f'verovio could not read {musicxml_path}')
  svg = toolkit.renderToSVG(1)
  with open(svg_path, 'w', encoding='utf-8') as f:
    f.write(svg)
  return svg


def svg_to_png(svg, png_path, width=1600):
  """Rasterizes SVG text to PNG with resvg-py or CairoSVG; returns None when neither works."""
  try:
    import resvg_py  # pylint: disable=g-import-not-at-top
    data = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width, background='white'))
  except Exception:  # not installed, or a build without this platform's wheel
    try:
      import cairosvg  # pylint: disable=g-import-not-at-top
      data = cairosvg.svg2png(bytestring=svg.encode('utf-8'), output_width=width,
                              background_color='white')
    except Exception:  # no cairosvg, or no libcairo on this machine
      return None
  with open(png_path, 'wb') as f:
    f.write(data)
  return png_path


def slug(text):
  """A file-name-safe version of a title."""
  return re.sub(r'[^A-Za-z0-9]+', '-', text).strip('-').lower() or 'melody'


def write_all(tune, out_dir, stem, tempo=120, soundfont=None, formats=None,
              synthesizer='auto'):
  """Writes <stem>.mid/.musicxml/.abc/.svg/.png/.wav under out_dir; returns {format: path}.

  PNG is skipped (absent from the result) when no rasterizer is installed.
  """
  formats = formats or ('mid', 'musicxml', 'abc', 'svg', 'png', 'wav')
  os.makedirs(out_dir, exist_ok=True)
  base = os.path.join(out_dir, stem)
  score = to_score(tune)
  written = {}
  if 'mid' in formats:
    written['mid'] = write_midi(score, base + '.mid', tempo)
  if {'musicxml', 'svg', 'png'} & set(formats):
    written['musicxml'] = write_musicxml(score, base + '.musicxml')
  if 'abc' in formats:
    with open(base + '.abc', 'w', encoding='utf-8') as f:
      f.write(abc_writer.to_abc(tune, sharps=score.parts[0].recurse().getElementsByClass(
          key.KeySignature)[0].sharps, tempo=tempo))
    written['abc'] = base + '.abc'
  if {'svg', 'png'} & set(formats):
    svg = render_svg(written['musicxml'], base + '.svg')
    written['svg'] = base + '.svg'
    if 'png' in formats and svg_to_png(svg, base + '.png'):
      written['png'] = base + '.png'
  if 'wav' in formats:
    written['wav'] = audio.write_wav(tune.pitches, tune.durations, base + '.wav', tempo=tempo,
                                     soundfont=soundfont, midi_path=written.get('mid'),
                                     synthesizer=synthesizer)
  return written
