"""What a copyist would correct in a written score, read from its MusicXML as a copyist reads it.

`check(musicxml, before=None)` counts, in one file, each defect a copyist would redraw, and
what the score lost of its input (`before`: the input as written back, the `.before`
copy), as a Counter with the number of notes under 'notes'. `summarize` pools files into
defects per 100 notes and the share of files that lost something. Every count is 0 for a
lead sheet a copyist would put on the stand as it is.
"""

import collections
import fractions
import math
import xml.etree.ElementTree as ET

from stylexfer.tokens import beats
from stylexfer.writers import musicxml_writer
from stylexfer.writers import notation

Fraction = fractions.Fraction

# Defects counted per note or per bar, in the report's order.
BRACKET = 'tuplet bracket over more than its beat'
TRIPLET_REST = 'rest longer than a third of its triplet'
TIE_INTO_SECTION = 'tie over a repeat sign, an ending or a double bar'
TIE_OUT = 'tie out of the last bar'
SHORT_BAR = "bar shorter than the input's"
SHORT_VALUE = 'value shorter than a 32nd'
TRIPLET_32ND = '32nd-note triplet'
UNWRITTEN = 'onset off the places a score writes'
TIED_HEADS = 'note of 4 or more tied noteheads in one bar'
DEFECTS = (BRACKET, TRIPLET_REST, TIE_INTO_SECTION, TIE_OUT, SHORT_BAR, SHORT_VALUE,
           TRIPLET_32ND, UNWRITTEN, TIED_HEADS)
# What a file loses of its input, counted once a file.
NO_CLEF = 'no clef'
LOST = ('title', 'composer', 'tempo', 'key', 'chord symbols', 'ending labels')
_SHORT_TYPES = ('64th', '128th', '256th')
_LONG_TYPES = ('quarter', 'half', 'whole', 'breve')


def _measures(musicxml):
  """The first part's measures as dicts: length, content, notes, bar lines, marks."""
  root = ET.fromstring(musicxml)
  part = root.find('part')
  divisions, signature, measures = 1, Fraction(4), []
  for element in part.findall('measure') if part is not None else []:
    attributes = element.find('attributes')
    if attributes is not None:
      divisions = int(attributes.findtext('divisions') or divisions)
      time = attributes.find('time')
      if time is not None and time.findtext('beats') and time.findtext('beat-type'):
        signature = Fraction(4 * int(time.findtext('beats')), int(time.findtext('beat-type')))
    measure = {'implicit': element.get('implicit') == 'yes', 'length': signature,
               'notes': [], 'lines': [], 'clef': element.find('attributes/clef') is not None}
    position = Fraction(0)
    for child in element:
      if child.tag == 'note' and child.find('chord') is None and child.find('grace') is None:
        duration = Fraction(int(child.findtext('duration') or 0), divisions)
        measure['notes'].append({
            'at': position, 'quarters': duration, 'rest': child.find('rest') is not None,
            'ties': [tie.get('type') for tie in child.findall('tie')],
            'type': child.findtext('type'),
            'tuplet': [t.get('type') for t in child.findall('notations/tuplet')],
            'in_tuplet': child.find('time-modification') is not None})
        position += duration
      elif child.tag in ('backup', 'forward'):
        step = Fraction(int(child.findtext('duration') or 0), divisions)
        position += step if child.tag == 'forward' else -step
      elif child.tag == 'barline':
        measure['lines'].append({
            'location': child.get('location', 'right'),
            'style': child.findtext('bar-style'),
            'repeat': child.find('repeat') is not None,
            'ending': child.find('ending').get('type') if child.find('ending') is not None
                      else None,
            'label': (child.findtext('ending') or '').strip()})
    measure['content'] = max([position] + [n['at'] + n['quarters'] for n in measure['notes']])
    measures.append(measure)
  return root, measures


def _closes_section(measure, following):
  """Whether a measure's right bar line closes a section: no note is tied over it."""
  for line in measure['lines']:
    if line['location'] == 'right' and (line['repeat'] or line['ending'] or line['style'] in (
        'light-light', 'light-heavy', 'heavy-heavy', 'heavy-light')):
      return True
  return following is not None and any(
      line['location'] == 'left' and (line['repeat'] or line['ending'] == 'start')
      for line in following['lines'])


