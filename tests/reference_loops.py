"""The in-graph loops of stylexfer.serving.sampling as plain eager loops of `Head.step`.

One note per Python step, nothing summed ahead: what the loops' tables and carried state
must add up to. The tests hold the signatures to these.
"""

import tensorflow as tf

from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import heads
from stylexfer.serving.sampling import restyle as restyle_lib
from stylexfer.tokens import conditions
from stylexfer.tokens import vocabulary


def _conditions(controls, batch_size, style=None):
  """The request's style (or `style`) and tempo ids [B, 2], as Head.step hears them."""
  ids = [controls.style if style is None else style, conditions.tempo_ids_graph(controls.tempo)]
  return tf.tile(tf.cast(tf.stack(ids), tf.int32)[None], [batch_size, 1])


class _Guided:
  """A head stepped as heads.guided steps it: a style's stream and, where guidance is
  asked (a style and a guidance > 0), a stream of any style, each its own eager step;
  log p_style + weight * (log p_style - log p_any). The state is a pair of the two."""

  def __init__(self, head, controls, batch_size, guidance):
    self.head = head
    self.weight = float(guidance) if int(controls.style) > 0 else 0.0
    self.styled = _conditions(controls, batch_size)
    self.unstyled = _conditions(controls, batch_size, style=0)
    self.state = (tf.zeros([batch_size, head.state_size]),) * 2

  def step(self, token, previous, metre_ids, state):
    logits, styled = self.head.step(token, previous, metre_ids, self.styled, state[0])
    if not self.weight:
      return logits, (styled, state[1])
    unstyled_logits, unstyled = self.head.step(token, previous, metre_ids, self.unstyled,
                                               state[1])
    style, any_style = tf.nn.log_softmax(logits), tf.nn.log_softmax(unstyled_logits)
    return style + self.weight * (style - any_style), (styled, unstyled)


def generate(pitch_head, duration_head, batch_size, length, controls, primer=None,
             guidance=0.0):
  """sampling.generate.generate, one eager step of each head per note."""
  primer_intervals, primer_durations = primer or (None, None)
  primed = 0 if primer_durations is None else len(primer_durations[0])
  start = tf.fill([batch_size], vocabulary.START)
  no_metre = heads.unknown_metre(batch_size)
  heard = _conditions(controls, batch_size)
  interval, duration = start, start
  pitch_state = tf.zeros([batch_size, pitch_head.state_size])
  guided = _Guided(duration_head, controls, batch_size, guidance)
  duration_state = guided.state
  intervals, durations = [], []
  for t in range(length):
    logits, pitch_state = pitch_head.step(interval, duration, no_metre, heard, pitch_state)
    drawn = draws.sample(logits, controls.temperature, controls.top_p,
                         draws.note_seed(controls.seed, t, draws.PITCH))
    if t == 0:
      interval = start
    elif t < primed:
      interval = tf.constant([row[t - 1] for row in primer_intervals], tf.int32)
    else:
      interval = drawn
    logits, duration_state = guided.step(interval, duration, no_metre, duration_state)
    drawn = draws.sample(logits, controls.temperature, controls.top_p,
                         draws.note_seed(controls.seed, t, draws.DURATION))
    if t < primed:
      duration = tf.constant([row[t] for row in primer_durations], tf.int32)
    else:
      duration = drawn
    intervals.append(interval)
    durations.append(duration)
  if length == 1:
    return tf.zeros([batch_size, 0], tf.int32), tf.stack(durations, axis=1)
  return tf.stack(intervals[1:], axis=1), tf.stack(durations, axis=1)


def restyle(duration_head, intervals, durations, controls, interval_values, duration_values,
            form=None, like=None, lengths=None, guidance=0.0):
  """sampling.restyle.restyle, one eager step of the duration head per note: the
  durations [B, N] (ids), and their lengths [B, N] where `lengths` are given."""
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  batch_size, length = durations.shape
  grid = tf.cast(duration_values, tf.float64)
  own_quarters = (tf.gather(grid, durations) if lengths is None
                  else tf.cast(tf.cast(lengths, tf.float32), tf.float64))
  onset = tf.zeros([batch_size], tf.float64)
  plan = None
  if form is not None:
    form = form.as_tensors()
    plan = form_lib.plan_form(restyle_lib.relative_pitches(intervals, interval_values),
                              durations, own_quarters, form)
    onset = plan['own_onset'][:, 0]
  start = tf.fill([batch_size], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start[:, None], intervals], axis=1))
  guided = _Guided(duration_head, controls, batch_size, guidance)
  state, previous = guided.state, start
  if like is not None:
    like_intervals, like_durations = (tf.convert_to_tensor(x, tf.int32) for x in like)
    no_metre = heads.unknown_metre(batch_size)
    for t in range(like_durations.shape[1]):
      heard = like_intervals[:, t - 1] if t else start
      before = like_durations[:, t - 1] if t else start
      # Each stream listens hearing its own style.
      state = (duration_head.step(heard, before, no_metre, guided.styled, state[0])[1],
               duration_head.step(heard, before, no_metre, guided.unstyled, state[1])[1])
    previous = like_durations[:, -1]
  carried = (onset, previous, state, tf.zeros([length, batch_size], tf.int32),
             tf.zeros([length, batch_size], tf.float64), tf.zeros([batch_size], tf.int32),
             tf.zeros([length, batch_size], tf.float64))

  def step(t, previous, metre_ids, state):
    return guided.step(next_intervals[t], previous, metre_ids, state)

  strength = tf.constant(controls.strength, tf.float32)
  key = draws.seed_key(controls.seed)
  plan, changed = restyle_lib.choose_changes(  # the default calibration
      strength, durations, None if form is None else form.bars, plan, key)
  draw = (strength, tf.constant(0.0), changed, controls.temperature, controls.top_p, key)
  for t in range(length):
    carried = restyle_lib.restyle_step(step, plan, (grid, durations, own_quarters), draw,
                                       tf.constant(t), carried)
  if lengths is None:
    return tf.transpose(carried[3])
  return tf.transpose(carried[3]), tf.transpose(carried[6])
