"""Random draws: each note's stateless seed, temperature and nucleus, the categorical draw.

Each random draw takes a stateless seed folded from the request's seed, the note index
and the stream (pitch, duration), so the same seed gives the same melody in Python, in a
reloaded SavedModel, in TF Serving and under XLA.
"""

import dataclasses

import tensorflow as tf

from stylexfer.tokens import vocabulary


_NEGATIVE = -1e9   # a logit that no draw can pick, yet finite (no NaN in softmax)
# Philox on every device: 'auto_select' would pick another generator on TPU, and the
# same seed would no longer give the same melody there.
ALG = 'philox'

# Streams of randomness folded into each note's seed: a note's pitch, its duration, and
# (once a request, at note 0) which bars a restyle changes.
PITCH, DURATION, KEEP = 0, 1, 2


@dataclasses.dataclass(frozen=True, eq=False)
class Controls:
  """What a request sets about its draws: temperature, top-p, seed, restyle's strength, and
  the style and tempo the heads hear.

  Scalars or scalar tensors. strength 0 gives the melody's own rhythm back, 1 the genre's.
  style is an id among the genre's styles (0: any), tempo in quarter notes a minute (0:
  unknown; stylexfer.tokens.conditions).
  """
  temperature: object
  top_p: object
  seed: object
  strength: object = 1.0
  style: object = 0
  tempo: object = 0.0


def note_seed(seed, note, stream, key=None):
  """The stateless seed of one draw: request seed, note index, stream (pitch/duration/keep).

  Two stateless_fold_in steps, as the melodies have always been drawn: fold_in(s, x) is
  [a random number seeded by s, x], so the first one's random number is the same for every
  note of a request: pass it as `key` (see `seed_key`) to draw it once, not at each note.
  """
  key = seed_key(seed) if key is None else key
  folded = tf.stack([key, tf.cast(note, tf.int64)])
  note_key = tf.random.stateless_uniform([], folded, minval=None, maxval=None,
                                         dtype=tf.int32, alg=ALG)
  return tf.stack([note_key, tf.constant(stream, tf.int32)])


def seed_key(seed):
  """The part of every note_seed of a request that depends on its seed alone."""
  base = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
  return tf.random.stateless_uniform([], base, minval=None, maxval=None, dtype=tf.int64,
                                     alg=ALG)


def sample(logits, temperature, top_p, seed, allowed=None, compiled=False):
  """Draws one token per row: temperature, then nucleus (top-p), special tokens excluded.

  `allowed` [B, V] (bool) leaves only those tokens to draw from; a row must allow one.
  `compiled`: the code runs under XLA (see `categorical`).
  """
  logits = tf.cast(logits, tf.float32) / temperature
  special = tf.range(tf.shape(logits)[-1]) < vocabulary.NUM_SPECIAL
  logits = tf.where(special, _NEGATIVE, logits)
  if allowed is not None:
    logits = tf.where(allowed, logits, _NEGATIVE)
  # Keep the smallest set of most likely tokens whose probability reaches top_p (always
  # at least the most likely one): the long tail of rare durations drifts off the beat.
  logits = tf.where(nucleus(logits, top_p, compiled), logits, _NEGATIVE)
  return categorical(logits, seed, compiled)


def nucleus(logits, top_p, compiled=False):
  """The tokens [B, V] (bool) that nucleus sampling keeps.

  In the order of decreasing logits, a token is kept while the probability before it is
  below top_p; tokens tied with a kept one are kept too. `compiled`: the code runs under
  XLA, whose CPU sort is slow (see `sorted_descending`).
  """
  if compiled:
    ordered = sorted_descending(logits)
  else:
    ordered = tf.sort(logits, direction='DESCENDING', axis=-1)
  mass_before = tf.math.cumsum(tf.nn.softmax(ordered), axis=-1, exclusive=True)
  kept = tf.where(mass_before < top_p, ordered, tf.float32.max)
  threshold = tf.reduce_min(kept, axis=-1, keepdims=True)
  return logits >= threshold


def sorted_descending(values):
  """tf.sort(values [B, V], 'DESCENDING') as a bitonic sorting network of min and max.

  The sorted values do not depend on how a sort orders ties, so this gives tf.sort's
  values exactly. Under XLA the network's 21 stages (V <= 64) fuse into elementwise work:
  about 3.4x faster than XLA's CPU sort at batch 64, which calls a comparator per
  comparison; outside XLA each stage costs ops, so the plain loops keep tf.sort. V must be
  known when the graph is built.
  """
  batch_size, size = tf.shape(values)[0], values.shape[-1]
  width = 1 << max(size - 1, 0).bit_length()  # the next power of two
  padded = tf.concat([values, tf.fill([batch_size, width - size], tf.float32.min)], -1)
  run = 2
  while run <= width:  # merge sorted runs of run // 2 into bitonic runs of `run`
    gap = run // 2
    while gap:
      pairs = tf.reshape(padded, [batch_size, width // (2 * gap), 2, gap])
      first, second = pairs[:, :, 0], pairs[:, :, 1]
      high, low = tf.maximum(first, second), tf.minimum(first, second)
      # Alternate runs sort down and up, so that two neighbours make a bitonic run.
      down = tf.constant([[block * 2 * gap & run == 0] for block in range(width // (2 * gap))])
      padded = tf.reshape(tf.stack([tf.where(down, high, low), tf.where(down, low, high)], 2),
                          [batch_size, width])
      gap //= 2
    run *= 2
  return padded[:, :size]


def categorical(logits, seed, compiled=False):
  """One draw per row [B] from softmax(logits), from stateless uniform random bits.

  The arithmetic of TensorFlow's CPU kernel of tf.random.stateless_categorical (a float64
  running sum of exp(logit - max), a float64 uniform from two 32-bit Philox words, the
  first sum above it), so it draws what that op drew for the same seed where that kernel
  ran as one shard, and row b always reads words 2b and 2b + 1, however many threads run.
  Written in plain ops, it compiles with XLA to the same draws.

  TensorFlow's own float64 uniform makes the kernel's uniform from those two words in one
  op; XLA makes its float64 uniforms from the bits another way, so `compiled` code makes
  the kernel's uniform from the words itself (the tests check that the two agree).
  """
  batch_size = tf.shape(logits)[0]
  if compiled:
    words = tf.random.stateless_uniform([batch_size, 2], seed, minval=None, maxval=None,
                                        dtype=tf.uint32, alg=ALG)
    high = tf.cast(tf.bitwise.bitwise_and(words[:, 0], 0xfffff), tf.float64)
    uniform = (high * 2.0 ** 32 + tf.cast(words[:, 1], tf.float64)) * 2.0 ** -52
  else:
    uniform = tf.random.stateless_uniform([batch_size], seed, dtype=tf.float64, alg=ALG)
  logits = tf.cast(logits, tf.float64)
  totals = tf.math.cumsum(tf.exp(logits - tf.reduce_max(logits, -1, keepdims=True)), -1)
  found = uniform * totals[:, -1]
  drawn = tf.reduce_sum(tf.cast(totals <= found[:, None], tf.int32), -1)
  return tf.minimum(drawn, tf.shape(logits)[-1] - 1)  # u * total rounded up to total
