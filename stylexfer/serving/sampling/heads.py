"""The heads as the loops step them: each input's share of layer 0's gates as a table, then a cell.

The loops take the two heads as `Head`s: each input's share of layer 0's gates as a table
(so in the loop the inputs cost a gather, and what restyle knows in advance, every interval
and the bars, is summed for all notes before the loop starts) and a cell that runs the LSTM
layers from there with one matmul per layer. The same code samples one genre's model and a
merge of two exported SavedModels. `Head.step` is one note over a flat state:

  step(token [B], previous_duration [B], metre [B, 3], conditions [B, 2], state [B, S])
      -> logits, state

where the token is the previous interval for the pitch head and the next interval for the
duration head. `metre` holds the stylexfer.tokens.metre ids (position, bar length, notes
left) of the note the step predicts; zeros where there are no bars to hear. `conditions`
holds the melody's style and tempo ids (stylexfer.tokens.conditions); zeros for any style
at an unknown tempo. The tables are, in this order: token, previous duration, position,
bar length, notes left, style, tempo.
"""

import tensorflow as tf

from stylexfer.tokens import conditions as conditions_lib
from stylexfer.tokens import metre


# Keras keeps an LSTM's gates in the order (input, forget, candidate, output); the heads
# keep them as (input, forget, output, candidate), so one sigmoid covers three gates.
_GATE_ORDER = (0, 1, 3, 2)




def _gates_reordered(weights):
  parts = tf.split(tf.convert_to_tensor(weights), 4, axis=-1)
  return tf.concat([parts[k] for k in _GATE_ORDER], axis=-1)


class Head:
  """One head as the loops step it: layer 0's input projection as tables, then the cell.

  `tables()` returns one table [V_k, G] per input the head reads: the token (previous
  interval for the pitch head, next interval for the duration head), the previous
  duration, the metre ids (position, bar length, notes left), the style and the tempo.
  Each is that input's
  embedding times its rows of layer 0's input kernel, layer 0's bias added to the token
  table, so layer 0's input projection is a sum of table rows. `cell(projected [B, G],
  state [B, S])` -> (logits [B, V], state) runs the LSTM layers from there, one matmul per
  layer. G is 4 * units, the gates in the order (input, forget, output, candidate).
  """

  def __init__(self, tables, cell, state_size):
    self.tables = tables
    self.cell = cell
    self.state_size = state_size

  @classmethod
  def of(cls, owner, name):
    """The `name` head ('pitch' or 'duration') of an export or a merge, from its functions."""
    return cls(getattr(owner, f'{name}_tables'), getattr(owner, f'{name}_cell'),
               int(getattr(owner, f'{name}_state_size')))

  def step(self, token, previous_duration, metre_ids, condition_ids, state):
    """One note: (token [B], previous_duration [B], metre_ids [B, 3], condition_ids [B, 2],
    state) -> logits, state.

    The same sums in the same order as the loops, so a loop of steps gives their melody.
    """
    tables = self.tables()
    known = known_inputs(tables, token, metre_ids[:, 1], metre_ids[:, 2])
    known += condition(tables, condition_ids[:, 0], condition_ids[:, 1])
    return self.cell(known + drawn_inputs(tables, previous_duration, metre_ids[:, 0]), state)


def known_inputs(tables, tokens, bar_length_ids, notes_left_ids):
  """Layer 0's share of what restyle knows before its loop: token, bar length, notes left."""
  token, _, _, bar_length, notes_left = tables[:5]
  return ((tf.gather(token, tokens) + tf.gather(bar_length, bar_length_ids))
          + tf.gather(notes_left, notes_left_ids))


def drawn_inputs(tables, previous_durations, position_ids):
  """Layer 0's share of what is drawn in the loop: the previous duration and the position."""
  _, duration, position = tables[:3]
  return tf.gather(duration, previous_durations) + tf.gather(position, position_ids)


def condition(tables, style_ids, tempo_ids):
  """Layer 0's share of the style and tempo asked for: [G] for scalar ids, [B, G] for rows.

  Added to what the head knows of every note (known_inputs) before its drawn inputs.
  """
  return tf.gather(tables[5], style_ids) + tf.gather(tables[6], tempo_ids)


def request_condition(tables, controls):
  """condition() of a request's draws.Controls: its style id and tempo (quarters a minute)."""
  return condition(tables, controls.style, conditions_lib.tempo_ids_graph(controls.tempo))


def unstyled_condition(tables, controls):
  """condition() of any style at the request's tempo: what guidance pushes away from."""
  return condition(tables, 0, conditions_lib.tempo_ids_graph(controls.tempo))


def guidance_weight(guidance, controls):
  """How far a request's style is pushed (see guided): `guidance` (the genre's, a Python
  float) where a style is asked for, 0 for any style."""
  return tf.where(tf.convert_to_tensor(controls.style) > 0, float(guidance), 0.0)


def guided(cell, styled, unstyled, weight, state):
  """One step of a head that hears a style, pushed further from what it plays in any
  style: (log-probabilities or logits [B, V], state [2B, S]).

  The style embedding alone moves the rhythm little (the heads were trained on every
  style, and on hidden ones); as in classifier-free guidance the head also steps as if it
  heard no style (`unstyled`, rows B.. of the state), and the step's log-probabilities are
  log p_style + weight * (log p_style - log p_any). With weight 0 (any style asked) only
  the first B rows step and the logits are the head's own, as without guidance.
  `styled` and `unstyled` are layer 0's projected inputs [B, G] of the two streams.
  """
  rows = tf.shape(styled)[0]

  def both():
    logits, new_state = cell(tf.concat([styled, unstyled], 0), state)
    style, any_style = tf.split(tf.nn.log_softmax(logits), 2)
    return style + weight * (style - any_style), new_state

  def style_only():
    logits, new_state = cell(styled, state[:rows])
    return logits, tf.concat([new_state, state[rows:]], 0)

  return tf.cond(weight > 0, both, style_only)


