"""Small melody files that the tests write themselves, with what they should read back."""

import csv
import gzip
import os
import sqlite3
import zipfile

from music21 import chord, meter, note, stream
import numpy as np

from stylexfer.tokens import traits
from stylexfer.tokens import vocabulary

# Three tunes that parse and one that does not hold a single note.
ABC_TUNES = """\
%abc-2.1 fixture for stylexfer tests

X:1
T:Pickup Jig
M:6/8
L:1/8
K:G
D|:GAB c2B|A3 F2D|GAB cBA|G3 G2:|
|:d|efg dcB|A3 A2B|c3 B2A|G3 G2:|

X:2
T:Double Stops
M:4/4
L:1/4
K:C
[ce] d e f|[Gcg] z (3efg|c4|]

X:3
T:Only Rests
M:4/4
L:1/4
K:C
z4|z4|]

X:4
T:Too Short
M:4/4
L:1/4
K:C
c d e|]
"""

# What X:1 must read back as: MIDI pitches and inter-onset intervals (quarter notes).
JIG_PITCHES = [62, 67, 69, 71, 72, 71, 69, 66, 62, 67, 69, 71, 72, 71, 69, 67, 67,
               74, 76, 78, 79, 74, 72, 71, 69, 69, 71, 72, 71, 69, 67, 67]
JIG_DURATIONS = [0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 1.5, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
                 0.5, 1.5, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.5, 1.0, 0.5, 1.5,
                 1.0, 0.5, 1.5, 1.0]

# X:2: chords keep their top note; a rest lengthens the note before it; a quarter-note triplet.
DOUBLE_STOP_PITCHES = [76, 74, 76, 77, 79, 76, 77, 79, 72]
DOUBLE_STOP_DURATIONS = [1, 1, 1, 1, 2, 2 / 3, 2 / 3, 2 / 3, 4]


# A lead sheet: a subtitle and header fields, a tempo, chord symbols (and an annotation,
# which is no chord), a pickup, a G sharp and a D sharp in E minor, first and second
# endings, 8th- and 16th-note triplets.
LEAD_SHEET = """\
X:1
T:Lead Sheet
T:for the tests
C:A. Composer
R:reel
O:Nowhere
N:written for stylexfer's tests
M:4/4
L:1/8
Q:1/4=96
K:Em
B|:"Em"e2 ^de "Am"c2 BA|"D7"(3FGA d2 "G"B4|[1"Am"A2 ce "B7"^d2 B2:|[2"Em"e6 "^fine"z2||
"C"(3c/d/e/g2 "G/B"d4 z|"Am"c2 A2 "B7"^G2 B2|"Em"e8|]
"""
LEAD_SHEET_CHORDS = ['Em', 'Am', 'D7', 'G', 'Am', 'B7', 'Em', 'C', 'G/B', 'Am', 'B7', 'Em']
LEAD_SHEET_HEADER = [('subtitle', 'for the tests'), ('composer', 'A. Composer'),
                     ('rhythm', 'reel'), ('origin', 'Nowhere'),
                     ('notes', "written for stylexfer's tests")]


def write_zip(path, members):
  """A zip archive (an .mxl, say) of {name: text or bytes}; returns its path."""
  with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
    for name, data in members.items():
      archive.writestr(name, data)
  return str(path)


def write_abc(folder, name='tunes.abc', text=ABC_TUNES):
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, name)
  with open(path, 'w') as f:
    f.write(text)
  return path


def melody_stream(pitches, durations, time_signature='4/4', chords=()):
  """A one-part music21 stream; indices in `chords` get a third below added."""
  part = stream.Part()
  part.append(meter.TimeSignature(time_signature))
  for i, (pitch, quarters) in enumerate(zip(pitches, durations)):
    if i in chords:
      element = chord.Chord([pitch - 4, pitch], quarterLength=quarters)
    else:
      element = note.Note(pitch, quarterLength=quarters)
    part.append(element)
  score = stream.Score([part])
  return score.makeNotation()


# A 3/4 tune with a half note tied across the bar line (note 6) and a chord.
SCORE_PITCHES = [60, 62, 64, 65, 67, 69, 71, 72, 74, 72]
SCORE_DURATIONS = [1, 1, 1, 0.5, 0.5, 1, 2, 1.5, 0.5, 3]


