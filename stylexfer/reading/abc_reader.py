"""ABC tunes read as melodies: a file's tunes, one tune's music, its unknown keys."""

import re

from music21 import abcFormat
from music21 import meter, stream

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.reading import score_reader

# Key names of ABC 2.1 (K: field): a tonic with a mode, 'none', the bagpipe keys, or only
# a clef or explicit accidentals; modes are recognised by their first three letters.
_ABC_KEY = re.compile(
    r'(?:(?:none|HP|Hp)|[A-G][#b]?\s*(?:m|(?:maj|min|ion|aeo|mix|dor|phr|lyd|loc|exp)[a-z]*)?)'
    r'(?=\s|$)|(?=[_^=]|[a-z]+=|(?:treble|bass|alto|tenor|perc)\b)', re.IGNORECASE)

# A meter field, in a line of its own or inline, and an additive meter (M:2+3+2/8,
# M:(2+3+2)/8), whose numerator's digits music21's reader joins into one number (232/8).
_METER_FIELD = re.compile(r'(?m)(^M:|\[M:)([^\]\n%]*)')
_ADDITIVE = re.compile(r'\s*\(?(\d+(?:\s*\+\s*\d+)+)\)?\s*/\s*(\d+)\s*')


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
  melody_files.check_abc_lengths(f'{source}: {label}', text)
  melody_files.use_private_scratch()
  summed, stated = summed_meters(text)
  try:
    score = abc_score(lead_sheet.readable_abc(summed))
    group_meters(score, stated)
  except Exception as error:  # music21 raises many types on bad ABC
    raise melody_lib.UnreadableFileError(
        f'{source}: {label} cannot be parsed as ABC ({error})') from error
  melody = score_reader.melody_from_score(score, source, tune_id=f'{source}#X:{number}',
                                          title=title, label=label, in_place=True)
  melody.header = lead_sheet.abc_header(text)
  melody.style = lead_sheet.style_name(dict(melody.header).get('rhythm', ''))
  melody.clef = lead_sheet.abc_clef(text)
  for name in unknown_abc_keys(text):
    melody.counts[melody_lib.UNKNOWN_KEYS] += 1
    melody.warnings.append(f'warning: {source}: {label} has an unknown key K:{name} '
                           '(read as C major, no sharps or flats)')
  return melody


def summed_meters(text):
  """The tune's text with each additive meter as its sum (M:2+3+2/8 as M:7/8), which
  music21 reads, and what every M: field states, in the text's order ('2+3+2/8', '3/4'),
  for group_meters to put the groupings back."""
  stated = []

  def summed(found):
    additive = _ADDITIVE.fullmatch(found.group(2))
    if not additive:
      stated.append(found.group(2).strip())
      return found.group(0)
    numerators = [int(n) for n in additive.group(1).split('+')]
    stated.append('+'.join(map(str, numerators)) + f'/{additive.group(2)}')
    return f'{found.group(1)}{sum(numerators)}/{additive.group(2)}'

  return _METER_FIELD.sub(summed, text), stated


def group_meters(score, stated):
  """Gives the parsed meters the groupings of the additive ones the text states.

  A part's meters are the M: fields in their order when there are as many and each sum
  matches; else each sum the text states in one grouping alone, and never plainly, is
  taken for it.
  """
  additive = [meter_text for meter_text in stated if '+' in meter_text]
  if not additive:
    return
  by_sum = {}
  for grouped in additive:
    by_sum.setdefault(_sum_of(grouped), set()).add(grouped)
  unique = {plain: grouped.pop() for plain, grouped in by_sum.items()
            if len(grouped) == 1 and plain not in stated}
  for part in score.parts:
    found = list(part.recurse().getElementsByClass(meter.TimeSignature))
    if len(found) == len(stated) and all(
        '+' not in grouped or time_signature.ratioString == _sum_of(grouped)
        for time_signature, grouped in zip(found, stated)):
      pairs = zip(found, stated)
    else:
      pairs = [(time_signature, unique.get(time_signature.ratioString, ''))
               for time_signature in found]
    for time_signature, grouped in pairs:
      if '+' in grouped:
        time_signature.resetValues(grouped)


def _sum_of(grouped):
  numerator, _, denominator = grouped.partition('/')
  return f'{sum(int(n) for n in numerator.split("+"))}/{denominator}'


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


def read_abc(path):
  """Every tune of an ABC file as a Melody (raises on the first tune that fails)."""
  tunes = split_abc(melody_files.read_text(path))
  if not tunes:
    raise melody_lib.NoNotesError(f'{path}: holds no ABC tune (no X: line)')
  return [parse_abc_tune(text, path, number, title) for number, title, text in tunes]
