"""What a lead sheet says besides its notes: header fields, tempo, key, clef, chord symbols.

A restyle keeps all of it (reading.melody.Melody carries it, `with_rhythm` passes it on)
and every writer writes it back: the names here are the ones the writers use, so ABC's
`C:` and MusicXML's composer are one field.
"""

import dataclasses
import re

# ABC header fields a tune keeps, by their letter (ABC 2.1, section 3), with the name
# the writers know them by. MusicXML writes the composer as a creator and the others as
# miscellaneous fields of the identification.
HEADER_FIELDS = {
    'C': 'composer', 'O': 'origin', 'A': 'area', 'R': 'rhythm', 'B': 'book',
    'D': 'discography', 'F': 'file', 'G': 'group', 'H': 'history', 'N': 'notes',
    'S': 'source', 'Z': 'transcription',
}
ABC_LETTERS = {name: letter for letter, name in HEADER_FIELDS.items()}

# Clefs by ABC 2.1 name: (MusicXML sign, line, octave change).
CLEFS = {
    'treble': ('G', 2, 0), 'treble-8': ('G', 2, -1), 'treble+8': ('G', 2, 1),
    'bass': ('F', 4, 0), 'bass-8': ('F', 4, -1), 'alto': ('C', 3, 0), 'tenor': ('C', 4, 0),
}
# Where each clef's staff lies (MIDI pitches of its bottom and top lines), for choosing
# a clef from a melody's range.
_STAFF = {'treble': (64, 77), 'treble-8': (52, 65), 'bass': (43, 57)}

# A chord symbol as lead sheets write it: a root, a quality, an optional bass note.
# ABC 2.1 writes annotations (text that is no chord) with a placement prefix (^_<>@), so
# a quoted text that does not read as a chord ("SEGUE", "Fine") is not one.
CHORD = re.compile(
    r'^\(?(?P<root>[A-G])(?P<alter>[#b\u266f\u266d]?)'
    r'(?P<kind>(?:maj|min|dim|aug|sus|add|alt|omit|m|M|[-+o\u00f8\u0394#b()0-9,^])*)'
    r'(?:/(?P<bass>[A-G])(?P<bass_alter>[#b\u266f\u266d]?))?\)?$')

# MusicXML <kind> values of common chord qualities; others are 'other', shown by text.
_KINDS = {
    '': 'major', 'M': 'major', 'maj': 'major', 'm': 'minor', 'min': 'minor', '-': 'minor',
    '7': 'dominant', 'maj7': 'major-seventh', 'M7': 'major-seventh',
    '\u0394': 'major-seventh', '\u03947': 'major-seventh', 'm7': 'minor-seventh',
    'min7': 'minor-seventh', '-7': 'minor-seventh', 'dim': 'diminished', 'o': 'diminished',
    'dim7': 'diminished-seventh', 'o7': 'diminished-seventh', 'm7b5': 'half-diminished',
    '\u00f8': 'half-diminished', '\u00f87': 'half-diminished', 'aug': 'augmented',
    '+': 'augmented', '6': 'major-sixth', 'm6': 'minor-sixth', '9': 'dominant-ninth',
    'maj9': 'major-ninth', 'm9': 'minor-ninth', '11': 'dominant-11th', '13': 'dominant-13th',
    'sus4': 'suspended-fourth', 'sus': 'suspended-fourth', 'sus2': 'suspended-second',
    'm(maj7)': 'major-minor', 'mM7': 'major-minor', '7+': 'augmented-seventh',
    'aug7': 'augmented-seventh', '5': 'power',
}
_ALTERS = {'': 0, '#': 1, '\u266f': 1, 'b': -1, '\u266d': -1}


@dataclasses.dataclass(frozen=True)
class Key:
  """A key signature: sharps (negative for flats) and, where the file names it, the mode."""
  sharps: int = 0
  mode: str = None  # 'major', 'minor', 'dorian', ... or None

  @property
  def tonic(self):
    """The tonic's name (music21 spelling, 'B-' for B flat) in this mode, major if unknown."""
    from music21 import key as m21_key  # pylint: disable=g-import-not-at-top
    return m21_key.KeySignature(self.sharps).asKey(self.mode or 'major').tonic.name


