"""Times the studio's restyle request with the models warm, against the CLI from cold.
Not a test.

  python benchmarks/studio_speed.py [--clients=4] [--requests=40] [--long=4000]
                                    [--memory_requests=0] [--cli_repeats=3]

Starts `python -m stylexfer.programs.studio --port=0` (a real uvicorn process on
127.0.0.1), then: the bundled reel restyled to jazz by --clients clients at once,
--requests requests in all (a new seed each), each timed until its answer (both scores
and the files' addresses), until the WAV the page plays and until its MP3 are downloaded;
the p50 and p95 of each; the same request through `stylexfer-restyle` from a fresh process
(--cli_repeats runs, the median); one --long-note melody (long_restyle's random walk);
the server's resident memory after each quarter of --memory_requests more requests; and,
in this process, where one request's time goes (reading, restyling, engraving, the
other files, the audio). Every count and wait is bounded.
"""

import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import long_restyle  # pylint: disable=g-import-not-at-top,wrong-import-position

flags.DEFINE_integer('clients', 4, 'Clients asking at once.')
flags.DEFINE_integer('requests', 40, 'Timed restyle requests in all.')
flags.DEFINE_integer('long', 4000, 'Notes of the long melody restyled once (0: none).')
flags.DEFINE_integer('memory_requests', 0, 'Requests between the two memory readings.')
flags.DEFINE_integer('cli_repeats', 3, 'Cold stylexfer-restyle runs (the median is kept).')
FLAGS = flags.FLAGS
TIMEOUT = 300  # seconds any one request may take


def _form(fields, files=()):
  boundary = 'stylexferbenchmark'
  parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
           .encode() for name, value in fields.items()]
  for name, (filename, data) in files:
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                 f'filename="{filename}"\r\n\r\n'.encode() + data + b'\r\n')
  return b''.join(parts) + f'--{boundary}--\r\n'.encode(), boundary


def restyle(url, fields, files=(), mp3=False):
  """Seconds of one restyle request: to its answer, and to the WAV the page plays
  downloaded; with `mp3`, also to its MP3 (encoded when first asked for) downloaded."""
  body, boundary = _form(fields, files)
  started = time.perf_counter()
  request = urllib.request.Request(url + 'v1/restyle', data=body, headers={
      'Content-Type': f'multipart/form-data; boundary={boundary}'})
  with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
    found = json.load(answer)
  times = [time.perf_counter() - started]
  for fmt in ('wav', 'mp3') if mp3 else ('wav',):
    with urllib.request.urlopen(url + found['after']['files'][fmt].lstrip('/'),
                                timeout=TIMEOUT) as audio:
      audio.read()
    times.append(time.perf_counter() - started)
  return times


def resident_mb(pid):
  with open(f'/proc/{pid}/status') as f:
    return int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1)) / 1024


def percentile(values, share):
  values = sorted(values)
  return values[min(len(values) - 1, int(round(share * (len(values) - 1))))]


def phases(reel):
  """Seconds of each step of one warm reel request, in this process."""
  import stylexfer  # pylint: disable=g-import-not-at-top
  from stylexfer.writers import audio  # pylint: disable=g-import-not-at-top
  jazz = stylexfer.load('jazz')
  jazz.restyle(stylexfer.read(reel), seed=0)  # warm
  times = {}
  with tempfile.TemporaryDirectory() as folder:
    clock = time.perf_counter()
    melody = stylexfer.read(reel)
    times['read'], clock = time.perf_counter() - clock, time.perf_counter()
    restyled = jazz.restyle(melody, seed=1)
    times['restyle'], clock = time.perf_counter() - clock, time.perf_counter()
    restyled.write(folder, 'x', ('svg',))
    times['engrave (MusicXML, SVG)'], clock = time.perf_counter() - clock, time.perf_counter()
    restyled.write(folder, 'x', ('mid', 'abc'))
    times['MIDI, ABC'], clock = time.perf_counter() - clock, time.perf_counter()
    restyled.write(folder, 'x', ('wav',), synthesizer='pluck')
    times['audio (WAV)'], clock = time.perf_counter() - clock, time.perf_counter()
    audio.mp3_bytes(os.path.join(folder, 'x.wav'))
    times['MP3 encoding'] = time.perf_counter() - clock
  return times