def write_score(path, pitches=SCORE_PITCHES, durations=SCORE_DURATIONS, chords=(4,),
                time_signature='3/4'):
  """Writes MIDI or MusicXML by the file's suffix."""
  fmt = 'midi' if path.endswith(('.mid', '.midi')) else 'musicxml'
  melody_stream(pitches, durations, time_signature, chords).write(fmt, fp=path)
  return path


# WJazzD rows: (melid, solo, bar, beat, division, tatum, num, denom, pitch, phrase_id).
# Solo 1 has a 3/4 bar, a bar without notes and 8th-note triplets; solo 3 is malformed.
WJAZZD_ROWS = [
    (1, 'Fixture_Solo', 0, 1, 1, 1, 4, 4, 65, 1),
    (1, 'Fixture_Solo', 0, 2, 2, 1, 4, 4, 67, 1),
    (1, 'Fixture_Solo', 0, 2, 2, 2, 4, 4, 69, 1),
    (1, 'Fixture_Solo', 0, 4, 3, 1, 4, 4, 70, 1),
    (1, 'Fixture_Solo', 0, 4, 3, 2, 4, 4, 72, 1),
    (1, 'Fixture_Solo', 0, 4, 3, 3, 4, 4, 74, 2),
    (1, 'Fixture_Solo', 1, 1, 1, 1, 3, 4, 75, 2),
    (1, 'Fixture_Solo', 1, 3, 1, 1, 3, 4, 77, 2),
    (1, 'Fixture_Solo', 3, 1, 1, 1, 4, 4, 79, 3),  # bar 2 is silent (3 beats, like bar 1)
    (1, 'Fixture_Solo', 3, 2, 4, 4, 4, 4, 31, 3),  # an interval of -48: folded
    (2, 'Second_Solo', 0, 1, 2, 1, 4, 4, 60, 1),
    (2, 'Second_Solo', 0, 1, 2, 2, 4, 4, 62, 1),
    (2, 'Second_Solo', 0, 2, 1, 1, 4, 4, 64, 1),
    (2, 'Second_Solo', 0, 3, 1, 1, 4, 4, 65, 1),
    (2, 'Second_Solo', 0, 4, 1, 1, 4, 4, 67, 1),
    (2, 'Second_Solo', 1, 1, 1, 1, 4, 4, 69, 2),
    (2, 'Second_Solo', 1, 2, 1, 1, 4, 4, 71, 2),
    (2, 'Second_Solo', 1, 3, 1, 1, 4, 4, 72, 2),
    (3, 'Broken_Solo', 0, 1, 0, 1, 4, 4, 60, 1),   # division 0: malformed
    (3, 'Broken_Solo', 0, 2, 1, 1, 4, 4, 62, 1),
]
# Solo 1, inter-onset intervals in quarter notes; the last is its sounding length.
SOLO_DURATIONS = [1, 0.5, 1.5, 1 / 3, 1 / 3, 1 / 3, 2, 4, 1.75, 0.25]
SOLO_PITCHES = [65, 67, 69, 70, 72, 74, 75, 77, 79, 31]
BEAT_SECONDS = 0.5
COLUMNS = ['melid', 'solo', 'bar', 'beat', 'beatdur', 'denom', 'division', 'duration',
           'num', 'onset', 'period', 'pitch', 'subtatum', 'tatum', 'phrase_id']


# WJazzD's solo metadata (its `solo_info` table): style, rhythm feel, average tempo in
# the signature's beats a minute. Solo 2's feel changes within the solo: no one feel.
WJAZZD_META = [
    {'melid': 1, 'style': 'POSTBOP', 'rhythmfeel': 'LATIN', 'avgtempo': '240.0'},
    {'melid': 2, 'style': 'BEBOP', 'rhythmfeel': 'A:LATIN/B:SWING', 'avgtempo': ''},
]


def _wjazzd_dicts():
  rows, bar_start = [], {}
  for melid, solo, bar, beat, division, tatum, num, denom, pitch, phrase in WJAZZD_ROWS:
    # Seconds follow the grid at 120 bpm; bars before `bar` are summed by their lengths.
    start = bar_start.setdefault((melid, bar), bar * 4 if melid != 1 else [0, 4, 7, 10][bar])
    beats = start + beat - 1 + (tatum - 1) / max(division, 1)
    rows.append({
        'melid': melid, 'solo': solo, 'bar': bar, 'beat': beat, 'beatdur': BEAT_SECONDS,
        'denom': denom, 'division': division, 'duration': BEAT_SECONDS / 8, 'num': num,
        'onset': beats * BEAT_SECONDS, 'period': 4, 'pitch': float(pitch), 'subtatum': 0,
        'tatum': tatum, 'phrase_id': phrase})
  return rows


