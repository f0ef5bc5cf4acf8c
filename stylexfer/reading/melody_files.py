"""Melody files: their formats by suffix, and reading them safely.

A user's file is read with limits: a compressed MusicXML file's unpacked size is checked
before music21 unpacks it, its score is scanned for lengths as a plain one is, and music21's scratch folder (its parse cache of pickles) is
one that only this user can write.
"""

import functools
import os
import re
import stat
import tempfile
import zipfile

from music21 import environment
from music21 import midi

from stylexfer.reading import melody as melody_lib

ABC_SUFFIXES = ('.abc',)
MIDI_SUFFIXES = ('.mid', '.midi')
MUSICXML_SUFFIXES = ('.xml', '.musicxml', '.mxl')
# A compressed MusicXML file that unpacks to more than this is refused before music21
# reads it: a 1 MB archive can unpack to gigabytes. The largest real scores are a few MB.
MAX_UNPACKED_BYTES = 64 * 2**20


def read_text(path):
  """A text file's contents; raises UnreadableFileError naming the file."""
  try:
    # utf-8-sig: a byte-order mark that some editors write is not part of the text; nor
    # are control characters (melody_lib.printable).
    with open(path, encoding='utf-8-sig', errors='replace') as f:
      return melody_lib.printable(f.read())
  except OSError as error:
    raise melody_lib.UnreadableFileError(
        f'{path}: cannot be read ({error.strerror})') from error


# What a melody may say before it is parsed: in all, a MAX_LENGTH-note melody of whole-bar
# notes and more; a single note or bar, 64 bars of 4/4.
MAX_QUARTERS = 32_768
MAX_NOTE_QUARTERS = 256
MAX_BEATS = 64
MAX_ABC_BYTES = 4 * 2**20  # one tune's text (O'Neill's longest is under 4 KB)
MAX_ABC_MULTIPLE = 2048     # a note's length in unit notes (256 quarters at L:1/8)


def check_midi_length(path):
  """Raises TooLongError for a MIDI file whose tracks last longer than a melody can."""
  found = midi.MidiFile()
  try:
    found.open(path)
    found.read()
  except Exception:  # a corrupt file: the parser says what is wrong with it
    return
  finally:
    found.close()
  per_quarter = found.ticksPerQuarterNote or 1
  for track in found.tracks:
    ticks = sum(event.time or 0 for event in track.events if event.isDeltaTime())
    if ticks / per_quarter > MAX_QUARTERS:
      raise melody_lib.TooLongError(
          f'{path}: a track lasts {ticks / per_quarter:,.0f} quarter notes; a melody may '
          f'last at most {MAX_QUARTERS:,}')


def check_musicxml_lengths(path, text):
  """Raises TooLongError (or UnreadableFileError) for MusicXML whose durations, divisions
  or time signatures no melody has.

  Each duration is read in the divisions stated last before it, as a part states them.
  """
  divisions = None
  for found in re.finditer(r'<(divisions|duration)>\s*(-?\d+)', text):
    value = int(found.group(2))
    if found.group(1) == 'divisions':
      if value <= 0:
        raise melody_lib.UnreadableFileError(f'{path}: <divisions> must be a positive number')
      divisions = value
    elif divisions is None:
      raise melody_lib.UnreadableFileError(
          f'{path}: durations without <divisions> (how many make a quarter note)')
    elif value / divisions > MAX_NOTE_QUARTERS:
      raise melody_lib.TooLongError(
          f'{path}: a duration of {value / divisions:,.0f} quarter notes; a note or rest may '
          f'last at most {MAX_NOTE_QUARTERS}')
  # An additive meter's beats are written 2+3+2.
  beats = [sum(int(n) for n in v.split('+'))
           for v in re.findall(r'<beats>\s*(\d+(?:\s*\+\s*\d+)*)', text)]
  if beats and max(beats) > MAX_BEATS:
    raise melody_lib.TooLongError(
        f'{path}: a time signature of {max(beats)} beats; at most {MAX_BEATS}')


def check_abc_lengths(label, text):
  """Raises TooLongError for an ABC tune whose text or note lengths no melody has."""
  if len(text.encode('utf-8', errors='replace')) > MAX_ABC_BYTES:
    raise melody_lib.TooLongError(
        f'{label} holds more than {MAX_ABC_BYTES // 2**20} MB of text: no tune is that long')
  body = re.sub(r'(?m)^[A-Za-z]:.*$|"[^"]*"|![^!\n]*!|%.*$', '', text)
  lengths = [int(v) for v in re.findall(r"[A-Ga-gzxZX][,']*(\d+)", body)]
  if lengths and max(lengths) > MAX_ABC_MULTIPLE:
    raise melody_lib.TooLongError(
        f'{label} has a note {max(lengths):,} times the unit note length; at most '
        f'{MAX_ABC_MULTIPLE:,}')


def check_archive_size(path, limit=MAX_UNPACKED_BYTES):
  """Raises UnreadableFileError for a zip (.mxl) that unpacks beyond `limit` bytes.

  Checked from the archive's directory before anything is unpacked; Python's zipfile
  stops at the stated size of each member, so a directory that lies cannot get past it.
  """
  try:
    with zipfile.ZipFile(path) as archive:
      unpacked = sum(info.file_size for info in archive.infolist())
  except (zipfile.BadZipFile, OSError) as error:
    raise melody_lib.UnreadableFileError(
        f'{path}: not a readable compressed MusicXML file ({error})') from error
  if unpacked > limit:
    raise melody_lib.UnreadableFileError(
        f'{path}: unpacks to {unpacked / 2**20:.0f} MiB, more than the '
        f'{limit / 2**20:.0f} MiB a compressed MusicXML score may hold')


def archive_score_text(path):
  """The text of a compressed MusicXML file's score (its container's first rootfile, or
  its first .xml or .musicxml outside META-INF), for check_musicxml_lengths.

  Call check_archive_size first: what is read here is at most what the directory states.
  """
  try:
    with zipfile.ZipFile(path) as archive:
      names = archive.namelist()
      score = None
      if 'META-INF/container.xml' in names:
        found = re.search(rb'<rootfile[^>]*?full-path="([^"]+)"',
                          archive.read('META-INF/container.xml'))
        if found and found.group(1).decode('utf-8', 'replace') in names:
          score = found.group(1).decode('utf-8', 'replace')
      score = score or next((name for name in names if not name.startswith('META-INF/')
                             and name.lower().endswith(('.xml', '.musicxml'))), None)
      data = archive.read(score) if score is not None else None
  except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as error:
    # (RuntimeError: an encrypted member; ValueError, EOFError: a damaged one.)
    raise melody_lib.UnreadableFileError(
        f'{path}: not a readable compressed MusicXML file ({error})') from error
  if data is None:
    raise melody_lib.UnreadableFileError(f'{path}: the compressed MusicXML file holds no '
                                         'score')
  encoding = 'utf-16' if data[:2] in (b'\xff\xfe', b'\xfe\xff') else 'utf-8-sig'
  return data.decode(encoding, errors='replace')


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
