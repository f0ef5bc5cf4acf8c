"""Jazz solos from the Weimar Jazz Database: its CSV export or the official sqlite file.

Rhythm comes from the metrical annotation (bar, beat, tatum, division), not from the
onsets in seconds: a solo's tempo drifts, its metrical grid does not. Bars may hold other
than four beats, so bar starts are summed bar by bar from each bar's own signature.
"""

import collections
import csv
import fractions
import gzip
import math
import os
import sqlite3
import zlib

from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib

# The columns a solo needs; phrase_id is optional (the sqlite melody table lacks it).
COLUMNS = ('melid', 'bar', 'beat', 'beatdur', 'denom', 'division', 'duration', 'num',
           'onset', 'pitch', 'tatum')


def read_wjazzd(path):
  """Every solo in a WJazzD file (`.csv`, `.csv.gz` or sqlite `.db`) as a Melody.

  Returns (melodies, errors): a solo with broken rows is skipped, and its MelodyError,
  which names the solo and the problem, is returned instead.
  """
  if not os.path.isfile(path):
    raise melody_lib.UnreadableFileError(f'{path}: no such file')
  if str(path).endswith(('.db', '.sqlite', '.sqlite3')):
    rows = _sqlite_rows(path)
  else:
    rows = _csv_rows(path)
  by_solo = collections.defaultdict(list)
  for row in rows:
    by_solo[row['melid']].append(row)
  about = _solo_info(path)
  melodies, errors = [], []
  for melid, solo_rows in by_solo.items():
    try:
      melody = solo_melody(solo_rows, path)
    except melody_lib.MelodyError as error:
      errors.append(error)
      continue
    _describe(melody, about.get(_melid(melid), {}))
    melodies.append(melody)
  return melodies, errors


# The solo metadata: WJazzD's `solo_info` table, or its CSV export beside the melody file.
META_FILES = ('wjazzd_meta.csv', 'wjazzd_meta.csv.gz')
_META_COLUMNS = ('melid', 'style', 'rhythmfeel', 'avgtempo')


def _solo_info(path):
  """{melid: row} of the solos' style, rhythm feel and average tempo; {} where absent."""
  try:
    if str(path).endswith(('.db', '.sqlite', '.sqlite3')):
      connection = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
      try:
        cursor = connection.execute(
            f'SELECT {", ".join(_META_COLUMNS)} FROM solo_info')
        rows = [dict(zip(_META_COLUMNS, row)) for row in cursor]
      finally:
        connection.close()
    else:
      folder = os.path.dirname(os.path.abspath(path))
      found = [os.path.join(folder, name) for name in META_FILES
               if os.path.isfile(os.path.join(folder, name))]
      if not found:
        return {}
      opener = gzip.open if found[0].endswith('.gz') else open
      with opener(found[0], 'rt', encoding='utf-8', newline='') as f:
        rows = list(csv.DictReader(f))
  except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error, sqlite3.Error):
    return {}  # solos without their metadata are still solos
  return {_melid(row.get('melid')): row for row in rows}


def _melid(value):
  """A solo's id as both tables give it: '12' for 12, '12' or '12.0'."""
  return str(value or '').split('.')[0]


def _describe(melody, row):
  """Sets a solo's style, feel and tempo from its metadata row."""
  denominator = int(melody.time_signature.split('/')[1])
  melody.style, melody.feel, melody.tempo = labels_of(row, denominator)


def labels_of(row, denominator=4):
  """(style, feel, tempo in quarter notes a minute or None) of a solo's metadata row."""
  style = lead_sheet.style_name(str(row.get('style') or ''))
  # A feel that changes within the solo ('A:LATIN/B:SWING', 'FUNK/SWING') is no one feel;
  # 'LATIN/FUNK' is straight throughout and stays as written.
  feel = lead_sheet.style_name(str(row.get('rhythmfeel') or ''))
  feel = '' if ':' in feel or ('/' in feel and 'swing' in feel.split('/')) else feel
  try:
    beats_a_minute = float(row.get('avgtempo') or 0)
  except ValueError:
    beats_a_minute = 0.0
  tempo = None
  if beats_a_minute > 0 and math.isfinite(beats_a_minute):
    # WJazzD counts the signature's beats; records count quarter notes.
    tempo = round(beats_a_minute * 4 / denominator, 1)
  return style, feel, tempo


def solo_labels(path):
  """{melid: (style, feel, tempo)} of the solos of a WJazzD file whose metadata is found."""
  return {melid: labels_of(row) for melid, row in _solo_info(path).items()}


