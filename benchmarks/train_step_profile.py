"""Where the train step's time goes, op by op, from TensorFlow's profiler.

  python benchmarks/train_step_profile.py [--data_dir=DATA --dataset=folk | --synthetic=600]
      [--variant=bf16] [--batch_size=64] [--steps=3] [--intra_op_threads=1]
      [--inter_op_threads=1] [--top=30] [--logdir=DIR]

Profiles --steps train steps of a variant of training_throughput.py (the same Task, the same
batches) and sums the ops' times by type, apart for the ops inside while loops (the LSTM
passes' steps, forward and backward: one call per note) and those outside them. Each line is
ms per train step, calls per train step and us per call. With one thread in each pool (the
default) ops run one after another, so their times add up to about the step's wall time and
say what each kind of work costs; with more threads they overlap.

The profiler's own cost varies from run to run on this stack: in one run the ops of a step
summed to 507 ms against 486 ms unprofiled, in another (same code, same machine, quiet) to
twice the unprofiled step, the extra time all in the small ops that enter the thread pool
(Cast, ConcatV2, Split). So the step is timed with and without the profiler, and a
breakdown is worth reading only when the two agree.
"""

import argparse
import collections
import glob
import tempfile
import time

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from stylexfer.dataset import windows
from stylexfer.model import melody_model
from stylexfer.training import config as config_lib
from stylexfer.training import strategy as strategy_lib

import training_throughput


def op_times(logdir, steps):
  """{(inside a loop, op type): [ms, calls]} per step, from the profile in `logdir`."""
  path, = glob.glob(f'{logdir}/**/*.xplane.pb', recursive=True)
  space = xplane_pb2.XSpace()
  with open(path, 'rb') as f:
    space.ParseFromString(f.read())
  times = collections.defaultdict(lambda: [0.0, 0.0])
  for plane in space.planes:
    if plane.name != '/host:CPU':
      continue
    for line in plane.lines:
      if not line.name.startswith('tf_Compute'):  # Python's, tf.data's threads
        continue
      for event in line.events:
        name = plane.event_metadata[event.metadata_id].name
        if ':' not in name:  # the thread pool's own events
          continue
        op_name, op_type = name.rsplit(':', 1)
        if op_type == 'Process':  # the executor's event around each op
          continue
        in_loop = any(part.startswith('while') for part in op_name.split('/'))
        times[in_loop, op_type][0] += event.duration_ps / 1e9 / steps
        times[in_loop, op_type][1] += 1 / steps
  return times


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--variant', default='bf16', choices=training_throughput.VARIANTS)
  parser.add_argument('--batch_size', type=int, default=64)
  parser.add_argument('--steps', type=int, default=3, help='profiled train steps')
  parser.add_argument('--warmup', type=int, default=3)
  parser.add_argument('--dataset', default='folk')
  parser.add_argument('--data_dir', default='', help='TFDS data folder; without it '
                      '--synthetic melodies')
  parser.add_argument('--synthetic', type=int, default=600)
  parser.add_argument('--intra_op_threads', type=int, default=1)
  parser.add_argument('--inter_op_threads', type=int, default=1)
  parser.add_argument('--top', type=int, default=30, help='op types listed')
  parser.add_argument('--logdir', default='', help='keep the profile here (for TensorBoard)')
  args = parser.parse_args()
  strategy_lib.set_threads(args.intra_op_threads, args.inter_op_threads)

  config = melody_model.preset('default')
  melodies = (windows.load_split(args.dataset, 'train', args.data_dir) if args.data_dir else
              windows.synthetic_melodies(args.synthetic, seed=0))
  task = training_throughput.make_task(
      args.variant, config, config_lib.TrainingConfig(batch_size=args.batch_size))
  batches = iter(windows.train_batches(
      windows.melody_windows(melodies, config.window), args.batch_size, seed=0))
  def ms_per_step(steps):
    started = time.perf_counter()
    for _ in range(steps):
      task.train_step(batches)
    return (time.perf_counter() - started) / steps * 1e3

  ms_per_step(args.warmup)
  wall = ms_per_step(args.steps)
  logdir = args.logdir or tempfile.mkdtemp(prefix='train_step_profile_')
  tf.profiler.experimental.start(logdir)
  profiled = ms_per_step(args.steps)
  tf.profiler.experimental.stop()
  times = op_times(logdir, args.steps)

  total = sum(ms for ms, _ in times.values())
  in_loops = sum(ms for (in_loop, _), (ms, _) in times.items() if in_loop)
  matmuls = sum(ms for (_, op_type), (ms, _) in times.items() if 'MatMul' in op_type)
  print(f'{args.variant}, batch {args.batch_size}, threads intra-op {args.intra_op_threads} '
        f'inter-op {args.inter_op_threads}: a train step {wall:.1f} ms unprofiled, '
        f'{profiled:.1f} ms profiled; ops {total:.1f} ms (in loops {in_loops:.1f}, '
        f'outside {total - in_loops:.1f}; matmuls {matmuls:.1f})')
  print(f'{"where":7} {"op":24} {"ms/step":>8} {"calls":>7} {"us/call":>8}')
  ranked = sorted(times.items(), key=lambda item: -item[1][0])[:args.top]
  for (in_loop, op_type), (ms, calls) in ranked:
    print(f'{"loop" if in_loop else "outside":7} {op_type:24} {ms:8.2f} {calls:7.0f} '
          f'{ms / calls * 1e3:8.1f}')
  print(f'profile: {logdir}')


if __name__ == '__main__':
  main()