def _brackets(measure, padding, counts):
  """Counts brackets over more than their beat and long rests inside them; `padding` is
  where the measure's first note lies (a pickup's)."""
  group = None
  for note in measure['notes']:
    if 'start' in note['tuplet']:
      group = []
    if group is not None:
      group.append(note)
    if 'stop' in note['tuplet'] and group:
      start = group[0]['at'] + padding
      span = group[-1]['at'] + group[-1]['quarters'] - group[0]['at']
      one_beat = math.floor(start) == math.floor(start + span - Fraction(1, 96))
      quarter_triplets = (span == 2 and start.denominator == 1
                          and all(n['type'] in _LONG_TYPES for n in group))
      if not (one_beat or quarter_triplets):
        counts[BRACKET] += 1
      counts[TRIPLET_REST] += sum(1 for n in group if n['rest'] and n['quarters'] > span / 3)
      group = None


def check(musicxml, before=None):
  """Defects and losses of one written score (MusicXML bytes or text); see the module doc.

  `before`: the MusicXML of the input it was made from, for what it lost and for bars
  shorter than the input's; without it a bar short of its meter (but a pickup or the last
  bar) is one.
  """
  root, measures = _measures(musicxml)
  counts = collections.Counter()
  input_bars = _measures(before)[1] if before is not None else None
  places, bar_of = [], []
  for index, measure in enumerate(measures):
    following = measures[index + 1] if index + 1 < len(measures) else None
    notes = measure['notes']
    pitched = [n for n in notes if not n['rest']]
    counts['notes'] += sum(1 for n in pitched if 'stop' not in n['ties'])
    padding = measure['length'] - measure['content'] if index == 0 and measure['implicit'] else 0
    for note in pitched:
      if 'stop' not in note['ties']:
        places.append(float(note['at'] + padding))
        bar_of.append(index)
    _brackets(measure, padding, counts)
    counts[SHORT_VALUE] += sum(1 for n in notes if n['type'] in _SHORT_TYPES)
    counts[TRIPLET_32ND] += sum(1 for n in notes if n['in_tuplet'] and n['type'] == '32nd')
    chain = 0
    for note in pitched:
      chain = chain + 1 if 'stop' in note['ties'] else 1
      if chain == 4:
        counts[TIED_HEADS] += 1
    last = pitched[-1] if pitched and pitched[-1] is notes[-1] else None
    if last is not None and 'start' in last['ties']:
      if following is None:
        counts[TIE_OUT] += 1
      elif _closes_section(measure, following):
        counts[TIE_INTO_SECTION] += 1
    if index == 0 and measure['implicit']:
      continue
    if input_bars is not None:
      if index < len(input_bars) and measure['content'] < input_bars[index]['content']:
        counts[SHORT_BAR] += 1
    elif measure['content'] < measure['length'] and following is not None:
      counts[SHORT_BAR] += 1
  if places:
    counts[UNWRITTEN] += int((~beats.written(places, bar_of)).sum())
  if not (measures and measures[0]['clef']):
    counts[NO_CLEF] += 1
  if before is not None:
    for name in _lost(root, ET.fromstring(before)):
      counts[f'lost: {name}'] += 1
  return counts


def check_melody(melody, before=None):
  """check() of a reading.melody.Melody as the writers write it; `before` its input."""
  written = musicxml_writer.musicxml_bytes(notation.layout(melody))
  return check(written, None if before is None else
               musicxml_writer.musicxml_bytes(notation.layout(before)))


def _said(root):
  """What a score says besides its notes, for comparing a copy with its input."""
  return {
      'title': root.findtext('work/work-title') or root.findtext('movement-title') or '',
      'composer': root.findtext('identification/creator[@type="composer"]') or '',
      'tempo': root.findtext('.//sound[@tempo]') and root.find('.//sound[@tempo]').get('tempo'),
      'key': root.findtext('.//key/fifths'),
      'chord symbols': len(root.findall('.//harmony')),
      'ending labels': sorted(e.text or '' for e in root.iter('ending')
                              if e.get('type') == 'start'),
  }


def _lost(root, input_root):
  said, was = _said(root), _said(input_root)
  lost = []
  for name in LOST:
    if name == 'title':
      if was['title'] and not said['title'].startswith(was['title']):
        lost.append(name)
    elif name == 'chord symbols':
      if said[name] < was[name]:
        lost.append(name)
    elif was[name] and said[name] != was[name]:
      lost.append(name)
  return lost


def summarize(all_counts):
  """Defects per 100 notes and the share of files that lost each thing, over files."""
  total = collections.Counter()
  for counts in all_counts:
    total.update(counts)
  notes = max(total['notes'], 1)
  files = max(len(all_counts), 1)
  return {
      'files': len(all_counts), 'notes': total['notes'],
      'per_100_notes': {name: 100 * total[name] / notes for name in DEFECTS},
      'files_with': {name: sum(1 for c in all_counts if c[name]) / files
                     for name in (NO_CLEF,) + tuple(f'lost: {n}' for n in LOST)},
  }
