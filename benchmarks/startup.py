"""Times the README's restyle of the bundled reel against its floor: starting TensorFlow
and loading the models it needs. Not a test.

  python benchmarks/startup.py [--repeats=5]

Each repeat runs, in fresh processes and in turn,
  floor    python -c 'import tensorflow; load the folk and jazz SavedModels'
  restyle  stylexfer-restyle --input=stylexfer/examples/the_stylexfer_reel.abc --to=jazz
           --from=folk --seed=1 --out=DIR   (the README's first command)
and prints the median of each and their ratio (the target is at most 1.5).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

flags.DEFINE_integer('repeats', 5, 'Runs of each command (the median is kept).')
FLAGS = flags.FLAGS

_REEL = os.path.join(os.path.dirname(__file__), '..', 'stylexfer', 'examples',
                     'the_stylexfer_reel.abc')
_FLOOR = ("import os; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2'); "
          'import tensorflow as tf; from stylexfer.serving import loading; '
          "[tf.saved_model.load(loading.find_model(g)) for g in ('jazz', 'folk')]")


def _seconds(command):
  start = time.perf_counter()
  subprocess.run(command, check=True, capture_output=True)
  return time.perf_counter() - start


def main(argv):
  del argv
  out = tempfile.mkdtemp(prefix='startup_')
  commands = {
      'floor': [sys.executable, '-c', _FLOOR],
      'restyle': [sys.executable, '-m', 'stylexfer.programs.restyle', f'--input={_REEL}',
                  '--to=jazz', '--from=folk', '--seed=1', f'--out={out}'],
  }
  times = {name: [] for name in commands}
  for _ in range(FLAGS.repeats):
    for name, command in commands.items():
      times[name].append(_seconds(command))
  medians = {name: statistics.median(values) for name, values in times.items()}
  for name, values in times.items():
    print(f'{name}: median {medians[name]:.2f} s (runs '
          f'{", ".join(f"{v:.2f}" for v in values)})')
  print(f'ratio restyle / floor: {medians["restyle"] / medians["floor"]:.2f}; '
        f'{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
  app.run(main)