def _csv_rows(path):
  opener = gzip.open if str(path).endswith('.gz') else open
  try:
    with opener(path, 'rt', encoding='utf-8', newline='') as f:
      reader = csv.DictReader(f)
      _check_columns(reader.fieldnames or [], path)
      return list(reader)
  except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as error:
    raise melody_lib.UnreadableFileError(f'{path}: cannot be read as CSV ({error})') from error


def _sqlite_rows(path):
  try:
    connection = sqlite3.connect(f'file:{path}?mode=ro', uri=True)
    try:
      connection.row_factory = sqlite3.Row
      cursor = connection.execute('SELECT * FROM melody ORDER BY melid, onset')
      names = [d[0] for d in cursor.description]
      _check_columns(names, path)
      rows = [dict(zip(names, row)) for row in cursor]
      if 'phrase_id' not in names:
        _add_phrases(connection, rows)
      return rows
    finally:
      connection.close()
  except sqlite3.Error as error:
    raise melody_lib.UnreadableFileError(
        f'{path}: cannot be read as a WJazzD sqlite database ({error})') from error


def _add_phrases(connection, rows):
  """Phrase ids from the official `sections` table (type PHRASE, event id ranges)."""
  try:
    sections = connection.execute(
        "SELECT melid, start, end, value FROM sections WHERE type = 'PHRASE'").fetchall()
  except sqlite3.Error:
    return  # no phrase annotation in this file: every note stays in phrase 0
  by_event = {}
  for melid, start, end, value in sections:
    for event in range(int(start), int(end) + 1):
      by_event[(melid, event)] = int(value)
  for row in rows:
    if 'eventid' in row:
      row['phrase_id'] = by_event.get((row['melid'], row['eventid']), '')


def _check_columns(names, path):
  missing = [c for c in COLUMNS if c not in names]
  if missing:
    raise melody_lib.UnreadableFileError(
        f'{path}: not a WJazzD melody table, missing columns {", ".join(missing)}')


def solo_melody(rows, source):
  """One solo's rows (ordered by onset) as a Melody on its metrical grid."""
  melid = rows[0]['melid']
  try:
    notes = [_note(row) for row in rows]
  except (TypeError, ValueError, ZeroDivisionError) as error:
    raise melody_lib.UnreadableFileError(
        f'{source}: solo melid {melid} has a malformed row ({error})') from error
  notes.sort(key=lambda n: n['seconds'])
  # Bar starts in quarter notes, bar by bar; an empty bar takes the previous bar's length.
  lengths = {}
  for n in notes:
    lengths.setdefault(n['bar'], n['bar_length'])
  bar_start, start, length = {}, fractions.Fraction(0), lengths[notes[0]['bar']]
  for bar in range(notes[0]['bar'], notes[-1]['bar'] + 1):
    length = lengths.get(bar, length)
    bar_start[bar] = start
    start += length
  counts = collections.Counter()
  kept = []
  for n in notes:
    n['onset'] = bar_start[n['bar']] + n['beat_position']
    if kept and n['onset'] <= kept[-1]['onset']:
      # Four notes in WJazzD sit on or before the previous note's grid position.
      counts['dropped notes: off metrical order'] += 1
      continue
    kept.append(n)
  if not kept:
    raise melody_lib.NoNotesError(f'{source}: solo melid {melid} has no notes')
  last = kept[-1]
  return melody_lib.Melody(
      tune_id=f'melid:{melid}', title=rows[0].get('solo') or '', source=str(source),
      pitches=[n['pitch'] for n in kept], onsets=[n['onset'] for n in kept],
      lengths=[n['length'] for n in kept], bars=[n['bar'] for n in kept],
      beats=[n['beat_position'] for n in kept], phrases=[n['phrase'] for n in kept],
      time_signature=f"{last['num']}/{last['denom']}", counts=counts,
      bar_lengths=[n['bar_length'] for n in kept])


def _note(row):
  denom, num = int(float(row['denom'])), int(float(row['num']))
  division = int(float(row['division']))
  quarters_per_beat = fractions.Fraction(4, denom)
  beat_position = (int(float(row['beat'])) - 1 +
                   fractions.Fraction(int(float(row['tatum'])) - 1, division))
  # The sounding length in beats, from seconds; only the last note of a solo uses it.
  beats = float(row['duration']) / float(row['beatdur'])
  phrase = row.get('phrase_id')
  return {
      'seconds': float(row['onset']),
      'pitch': int(round(float(row['pitch']))),
      'bar': int(float(row['bar'])),
      'num': num, 'denom': denom,
      'bar_length': num * quarters_per_beat,
      'beat_position': beat_position * quarters_per_beat,
      'length': fractions.Fraction(beats).limit_denominator(48) * quarters_per_beat,
      'phrase': int(float(phrase)) if phrase not in (None, '') else -1,
  }
