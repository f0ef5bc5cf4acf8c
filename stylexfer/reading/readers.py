"""A melody file read by the reader its suffix names: ABC (many tunes), MIDI or MusicXML.

A request names a file and, for an ABC file, a tune by position or title; `find_tune`
checks it without parsing music, so that a program can refuse it before loading a model.
"""

import os

from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.reading import score_reader


def read_melodies(path):
  """Every melody in a file, chosen by its suffix: ABC (many tunes), MIDI or MusicXML."""
  suffix = os.path.splitext(str(path))[1].lower()
  if suffix in melody_files.ABC_SUFFIXES:
    return abc_reader.read_abc(path)
  if suffix in melody_files.MIDI_SUFFIXES + melody_files.MUSICXML_SUFFIXES:
    return [score_reader.read_score(path)]
  raise melody_lib.UnreadableFileError(
      f'{path}: unknown melody format {suffix!r} (use ABC, MIDI or MusicXML)')


_MAX_TUNES_LISTED = 6


def _describe(tunes):
  listed = ', '.join(f'{i} {title!r}' if title else str(i)
                     for i, (_, title, _) in enumerate(tunes[:_MAX_TUNES_LISTED], 1))
  more = ', ...' if len(tunes) > _MAX_TUNES_LISTED else ''
  return f'{len(tunes)} tune{"s" if len(tunes) != 1 else ""}: {listed}{more}'


def choose_tune(tunes, tune, path):
  """The (number, title, text) of an ABC file's tune chosen by position or title."""
  if tune is None or not str(tune).strip():
    return tunes[0]
  tune = str(tune).strip()
  if tune.isdecimal() and tune.isascii():
    if 1 <= int(tune) <= len(tunes):
      return tunes[int(tune) - 1]
    raise melody_lib.NoSuchTuneError(f'{path}: there is no tune {tune} (the file holds '
                                     f'{_describe(tunes)})')
  wanted = tune.casefold()
  for match in (lambda title: title.casefold() == wanted,
                lambda title: wanted in title.casefold()):
    found = [t for t in tunes if match(t[1])]
    if found:
      return found[0]
  raise melody_lib.NoSuchTuneError(f'{path}: no tune is titled {tune!r} (the file holds '
                                   f'{_describe(tunes)})')


def find_tune(path, tune=None):
  """Checks a request for a melody without parsing music: the file, and which tune.

  Returns the ABC tune that `tune` chooses (number, title, text), or None for a MIDI or
  MusicXML file, which holds one melody. Raises a MelodyError that names the file and
  the problem.
  """
  if not os.path.exists(path):
    raise melody_lib.UnreadableFileError(f'{path}: no such file')
  if os.path.isdir(path):
    raise melody_lib.UnreadableFileError(f'{path}: is a folder, not a melody file')
  if os.path.getsize(path) == 0:
    raise melody_lib.UnreadableFileError(f'{path}: the file is empty')
  if os.path.splitext(path)[1].lower() in melody_files.ABC_SUFFIXES:
    tunes = abc_reader.split_abc(melody_files.read_text(path))
    if not tunes:
      raise melody_lib.NoNotesError(f'{path}: holds no ABC tune (no X: line)')
    return choose_tune(tunes, tune, path)
  if tune is not None and str(tune).strip() not in ('', '1'):
    raise melody_lib.NoSuchTuneError(
        f'{path}: a tune is chosen among the tunes of an ABC file; this file holds one melody')
  return None


def read_melody(path, tune=None):
  """One melody from a file: an ABC file's tune chosen by `tune` (position or title).

  Raises a MelodyError that names the file and the problem.
  """
  chosen = find_tune(path, tune)
  if chosen is not None:
    number, title, text = chosen
    return abc_reader.parse_abc_tune(text, path, number, title)
  return read_melodies(path)[0]