@dataclasses.dataclass(frozen=True)
class Chord:
  """A chord symbol read apart: root step and alteration, MusicXML kind, bass."""
  text: str
  root: str
  alter: int
  kind: str          # a MusicXML kind value ('major', 'minor-seventh', 'other', ...)
  kind_text: str     # the quality as written ('m7', '' for a major triad)
  bass: str = None
  bass_alter: int = 0


def chord(text):
  """The Chord a text names, or None when it is no chord symbol (an annotation)."""
  found = CHORD.match(text.strip())
  if not found:
    return None
  quality = found.group('kind')
  return Chord(text.strip(), found.group('root'), _ALTERS[found.group('alter')],
               _KINDS.get(quality, 'other'), quality, found.group('bass'),
               _ALTERS[found.group('bass_alter') or ''])


def chord_text(figure):
  """A music21 chord figure as a lead sheet writes it: 'B-7' is 'Bb7'."""
  return re.sub(r'^([A-G])-', r'\1b', re.sub(r'/([A-G])-', r'/\1b', figure))


def readable_abc(text):
  """An ABC tune's text as music21's reader reads it right: annotations out, H spelled out.

  Annotations (quoted text that is no chord: "^Slow", ">", "SEGUE") are text above, below
  or beside the staff, not music, and music21's ABC reader drops the note after some of
  them (">"a2 loses the a); the fermata shorthand H loses the rest of the line; inline
  key and unit length changes ([K:D], [L:1/16]) are misread, so they become lines of
  their own, as ABC allows; a double repeat written :: or :|: loses the note before it
  (and :|: the repeat after it), so it is written :||:. Chord symbols stay; header fields,
  other inline fields and comments are left as they are.
  """
  lines, body = [], False
  piece = re.compile(r'"([^"\n]*)"|\[([KL]:[^\]\n]*)\]|\[[A-Za-z]:[^\]\n]*\]|(H)|'
                     r'(?<![|:])(::|:\|:)(?![|:])')
  for line in text.splitlines(keepends=True):
    field = re.match(r'[A-Za-z]:', line)
    if body and not field and not line.lstrip().startswith('%'):
      line = piece.sub(lambda found: (
          '!fermata!' if found.group(3) else
          ':||:' if found.group(4) else
          f'\n{found.group(2)}\n' if found.group(2) else
          '' if found.group(1) is not None and not chord(found.group(1))
          else found.group(0)), line)
    if field and line.startswith('K:'):
      body = True
    lines.append(line)
  return ''.join(lines)


def abc_header(text):
  """The header fields of an ABC tune's text that a tune keeps: [(name, value)].

  The first T: is the title (not returned); a later T: is a subtitle. Fields in the
  body (inline [R:...]) are not header fields.
  """
  fields, titles = [], 0
  for line in text.splitlines():
    found = re.match(r'([A-Za-z]):\s*(.*?)\s*$', line)
    if not found:
      continue
    letter, value = found.groups()
    if letter == 'K':
      break
    value = value.split('%', 1)[0].strip() if letter != 'N' else value
    if letter == 'T':
      titles += 1
      if titles > 1 and value:
        fields.append(('subtitle', value))
    elif letter in HEADER_FIELDS and value:
      fields.append((HEADER_FIELDS[letter], value))
  return fields


# Names of one tune type as collections spell it. O'Neill calls a jig a "double jig"
# (six eighths in a bar) as against the rarer single jig; his collection has no single jig.
_STYLE_NAMES = {'slipjig': 'slip jig', 'double jig': 'jig', 'doublejig': 'jig'}


def style_name(text):
  """A tune type or style as records name it: lower case, single spaces ('' for none)."""
  name = ' '.join(text.lower().replace('_', ' ').split())
  return _STYLE_NAMES.get(name, name)


