"""Writes output files whole or not at all: a temporary name in the same folder, then rename.

  with atomic.open_for_write('out/tune.abc', 'w', encoding='utf-8') as f:
    f.write(text)
  with atomic.replace_with('out/tune.mid') as temporary:
    score.write('midi', fp=temporary)      # a writer that wants a path

A full disk, a read-only folder or a kill half-way leaves the file as it was (or absent),
never a truncated one: the rename is atomic within one file system, which is why the
temporary name lives in the target's own folder. Errors come out as OutputError, an
OSError whose message names the file the user asked for (not the temporary one) and why.
"""

import contextlib
import errno
import os
import tempfile

try:
  import fcntl
except ImportError:  # not POSIX: no locks
  fcntl = None


class OutputError(OSError):
  """An output file that cannot be written; the message names it and says why."""


class Discard(Exception):  # pylint: disable=g-bad-exception-name
  """Raise inside replace_with to drop the temporary file and leave the target untouched."""


def describe(error):
  """The reason of an OSError in words ('No space left on device')."""
  return error.strerror or str(error) or type(error).__name__


def _error(path, error, temporary=None):
  if isinstance(error, OutputError):
    if temporary is None or error.filename != temporary:
      return error
    # A writer that itself writes atomically was handed this temporary name (audio's WAV
    # writer, inside the renderer's replace_with): its error names the file asked for.
    return OutputError(error.errno, error.strerror.replace(temporary, path), path)
  if error.errno == errno.ENOSPC:
    why = 'no space left on the device'
  elif error.errno in (errno.EACCES, errno.EPERM):
    why = 'permission denied'
  elif error.errno == errno.EROFS:
    why = 'the file system is read-only'
  elif error.errno == errno.EISDIR or os.path.isdir(path):
    why = 'a folder of that name is in the way'
  else:
    why = describe(error)
  return OutputError(error.errno, f'{path}: cannot write ({why})', os.fspath(path))


def _suffix(name):
  # The whole extension, so writers that insist on one ('.weights.h5', '.keras') accept
  # the temporary name too.
  stem = name.lstrip('.')
  return stem[stem.index('.'):] if '.' in stem else ''


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def replace_with(path):
  """Yields a temporary path beside `path`; renames it to `path` when the block succeeds.

  On an exception the temporary file is removed and `path` is left as it was; an OSError
  becomes OutputError naming `path`. Raise Discard in the block to skip the file.
  """
  path = os.fspath(path)
  folder, name = os.path.split(os.path.abspath(path))
  suffix = _suffix(name)
  temporary = None
  try:
    descriptor, temporary = tempfile.mkstemp(
        prefix=f'.{name[:len(name) - len(suffix)]}.', suffix=f'.partial{suffix}', dir=folder)
    os.close(descriptor)
    # mkstemp makes the file private (0600); an output file gets the usual permissions.
    os.chmod(temporary, 0o666 & ~_umask())
    yield temporary
    with open(temporary, 'rb') as f:
      os.fsync(f.fileno())  # the data reaches the disk before the name does
    os.replace(temporary, path)
    temporary = None
  except Discard:
    pass
  except OSError as error:
    raise _error(path, error, temporary) from error
  finally:
    if temporary is not None:
      with contextlib.suppress(OSError):
        os.remove(temporary)


@contextlib.contextmanager
def open_for_write(path, mode='w', **kwargs):
  """open(path, mode) that writes a temporary file and renames it into place on success."""
  if not any(flag in mode for flag in 'wx'):
    raise ValueError(f'open_for_write writes new files (mode "w" or "wb"), not {mode!r}')
  with replace_with(path) as temporary:
    try:
      with open(temporary, mode.replace('x', 'w'), **kwargs) as f:
        yield f
    except OSError as error:
      raise _error(path, error) from error


def write_bytes(path, data):
  """Writes `data` (bytes) to `path` atomically; returns path."""
  with open_for_write(path, 'wb') as f:
    f.write(data)
  return path


def write_text(path, text, encoding='utf-8'):
  """Writes `text` to `path` atomically; returns path."""
  with open_for_write(path, 'w', encoding=encoding) as f:
    f.write(text)
  return path


def make_folder(folder):
  """Makes an output folder (and its parents); OutputError when it cannot be one."""
  folder = os.fspath(folder)
  if os.path.exists(folder) and not os.path.isdir(folder):
    raise OutputError(errno.ENOTDIR, f'{folder}: is a file, not a folder to write into',
                      folder)
  try:
    os.makedirs(folder, exist_ok=True)
  except OSError as error:
    raise OutputError(error.errno, f'{folder}: cannot make the folder '
                      f'({describe(error)})', folder) from error
  return folder


@contextlib.contextmanager
def locked(folder, waiting=None):
  """Holds an exclusive lock on `folder` itself (fcntl.flock on the folder) for the block,
  so that one process at a time runs it for that folder; calls `waiting()` first when
  another process holds it, then waits.

  The folder is locked rather than a file in it, so no lock file is left among the
  outputs. A folder that cannot be opened, or a file system without locks, runs the
  block unlocked: what the block writes says what is wrong.
  """
  try:
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
  except OSError:
    descriptor = None
  try:
    if descriptor is not None and fcntl is not None:
      try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        if waiting:
          waiting()
        fcntl.flock(descriptor, fcntl.LOCK_EX)
      except OSError:  # no locks here (some network file systems)
        pass
    yield
  finally:
    if descriptor is not None:
      os.close(descriptor)  # and with it the lock