def no_metre_tables(tables):
  """(token, previous duration) tables with the metre ids 0 folded in (no bars to hear).

  Row for row the same sums as known_inputs and drawn_inputs with metre ids 0.
  """
  token, duration, position, bar_length, notes_left = tables[:5]
  return (token + bar_length[0]) + notes_left[0], duration + position[0]


class _HeadWeights(tf.Module):
  """One head of a Keras MelodyModel as the tables and kernels `Head` steps over.

  Computed once from the Keras weights (the SavedModel stores them beside those): the
  tables, layer 0's recurrent kernel, and for every later layer its input and recurrent
  kernels stacked, so a step multiplies [input, h] by one matrix.
  """

  def __init__(self, model, lstms, dense, name=None):
    super().__init__(name=name)
    self.units = model.lstm_units
    first = lstms[0].cell
    kernel = _gates_reordered(first.kernel.value)
    embeddings = [model.interval_embedding, model.duration_embedding]
    widths = [model.embedding_width] * 2
    if model.metre_width:
      embeddings += [model.metre_embeddings[name] for name in metre.INPUTS]
      widths += [model.metre_width] * len(metre.INPUTS)
    embeddings += [model.condition_embeddings[name] for name in ('styles', 'tempi')]
    widths += [model.condition_width] * 2
    tables = [tf.matmul(layer.embeddings.value, rows)
              for layer, rows in zip(embeddings, tf.split(kernel, widths, axis=0))]
    if not model.metre_width:  # a model that hears no metre: its rows add nothing
      tables[2:2] = [tf.zeros([size, 4 * self.units]) for size in (
          metre.NUM_POSITIONS, metre.NUM_BAR_LENGTHS, metre.NUM_NOTES_LEFT)]
    tables[0] = tables[0] + _gates_reordered(first.bias.value)
    self.tables = [tf.Variable(table, trainable=False, name=f'table_{k}')
                   for k, table in enumerate(tables)]
    self.recurrent = tf.Variable(_gates_reordered(first.recurrent_kernel.value),
                                 trainable=False, name='recurrent_kernel')
    self.kernels = [tf.Variable(_gates_reordered(tf.concat(
        [layer.cell.kernel.value, layer.cell.recurrent_kernel.value], axis=0)),
                                trainable=False, name=f'kernel_{k + 1}')
                    for k, layer in enumerate(lstms[1:])]
    self.biases = [tf.Variable(_gates_reordered(layer.cell.bias.value), trainable=False,
                               name=f'bias_{k + 1}') for k, layer in enumerate(lstms[1:])]
    self.dense_kernel = dense.kernel.value
    self.dense_bias = dense.bias.value

  def read_tables(self):
    return tuple(tf.convert_to_tensor(table) for table in self.tables)

  def cell(self, projected, state):
    units = self.units
    pieces = tf.split(state, 2 * (len(self.kernels) + 1), axis=-1)
    z = projected + tf.matmul(pieces[0], self.recurrent)
    new_state = []
    for k in range(len(self.kernels) + 1):
      if k:
        z = tf.matmul(tf.concat([h, pieces[2 * k]], axis=-1), self.kernels[k - 1])
        z = z + self.biases[k - 1]
      input_gate, forget_gate, output_gate = tf.split(tf.sigmoid(z[:, :3 * units]), 3,
                                                      axis=-1)
      c = forget_gate * pieces[2 * k + 1] + input_gate * tf.tanh(z[:, 3 * units:])
      h = output_gate * tf.tanh(c)
      new_state += [h, c]
    return tf.matmul(h, self.dense_kernel) + self.dense_bias, tf.concat(new_state, axis=-1)


class HeadSteps(tf.Module):
  """One genre model's two heads as `Head`s over flat [batch, size] states.

  The state is [h_0, c_0, h_1, c_1, ...] of the head's LSTM layers, concatenated.
  """

  def __init__(self, model, name=None):
    super().__init__(name=name)
    self.model = model
    self.units = model.lstm_units
    self.layers = model.lstm_layers
    self.state_size = 2 * self.units * self.layers
    self.pitch = _HeadWeights(model, model.pitch_lstms, model.pitch_dense, name='pitch')
    self.duration = _HeadWeights(model, model.duration_lstms, model.duration_dense,
                                 name='duration')
    self.pitch_head = Head(self.pitch.read_tables, self.pitch.cell, self.state_size)
    self.duration_head = Head(self.duration.read_tables, self.duration.cell,
                              self.state_size)

  def pitch_step(self, previous_interval, previous_duration, metre_ids, condition_ids, state):
    return self.pitch_head.step(previous_interval, previous_duration, metre_ids,
                                condition_ids, state)

  def duration_step(self, next_interval, previous_duration, metre_ids, condition_ids, state):
    return self.duration_head.step(next_interval, previous_duration, metre_ids,
                                   condition_ids, state)


def unknown_metre(batch_size):
  """Metre ids [B, 3] for a step with no bars to hear."""
  return tf.zeros([batch_size, len(metre.INPUTS)], tf.int32)


def no_conditions(batch_size):
  """Style and tempo ids [B, 2] for a step of any style at an unknown tempo."""
  return tf.zeros([batch_size, 2], tf.int32)