def main(unused_argv):
  import stylexfer  # pylint: disable=g-import-not-at-top
  reel = stylexfer.REEL
  server = subprocess.Popen([sys.executable, '-m', 'stylexfer.programs.studio', '--port=0'],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  try:
    url = re.search(r'http://127\.0\.0\.1:\d+/', server.stdout.readline()).group(0)
    for seed in range(2):
      restyle(url, {'to': 'jazz', 'example': 'reel', 'seed': seed})
    memory_before = resident_mb(server.pid)
    fields = [{'to': 'jazz', 'example': 'reel', 'seed': 100 + n} for n in range(FLAGS.requests)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(FLAGS.clients) as pool:
      timed = list(pool.map(lambda f: restyle(url, f), fields))
    wall = time.perf_counter() - started
    answered, played = ([t[i] for t in timed] for i in range(2))
    kept = restyle(url, {'to': 'jazz', 'example': 'reel', 'seed': 7}, mp3=True)
    long_times = None
    if FLAGS.long:
      with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'long.abc')
        long_restyle.write_abc(path, *long_restyle.melody(FLAGS.long))
        with open(path, 'rb') as f:
          long_times = restyle(url, {'to': 'jazz', 'seed': 1}, [('file', ('long.abc',
                                                                        f.read()))], True)
    memory = [(0, memory_before)]
    for part in range(4 if FLAGS.memory_requests else 0):
      more = [{'to': 'jazz', 'example': 'reel', 'seed': 1000 + part * 1000 + n}
              for n in range(FLAGS.memory_requests // 4)]
      with concurrent.futures.ThreadPoolExecutor(FLAGS.clients) as pool:
        list(pool.map(lambda f: restyle(url, f), more))
      memory.append((memory[-1][0] + len(more), resident_mb(server.pid)))
  finally:
    server.terminate()
    server.wait(timeout=60)
  cli = []
  with tempfile.TemporaryDirectory() as folder:
    for seed in range(FLAGS.cli_repeats):
      clock = time.perf_counter()
      subprocess.run([sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={reel}',
                      '--to=jazz', f'--seed={seed}', f'--out={folder}'], check=True,
                     capture_output=True, timeout=TIMEOUT)
      cli.append(time.perf_counter() - clock)
  cli_median = statistics.median(cli)
  print(f'{os.cpu_count()} CPU cores; load average {os.getloadavg()[0]:.2f} at the end')
  print(f'reel restyled to jazz, {FLAGS.requests} requests, {FLAGS.clients} clients at once '
        f'({wall:.1f} s in all, {FLAGS.requests / wall:.2f} requests a second):')
  print(f'  answer (both scores, WAV, MIDI, ABC): p50 {percentile(answered, 0.5) * 1000:.0f} ms,'
        f' p95 {percentile(answered, 0.95) * 1000:.0f} ms')
  print(f'  answer and its WAV downloaded:        p50 {percentile(played, 0.5) * 1000:.0f} ms,'
        f' p95 {percentile(played, 0.95) * 1000:.0f} ms')
  print(f'  one more, alone, with its MP3 downloaded (made when asked for): '
        f'{kept[2] * 1000:.0f} ms ({kept[0] * 1000:.0f} ms to the answer)')
  print(f'  stylexfer-restyle from cold: median {cli_median:.2f} s ({FLAGS.cli_repeats} runs); '
        f'{cli_median / percentile(played, 0.5):.0f}x the answer-and-WAV p50')
  if long_times:
    print(f'{FLAGS.long}-note melody: answer {long_times[0]:.2f} s, with its MP3 '
          f'{long_times[1]:.2f} s')
  print('server memory after warming and the timed requests, then after each quarter of '
        '--memory_requests more: ' + ', '.join(f'{mb:.0f} MB (+{n})' for n, mb in memory))
  print('one warm request, step by step, in this process:')
  for step, seconds in phases(reel).items():
    print(f'  {step:<26}{seconds * 1000:8.0f} ms')


if __name__ == '__main__':
  app.run(main)
