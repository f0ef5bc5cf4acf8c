"""Damaged files and small disks, shared by the tests of bad inputs and bad disks.

A full disk is a real tmpfs of a few kB in a private mount namespace (`unshare -rm`);
tests that need one skip where the machine does not allow it.
"""

import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subprocess_env():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3')
  env['PYTHONPATH'] = os.pathsep.join(filter(None, [REPO, env.get('PYTHONPATH')]))
  return env


def garble(path):
  data = bytearray(open(path, 'rb').read())
  for i in range(0, len(data), 7):
    data[i] ^= 0x5A
  open(path, 'wb').write(bytes(data))


def truncate(path):
  data = open(path, 'rb').read()
  open(path, 'wb').write(data[:len(data) // 2])


def empty(path):
  open(path, 'wb').close()


def leftovers(folder):
  """Temporary files that a failed write must not leave behind."""
  return [name for name in os.listdir(folder) if 'partial' in name or name.endswith('_temp')]


def can_mount_tmpfs():
  if not shutil.which('unshare'):
    return False
  done = subprocess.run(['unshare', '-rm', 'sh', '-c', 'mount -t tmpfs -o size=4k tmpfs /mnt'],
                        capture_output=True, check=False)
  return done.returncode == 0


def on_tmpfs(size, command, mount_point):
  """Runs `command` (a shell line) with a tmpfs of `size` mounted at mount_point, in a
  private mount namespace; returns the CompletedProcess."""
  os.makedirs(mount_point, exist_ok=True)
  script = f'mount -t tmpfs -o size={size} tmpfs {mount_point} && {command}'
  return subprocess.run(['unshare', '-rm', 'sh', '-c', script], capture_output=True,
                        text=True, env=subprocess_env(), cwd=REPO, timeout=300, check=False)


needs_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(),
                                 reason='no private mount namespace for a small tmpfs')
