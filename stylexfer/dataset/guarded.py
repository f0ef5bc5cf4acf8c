"""Parses corpus tunes in worker processes, each tune under a time and a memory limit.

One file that music21 would parse for hours, or into gigabytes, must not stop or hang a
build: a tune past SECONDS is dropped as 'too slow', one past MEMORY (or one whose worker
dies) as 'too large', and the build goes on with the others.

  parse(tune) -> (melody or None, Counter of what it counted)

Each worker caps its own address space (RLIMIT_AS), so an allocation past the cap raises
MemoryError there; a timer interrupts a parse at its limit. A worker stuck where the timer
cannot reach it (inside one long C call), or killed, breaks the pool: the tunes it held
are parsed again one at a time, so that the one to blame is found and dropped.
"""

import collections
import concurrent.futures
import ctypes
import multiprocessing
import os
import resource
import signal
import threading

# A 4,000-note tune (the most a model takes; benchmarks/long_restyle.py's, as ABC or MIDI)
# parses in 5.5 to 8.2 s in a process that peaks at 0.22 GB of address space, on a loaded
# 2-core machine: each limit leaves it a wide margin.
SECONDS = 120        # one tune's parse
MEMORY = 3 * 2**30   # a worker's address space
GRACE = 30           # seconds past SECONDS before workers that no timer stopped are ended

TOO_SLOW = 'dropped tunes: too slow'
TOO_LARGE = 'dropped tunes: too large'


class _OutOfTime(BaseException):
  """A parse's timer went off. Not an Exception, so that music21's and the readers' broad
  `except Exception` cannot take it for a file that cannot be parsed."""


def _out_of_time(signum, frame):
  del signum, frame
  raise _OutOfTime()


def _dropped(reason):
  return None, collections.Counter({'tunes read': 1, reason: 1})


def parse_one(parse, tune, seconds=None):
  """parse(tune), dropped as TOO_SLOW after `seconds` (default SECONDS) or as TOO_LARGE
  on a MemoryError.

  The timer needs the process's main thread (a pool worker's, or a program's) and no
  timer of the caller's set; elsewhere the parse runs without it.
  """
  timed = (threading.current_thread() is threading.main_thread() and
           not signal.getitimer(signal.ITIMER_REAL)[0])
  if timed:
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds or SECONDS)
  try:
    return parse(tune)
  except _OutOfTime:
    return _dropped(TOO_SLOW)
  except MemoryError:
    return _dropped(TOO_LARGE)
  finally:
    if timed:
      signal.setitimer(signal.ITIMER_REAL, 0)
      signal.signal(signal.SIGALRM, previous)


_PR_SET_PDEATHSIG = 1


def _start_worker(limit, parent):
  """A worker's initializer: caps its address space at `limit` bytes (a lower cap stays),
  and ends the worker when the build's process ends.

  A spawned worker holds both ends of the pool's queue, so a build that is killed would
  leave its workers waiting on it for good.
  """
  try:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
  except (OSError, AttributeError):  # not Linux: an orphaned worker stays
    pass
  if os.getppid() != parent:  # the build ended before the call above
    os._exit(1)  # pylint: disable=protected-access
  soft, hard = resource.getrlimit(resource.RLIMIT_AS)
  if hard != resource.RLIM_INFINITY:
    limit = min(limit, hard)
  if soft == resource.RLIM_INFINITY or soft > limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _ready():
  return True


def _pool(processes, memory):
  """A pool whose first worker has started (a worker's start is no parse's time)."""
  # 'spawn' because the parent has TensorFlow loaded, which does not survive fork.
  pool = concurrent.futures.ProcessPoolExecutor(
      processes, mp_context=multiprocessing.get_context('spawn'),
      initializer=_start_worker, initargs=(memory, os.getpid()))
  pool.submit(_ready).result()
  return pool


def _end(pool):
  """Kills the pool's workers (the pool is broken after)."""
  terminate = getattr(pool, 'terminate_workers', None)  # Python 3.14
  if terminate:
    terminate()
    return
  # Before 3.14 a ProcessPoolExecutor has no public way to stop a running call.
  for process in list(getattr(pool, '_processes', {}).values()):
    process.kill()


def parse_all(parse, tunes, processes, seconds=None, memory=None, grace=None):
  """[parse_one(parse, tune)] for every tune, in order, on `processes` worker processes;
  the limits are SECONDS, MEMORY and GRACE unless given.

  `parse` must be a module-level function (it travels to the workers by name).
  """
  seconds, memory, grace = seconds or SECONDS, memory or MEMORY, grace or GRACE
  results = [None] * len(tunes)
  lost = _run(parse, tunes, range(len(tunes)), results, processes, seconds, memory, grace)
  # The tunes a broken pool held, again, each alone: a worker that dies or is ended now
  # was parsing that tune.
  _run(parse, tunes, lost, results, 1, seconds, memory, grace, alone=True)
  return results


def _run(parse, tunes, order, results, processes, seconds, memory, grace, alone=False):
  """Parses tunes[i] into results[i] for i in `order`; returns the indices that a broken
  pool lost (alone: none, they are counted as dropped)."""
  queue, lost = collections.deque(order), []
  # A few calls ahead keep the workers busy; a broken pool loses only those.
  window = 1 if alone else 2 * processes
  pool, running, ended = None, {}, False
  try:
    while queue or running:
      if pool is None:
        pool, ended = _pool(processes, memory), False
      while queue and len(running) < window:
        index = queue.popleft()
        running[pool.submit(parse_one, parse, tunes[index], seconds)] = index
      # A running parse ends within `seconds` of its start, by its timer: when none has
      # ended for longer, every worker is stuck where the timer cannot reach. (Workers
      # after the first start while it parses.)
      done, _ = concurrent.futures.wait(running, timeout=seconds + grace,
                                        return_when=concurrent.futures.FIRST_COMPLETED)
      if not done:
        _end(pool)
        ended = True
        done, _ = concurrent.futures.wait(running)
      broken = False
      while done:
        for future in done:
          index = running.pop(future)
          try:
            results[index] = future.result()
          except concurrent.futures.process.BrokenProcessPool:
            broken = True
            if alone:
              results[index] = _dropped(TOO_SLOW if ended else TOO_LARGE)
            else:
              lost.append(index)
        # A broken pool fails every call it still holds.
        done = concurrent.futures.wait(running)[0] if broken else ()
      if broken:
        pool.shutdown(wait=True)
        pool = None
  finally:
    if pool is not None:
      pool.shutdown(wait=True, cancel_futures=True)
  return lost
