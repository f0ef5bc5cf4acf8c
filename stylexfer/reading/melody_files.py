"""Melody files: their formats by suffix, and reading them safely.

A user's file is read with limits: a compressed MusicXML file's unpacked size is checked
before music21 unpacks it, and music21's scratch folder (its parse cache of pickles) is
one that only this user can write.
"""

import functools
import os
import stat
import tempfile
import zipfile

from music21 import environment

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
