"""What a compiled note costs: the heads' cells alone against the whole signature.

  python benchmarks/compiled_note.py [--saved_model=stylexfer/pretrained/folk/1]
      [--length=128] [--batch_size=64] [--rounds=7] [--calls=5]

Times, turn about in one process, under XLA for --length notes at batch 1 and at
--batch_size (the flags of sampler_speed.py):
  generate_compiled   the reloaded SavedModel's signature (draws, nucleus, checks)
  both cells          the same two heads stepped note after note (`Head.step`), each draw
                      replaced by an argmax: the LSTM layers and output layers only
                      (Head.step gathers five table rows a head, where generate folds
                      them into two: a few gathers more than the signature's cells)
  pitch cell          the pitch head alone, its draw an argmax
and in the same rounds a 2048 x 2048 fp32 matmul, against which the model's work is set
as sampler_speed.py sets it. The cells are what a note cannot do without: however cheap
the draws become, a melody takes at least `both cells`.
"""

import os
import statistics

from absl import app
from absl import flags
import tensorflow as tf

import sampler_speed  # its flags: --saved_model, --length, --batch_size
import turns
from stylexfer.serving import sampling
from stylexfer.tokens import vocabulary

flags.DEFINE_integer('rounds', 7, 'Rounds turn about (the median is kept).')
flags.DEFINE_integer('calls', 5, 'Timed calls of each per round.')
FLAGS = flags.FLAGS


def argmax_loop(heads, batch_size, length):
  """An XLA loop of `length` notes through `heads`, each draw an argmax."""
  metre_ids = sampling.unknown_metre(batch_size)

  @tf.function(jit_compile=True)
  def run():
    def body(t, interval, duration, states, total):
      new_states = []
      for k, (head, state) in enumerate(zip(heads, states)):
        # The pitch head hears the previous note; the duration head this note's interval.
        logits, state = head.step(interval, duration, metre_ids, state)
        drawn = tf.argmax(logits, -1, output_type=tf.int32)
        if k == 0:
          interval = drawn
        else:
          duration = drawn
        new_states.append(state)
      return t + 1, interval, duration, new_states, total + interval + duration

    start = tf.fill([batch_size], vocabulary.START)
    states = [tf.zeros([batch_size, head.state_size]) for head in heads]
    return tf.while_loop(lambda t, *_: t < length, body,
                         (tf.constant(0), start, start, states,
                          tf.zeros([batch_size], tf.int32)))[-1]
  return run


def main(argv):
  del argv
  model = tf.saved_model.load(FLAGS.saved_model)
  pitch = sampling.Head.of(model, 'pitch')
  duration = sampling.Head.of(model, 'duration')
  units, layers = pitch.state_size // 4, 2  # two layers of h and c
  pitch_flops = sampler_speed.model_flops(units, layers, vocabulary.NUM_INTERVALS)
  note_flops = {'generate_compiled': pitch_flops + sampler_speed.model_flops(
      units, layers, vocabulary.NUM_DURATIONS)}
  note_flops['both cells'] = note_flops['generate_compiled']
  note_flops['pitch cell'] = pitch_flops
  matmul, matmul_flops = turns.reference_matmul()
  signature = model.signatures['generate_compiled']
  length = FLAGS.length
  print(f'{FLAGS.saved_model}, {length} notes, medians of {FLAGS.rounds} rounds of '
        f'{FLAGS.calls} calls, load average {os.getloadavg()[0]:.2f}')
  print('| batch | run | ms per melody | us per note | of generate_compiled | model GFLOP/s |'
        ' matmul GFLOP/s, same rounds | of matmul |')
  print('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for batch_size in (1, FLAGS.batch_size):
    request = sampler_speed.generate_request(batch_size, length)
    both = argmax_loop([pitch, duration], batch_size, length)
    alone = argmax_loop([pitch], batch_size, length)
    runs = {'matmul': matmul,
            'generate_compiled': lambda r=request: signature(**r)['durations'].numpy(),
            'both cells': lambda loop=both: loop().numpy(),
            'pitch cell': lambda loop=alone: loop().numpy()}
    for run in runs.values():
      run()  # traced and compiled outside the timing
    seconds = {name: statistics.median(spent) for name, spent in
               turns.seconds_per_call(runs, FLAGS.rounds, FLAGS.calls).items()}
    peak = matmul_flops / seconds.pop('matmul') / 1e9
    for name, spent in seconds.items():
      gflops = batch_size * length * note_flops[name] / spent / 1e9
      print(f'| {batch_size} | {name} | {spent / batch_size * 1e3:.2f} | '
            f'{spent / batch_size / length * 1e6:.1f} | '
            f'{spent / seconds["generate_compiled"]:.0%} | {gflops:.1f} | {peak:.1f} | '
            f'{gflops / peak:.0%} |')


if __name__ == '__main__':
  app.run(main)
