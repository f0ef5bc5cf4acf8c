"""Tunes parsed under a time and a memory limit: one that passes either, hangs where no
timer reaches or kills its worker is dropped and counted, and the others are parsed."""

import collections
import os
import pathlib
import signal
import subprocess
import sys
import time

from stylexfer.dataset import corpus
from stylexfer.dataset import guarded


def _parse(item):
  """A stand-in for parse_tune_counted that misbehaves as `item` says (a module-level
  function: it travels to the workers by name)."""
  kind, value = item
  if kind == 'sleep':
    time.sleep(value)
  elif kind == 'allocate':
    bytearray(value)
  elif kind == 'stuck':  # as a long C call that no timer interrupts
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(value)
  elif kind == 'die':
    os.kill(os.getpid(), signal.SIGKILL)
  elif kind == 'say pid, sleep':
    print(os.getpid(), flush=True)
    time.sleep(value)
  return value, collections.Counter({'tunes read': 1})


def _values(results):
  return [value if value is not None else sorted(counts) for value, counts in results]


SLOW = ['dropped tunes: too slow', 'tunes read']
LARGE = ['dropped tunes: too large', 'tunes read']


def test_a_slow_or_large_tune_is_dropped_and_counted():
  results = guarded.parse_all(
      _parse, [('ok', 1), ('sleep', 60), ('ok', 2), ('allocate', 8 * 2**30), ('ok', 3)],
      processes=2, seconds=1, memory=2**30, grace=5)
  assert _values(results) == [1, SLOW, 2, LARGE, 3]


def test_a_stuck_or_killed_worker_costs_only_its_own_tune():
  started = time.monotonic()
  results = guarded.parse_all(
      _parse, [('ok', 1), ('stuck', 60), ('ok', 2), ('die', 0), ('ok', 3), ('ok', 4)],
      processes=2, seconds=1, memory=2**30, grace=3)
  assert _values(results) == [1, SLOW, 2, LARGE, 3, 4]
  assert time.monotonic() - started < 50  # not the stuck tune's minute


def test_a_reader_that_runs_out_of_memory_counts_too_large(monkeypatch):
  def exhausted(text):
    raise MemoryError()
  monkeypatch.setattr(corpus.abc_reader, 'abc_score', exhausted)
  tune = corpus.Tune((0, 0), 'x.abc', '1', 'X', text='X:1\nT:X\nM:4/4\nK:C\nCDEF|]\n')
  melody, counts = corpus.parse_tune_counted(tune)
  assert melody is None and counts[guarded.TOO_LARGE] == 1


def test_a_slow_tune_read_here_is_dropped_too(monkeypatch):
  monkeypatch.setattr(guarded, 'SECONDS', 0.2)
  monkeypatch.setattr(corpus.abc_reader, 'abc_score', lambda text: time.sleep(30))
  tunes = [corpus.Tune((0, 0), 'x.abc', '1', 'X', text='X:1\nT:X\nM:4/4\nK:C\nCDEF|]\n')]
  ((melody, counts),) = corpus.parse_all(tunes, processes=1)
  assert melody is None and counts[guarded.TOO_SLOW] == 1


def test_a_killed_build_takes_its_workers_with_it():
  import breakage  # pylint: disable=g-import-not-at-top  (not in the workers, which load this)
  script = ('import sys; sys.path.insert(0, sys.argv[1]); import test_guarded; '
            'from stylexfer.dataset import guarded; '
            "guarded.parse_all(test_guarded._parse, [('say pid, sleep', 60)], processes=1)")
  build = subprocess.Popen([sys.executable, '-c', script, str(pathlib.Path(__file__).parent)],
                           stdout=subprocess.PIPE, text=True, env=breakage.subprocess_env())
  try:
    worker = int(build.stdout.readline())
  finally:
    build.kill()
    build.wait()
  for _ in range(100):
    if not os.path.exists(f'/proc/{worker}') or _zombie(worker):
      return
    time.sleep(0.05)
  os.kill(worker, signal.SIGKILL)
  raise AssertionError('the worker outlived the build')


def _zombie(pid):
  try:
    return pathlib.Path(f'/proc/{pid}/stat').read_text().split(')')[1].split()[0] == 'Z'
  except OSError:
    return True