def write_wjazzd_csv(path, meta=True):
  """The CSV export: the melody table, and the solos' metadata beside it."""
  opener = gzip.open if path.endswith('.gz') else open
  with opener(path, 'wt', newline='') as f:
    writer = csv.DictWriter(f, COLUMNS)
    writer.writeheader()
    writer.writerows(_wjazzd_dicts())
  if meta:
    with open(os.path.join(os.path.dirname(path), 'wjazzd_meta.csv'), 'w', newline='') as f:
      writer = csv.DictWriter(f, list(WJAZZD_META[0]))
      writer.writeheader()
      writer.writerows(WJAZZD_META)
  return path


def write_wjazzd_sqlite(path):
  """The official layout: a `melody` table without phrase ids, phrases in `sections`."""
  connection = sqlite3.connect(path)
  columns = ['eventid'] + [c for c in COLUMNS if c not in ('solo', 'phrase_id')]
  connection.execute(f'CREATE TABLE melody ({", ".join(columns)})')
  connection.execute('CREATE TABLE sections (melid, type, start, end, value)')
  connection.execute('CREATE TABLE solo_info (melid, style, rhythmfeel, avgtempo)')
  for row in WJAZZD_META:
    connection.execute('INSERT INTO solo_info VALUES (?, ?, ?, ?)', list(row.values()))
  phrases = {}
  for eventid, row in enumerate(_wjazzd_dicts()):
    connection.execute(f'INSERT INTO melody VALUES ({", ".join("?" * len(columns))})',
                       [eventid] + [row[c] for c in columns[1:]])
    phrases.setdefault((row['melid'], row['phrase_id']), []).append(eventid)
  for (melid, phrase), events in phrases.items():
    connection.execute('INSERT INTO sections VALUES (?, ?, ?, ?, ?)',
                       (melid, 'PHRASE', min(events), max(events), phrase))
  connection.commit()
  connection.close()
  return path


def record_of(melody, genre='folk'):
  """The record the data set builder writes for a melody, as tfds.as_numpy reads it."""
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  return {'tune_id': melody.tune_id.encode(), 'title': melody.title.encode(),
          'genre': genre.encode(), 'source': melody.source.encode(),
          'time_signature': melody.time_signature.encode(),
          'first_pitch': np.int32(encoding.first_pitch),
          'intervals': np.array(encoding.intervals, np.int32),
          'durations': np.array(encoding.durations, np.int32),
          'bars': np.array(melody.bars, np.int32),
          'beats': np.array([float(b) for b in melody.beats], np.float32),
          'bar_lengths': np.array([float(b) for b in melody.bar_lengths], np.float32),
          'lengths': np.array([float(q) for q in melody.lengths], np.float32),
          'phrases': np.array(melody.phrases, np.int32),
          'style': melody.style.encode(), 'feel': melody.feel.encode(),
          'tempo': np.float32(melody.tempo or 0)}


def jig_forms(notes, starts):
  """The jig's 6/8 bars for melodies of `notes` notes starting at the jig's notes `starts`:
  bars [2, N], bar_lengths [2, M] and pickup [2], as restyle signatures take them."""
  onsets = 2.5 + np.concatenate([[0.0], np.cumsum(JIG_DURATIONS)])
  rows = [onsets[start:start + notes] for start in starts]
  bars = np.array([np.floor(row / 3) - np.floor(row[0] / 3) for row in rows], np.int32)
  pickup = np.array([row[0] % 3 for row in rows], np.float32)
  return bars, np.full([len(rows), int(bars.max()) + 1], 3.0, np.float32), pickup


# The shipped genres' traits (stylexfer.tokens.traits), for tiny models exported under
# their names: folk tunes start around G4 and write 6/8, jazz around F4, swung, in 4/4;
# their styles are tune types and rhythm feels.
TRAITS = {'folk': traits.Traits(67, 1.0, True, styles=('reel', 'jig', 'hornpipe')),
          'jazz': traits.Traits(65, 1.11, False, styles=('swing', 'latin', 'twobeat'),
                                style_field='feel', style_aliases=(('funk', 'latin'),))}
