"""Writes a melody as MIDI, MusicXML, ABC, an engraved score (SVG, PNG) and audio (WAV).

The melody is a stylexfer.writers.notation.Tune: its bars, ties, rests and repeats are cut there,
so every format shows the same bars. MusicXML and the engraved score come from a music21
score built once (`to_score`); MIDI and audio play the notation's performance (repeats
played out, eighths swung for jazz).
"""

import copy
import os
import re

from music21 import duration as m21_duration
from music21 import bar, beam, key, metadata, meter, note, spanner, stream, tie

from stylexfer.writers import abc_writer
from stylexfer import atomic
from stylexfer.writers import audio
from stylexfer.writers import midi_writer
from stylexfer.writers import notation

Fraction = notation.Fraction
Tune = notation.Tune


def to_score(tune, sharps=None):
  """A music21 Score of one part with bars, ties, rests, repeats, key and meters."""
  sharps = notation.estimate_key(tune) if sharps is None else sharps
  part = stream.Part(id='melody')
  pieces_per_bar = notation.bars(tune)
  starts = tune.bar_starts(tune.pickup + tune.quarters)
  meters = notation.meter_changes(tune, len(pieces_per_bar))
  in_force = notation.meters(tune, len(pieces_per_bar))
  measures = []
  signature = None
  for index, pieces in enumerate(pieces_per_bar):
    measure = stream.Measure(number=index if tune.pickup else index + 1)
    if index == 0:
      signature = meter.TimeSignature(tune.time_signature)
      measure.append(signature)
      measure.append(key.KeySignature(sharps))
      measure.paddingLeft = float(tune.pickup)
    elif index in meters:
      signature = meter.TimeSignature(meters[index])
      measure.append(signature)
    if index and tune.bar_length_at(index) < in_force[index]:
      # An incomplete bar: without its padding a writer fills it with rests.
      measure.paddingRight = float(in_force[index] - tune.bar_length_at(index))
    offset = Fraction(0)
    for piece in pieces:
      if piece.pitch is None:
        written = note.Rest()
      else:
        written = note.Note(notation.spell(piece.pitch, sharps))
      written.duration = m21_duration.Duration(piece.quarters)
      if piece.tie:
        written.tie = tie.Tie(piece.tie)
      measure.insert(offset, written)
      offset += piece.quarters
    _beams(measure, signature)
    _bar_lines(measure, tune.marks.get(index, {}), index == len(pieces_per_bar) - 1)
    part.insert(max(starts[index], tune.pickup) - tune.pickup, measure)
    measures.append(measure)
  _endings(part, measures, tune.marks)
  part.makeAccidentals(inPlace=True)
  _same_spelling_in_ties(part)
  part.streamStatus.beams = True
  score = stream.Score([part])
  score.insert(0, metadata.Metadata(title=tune.title or 'Melody'))
  return score


def _beams(measure, signature):
  """Beams a bar's notes by its time signature, as music21's makeBeams does.

  Measure.makeBeams looks the time signature and the clef up in the whole part for
  every bar (a search over the part each time: 37 of 74 s for 2,000 notes); here the
  signature in force is known. Stems are left to the engraver, as makeBeams leaves them
  in a part without a clef.
  """
  notes = list(measure.notesAndRests)
  measure.streamStatus.beams = True
  if len(notes) <= 1:
    return
  bar_quarters = signature.barDuration.quarterLength
  if sum(n.quarterLength for n in notes) > bar_quarters:
    return  # overfull: makeBeams leaves such a bar unbeamed too
  if measure.paddingLeft:
    offset = measure.paddingLeft
  elif measure.paddingRight:
    offset = 0.0
  else:
    filled = sum(n.quarterLength for n in notes)
    offset = bar_quarters - filled if filled < bar_quarters else 0.0
  for written, beams in zip(notes, signature.getBeams(notes, measureStartOffset=offset)):
    written.beams = beams if beams is not None else beam.Beams()


def _bar_lines(measure, mark, last):
  if mark.get('left') == 'repeat':
    measure.leftBarline = bar.Repeat(direction='start')
  elif mark.get('left') == 'double':
    measure.leftBarline = bar.Barline('double')
  if mark.get('right') == 'repeat':
    measure.rightBarline = bar.Repeat(direction='end')
  elif mark.get('right') == 'double' and not last:
    measure.rightBarline = bar.Barline('double')
  elif last or mark.get('right') == 'final':
    measure.rightBarline = bar.Barline('final')


def _endings(part, measures, marks):
  """First and second endings as music21 repeat brackets over their bars."""
  runs = []
  for index, measure in enumerate(measures):
    ending = marks.get(index, {}).get('ending')
    if ending and runs and runs[-1][0] == ending and runs[-1][1][-1] is measures[index - 1]:
      runs[-1][1].append(measure)
    elif ending:
      runs.append((ending, [measure]))
  for ending, run in runs:
    part.insert(0, spanner.RepeatBracket(run, number=ending))


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


def write_midi(tune, path, tempo=120):
  """The tune as played (repeats, swing) as a MIDI file at `path`; returns the path."""
  return midi_writer.write_midi(notation.performance(tune), path, tempo, tune.title)


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

  PNG is skipped (absent from the result) when no rasterizer is installed. Each file is
  written under a temporary name and renamed into place, so a full disk or a kill leaves
  no partial file; a place that cannot be written raises atomic.OutputError naming it.
  """
  formats = formats or ('mid', 'musicxml', 'abc', 'svg', 'png', 'wav')
  atomic.make_folder(out_dir)
  base = os.path.join(out_dir, stem)
  score = to_score(tune)
  played = notation.performance(tune)
  written = {}
  if 'mid' in formats:
    with atomic.replace_with(base + '.mid') as temporary:
      midi_writer.write_midi(played, temporary, tempo, tune.title)
    written['mid'] = base + '.mid'
  if {'musicxml', 'svg', 'png'} & set(formats):
    with atomic.replace_with(base + '.musicxml') as temporary:
      write_musicxml(score, temporary)
    written['musicxml'] = base + '.musicxml'
  if 'abc' in formats:
    text = abc_writer.to_abc(tune, sharps=score.parts[0].recurse().getElementsByClass(
        key.KeySignature)[0].sharps, tempo=tempo)
    written['abc'] = atomic.write_text(base + '.abc', text)
  if {'svg', 'png'} & set(formats):
    with atomic.replace_with(base + '.svg') as temporary:
      svg = render_svg(written['musicxml'], temporary)
    written['svg'] = base + '.svg'
    if 'png' in formats:
      with atomic.replace_with(base + '.png') as temporary:
        if not svg_to_png(svg, temporary):
          raise atomic.Discard  # no rasterizer: no PNG rather than an empty one
        written['png'] = base + '.png'
  if 'wav' in formats:
    with atomic.replace_with(base + '.wav') as temporary:
      audio.write_wav(played, temporary, tempo=tempo,
                      soundfont=soundfont, midi_path=written.get('mid'),
                      synthesizer=synthesizer)
    written['wav'] = base + '.wav'
  return written