def abc_clef(text):
  """The clef an ABC tune's K: field names (ABC 2.1 clef names), or None."""
  found = re.search(r'(?m)^K:(.*)$', text)
  if not found:
    return None
  value = found.group(1).split('%', 1)[0]
  named = (re.search(r'\bclef=([a-z]+)([-+]8)?', value) or
           re.search(r'(?:^|\s)(treble|bass|alto|tenor)([-+]8)?(?=\s|$)', value))
  if not named:
    return None
  name = named.group(1) + (named.group(2) or '')
  return name if name in CLEFS else None


def clef_name(m21_clef):
  """Our name of a music21 clef (CLEFS), or None for one we do not write."""
  sign, line = getattr(m21_clef, 'sign', None), getattr(m21_clef, 'line', None)
  octave = getattr(m21_clef, 'octaveChange', 0) or 0
  for name, shape in CLEFS.items():
    if shape == (sign, line, octave):
      return name
  return None


def clef_for(pitches, stated=None):
  """The clef a melody is written in: the one the input states, else by its range.

  Treble unless most of the melody lies so low that an octave-treble or a bass clef
  needs fewer ledger lines: the clef whose staff the notes leave least, by semitones
  below or above it, with treble kept unless another clef halves that distance.
  """
  if stated in CLEFS:
    return stated
  if not pitches:
    return 'treble'
  outside = {}
  for name, (low, high) in _STAFF.items():
    outside[name] = sum(max(0, low - 3 - p, p - high - 3) for p in pitches) / len(pitches)
  best = min(outside, key=outside.get)
  return best if outside[best] * 2 < outside['treble'] else 'treble'


# Pitch classes of the major scale on C; a key signature of `sharps` moves it by fifths.
_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def _outside(totals, sharps):
  """How long the notes outside a key signature's scale sound in all."""
  tonic = (7 * sharps) % 12
  scale = {(tonic + step) % 12 for step in _MAJOR}
  return sum(total for pitch_class, total in enumerate(totals) if pitch_class not in scale)


def key_for(pitches, durations):
  """The key signature that fits a melody's pitches: music21's key analysis, unless it
  asks for accidentals on clearly more of the melody than another signature would.

  music21 weighs each pitch class by how long it sounds in all, so it is given one note
  per pitch class, as long as that class in all (exact sums): the same answer as a part
  of every note, without building one (0.2 s for 4,000 notes). A chromatic line can lead
  the analysis to a remote key (seven sharps, an accidental on nearly every note): where
  another signature leaves out less than the analysed key by more than a tenth of the
  melody's length, the one that leaves out least, nearest to C, is taken; and where even
  that one leaves out more than three tenths (no key fits), the signature nearest to C
  among those within a tenth of it.
  """
  from fractions import Fraction  # pylint: disable=g-import-not-at-top
  from music21 import note, stream  # pylint: disable=g-import-not-at-top
  totals = [Fraction(0)] * 12
  for midi, duration in zip(pitches, durations):
    totals[int(midi) % 12] += Fraction(duration)
  length = sum(totals)
  part = stream.Part([note.Note(60 + pitch_class, quarterLength=float(total))
                      for pitch_class, total in enumerate(totals) if total])
  try:
    analysed = part.analyze('key')
    found = Key(analysed.sharps, analysed.mode)
  except Exception:  # music21 can fail on one-note or atonal lines; C is a safe default
    found = Key(0, 'major')
  outside = {sharps: _outside(totals, sharps) for sharps in range(-7, 8)}
  least = min(outside.values())
  if least > length * 3 / 10:
    # No signature fits (a chromatic line): the one with fewest accidentals of its own.
    return Key(min((s for s in outside if outside[s] - least <= length / 10), key=abs), None)
  if outside[found.sharps] - least > length / 10:
    return Key(min((s for s in outside if outside[s] == least), key=abs), None)
  return found
