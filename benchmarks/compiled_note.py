"""What a compiled note costs at batch 1: the heads' cells alone against the whole signature.

  python benchmarks/compiled_note.py [--saved_model=stylexfer/pretrained/folk/1]
      [--length=128] [--rounds=7] [--calls=5]

Times, turn about in one process, under XLA at batch 1 for --length notes:
  generate_compiled   the reloaded SavedModel's signature (draws, nucleus, checks)
  both cells          the same two heads stepped note after note (`Head.step`), each draw
                      replaced by an argmax: the LSTM layers and output layers only
                      (Head.step gathers five table rows a head, where generate folds
                      them into two: a few gathers more than the signature's cells)
  pitch cell          the pitch head alone, its draw an argmax
The cells are what a note cannot do without: however cheap the draws become, a melody
takes at least `both cells`.
"""

import os
import statistics

from absl import app
from absl import flags
import tensorflow as tf

import turns
from stylexfer.serving import sampling
from stylexfer.tokens import vocabulary

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string('saved_model', os.path.join(_HERE, 'stylexfer', 'pretrained', 'folk', '1'),
                    'The export to time.')
flags.DEFINE_integer('length', 128, 'Notes per melody.')
flags.DEFINE_integer('rounds', 7, 'Rounds turn about (the median is kept).')
flags.DEFINE_integer('calls', 5, 'Timed calls of each per round.')
FLAGS = flags.FLAGS


def argmax_loop(heads, length):
  """An XLA loop of `length` notes at batch 1 through `heads`, each draw an argmax."""
  metre_ids = sampling.unknown_metre(1)

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

    start = tf.fill([1], vocabulary.START)
    states = [tf.zeros([1, head.state_size]) for head in heads]
    return tf.while_loop(lambda t, *_: t < length, body,
                         (tf.constant(0), start, start, states, tf.zeros([1], tf.int32)))[-1]
  return run


def main(argv):
  del argv
  model = tf.saved_model.load(FLAGS.saved_model)
  pitch = sampling.Head.of(model, 'pitch')
  duration = sampling.Head.of(model, 'duration')
  request = dict(seed=tf.constant(0, tf.int64), length=tf.constant(FLAGS.length),
                 batch_size=tf.constant(1), temperature=tf.constant(1.0),
                 top_p=tf.constant(0.9))
  signature = model.signatures['generate_compiled']
  loops = {'both cells': argmax_loop([pitch, duration], FLAGS.length),
           'pitch cell': argmax_loop([pitch], FLAGS.length)}
  runs = {'generate_compiled': lambda: signature(**request)['durations'].numpy(),
          **{name: lambda loop=loop: loop().numpy() for name, loop in loops.items()}}
  for run in runs.values():
    run()  # traced and compiled outside the timing
  times = turns.seconds_per_call(runs, FLAGS.rounds, FLAGS.calls)
  whole = statistics.median(times['generate_compiled'])
  print(f'batch 1, {FLAGS.length} notes, medians of {FLAGS.rounds} rounds of '
        f'{FLAGS.calls} calls ({FLAGS.saved_model}):')
  for name, spent in times.items():
    seconds = statistics.median(spent)
    print(f'  {name:18} {seconds * 1e3:6.2f} ms a melody  {seconds / FLAGS.length * 1e6:6.1f} us '
          f'a note  {seconds / whole:6.1%} of generate_compiled')


if __name__ == '__main__':
  app.run(main)
