"""One genre's trained model as a SavedModel for TF Serving, Colab and merging.

`export` writes <models_dir>/<name>/<version>/; the program is stylexfer-export
(stylexfer.programs.export).

Signatures (flat dicts of tensors, batch first; token ids int32; scalars batch_size,
length, first_pitch int32, seed int64, temperature, top_p, strength, push, tempo float32,
style string):
  serving_default  intervals_in, durations_in, intervals_out, positions, bar_lengths,
                   notes_left [B, T] (metrical ids, stylexfer.tokens.metre; zeros: unknown),
                   styles, tempi [B, T] (style and tempo ids, stylexfer.tokens.conditions;
                   zeros: any, unknown)
                   -> pitch_log_probs [B, T, 52], duration_log_probs [B, T, 59] (float32)
  generate         batch_size, length, temperature, top_p, seed, style, tempo
                   -> intervals [B, L-1], durations [B, L]
  generate_primed  as generate, plus primer_intervals [B, P-1], primer_durations [B, P]
                   -> intervals [B, L-1], durations [B, L] (starting with the primer)
  generate_notes   batch_size, length, first_pitch, temperature, top_p, seed, style, tempo
                   -> pitches [B, L] (MIDI, int32), quarter_lengths, sounding_lengths [B, L]
  restyle, restyle_notes, restyle_like, restyle_notes_like, restyle_free,
  restyle_notes_free   see stylexfer.serving.signatures: the melody's bars are kept
  generate_compiled, restyle_compiled   generate and restyle with their loops compiled by
                   XLA (see stylexfer.serving.signatures): the same melodies, faster where
                   the server runs XLA
A bad request (a token out of range, length <= 0 or > checks.MAX_LENGTH, batch_size
above checks.MAX_BATCH, temperature below 0.001, top_p outside (0, 1], strength outside [0, 1],
pitches outside MIDI, bars that do not fit, shapes that do not fit, a style the genre
does not have, a tempo outside [20, 400]) fails with InvalidArgumentError naming what is
wrong (for a style: the styles there are).

Besides the signatures the SavedModel keeps what a merge (stylexfer.serving.merged) needs to
combine two exports without this package: each head's `pitch_tables`, `pitch_cell`,
`duration_tables`, `duration_cell` (what the sampling loops step, see
stylexfer.serving.sampling.heads.Head) and `pitch_step`, `duration_step` (one note of each head),
the variables `pitch_state_size`,
`duration_state_size`, `interval_values`, `duration_values`, `sounding_values` (the
vocabulary and the genre's rests) and `genre`.
"""

import tensorflow as tf

from stylexfer.tokens import conditions
from stylexfer.tokens import metre
from stylexfer.model import melody_model  # registers MelodyModel for loading
from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import generate as generate_lib
from stylexfer.serving.sampling import heads
from stylexfer.serving import saving
from stylexfer.serving import signatures
from stylexfer.tokens import traits as traits_lib
from stylexfer.tokens import vocabulary

_SEQUENCE_SPECS = [signatures._tokens(name) for name in melody_model.SEQUENCE_INPUTS]


class GenreModule(signatures.MelodyModule):
  """A trained genre model with its sampling signatures."""

  def __init__(self, model, genre, sounding_values=None, traits=None):
    super().__init__(vocabulary.interval_table(), vocabulary.duration_table(),
                     # Without the genre's rests every note sounds its whole duration.
                     vocabulary.duration_table() if sounding_values is None
                     else sounding_values, name=f'{genre}_melodies')
    self.model = model
    self.genre_traits = traits or traits_lib.Traits()
    if model.styles != len(self.genre_traits.styles):
      raise ValueError(f'the model hears {model.styles} styles; the traits name '
                       f'{len(self.genre_traits.styles)}: {self.genre_traits.styles}')
    # The tf.Variables under the Keras 3 variables, tracked here too: without them the
    # SavedModel loads in TF2 Python but TF Serving and saved_model_cli (the TF1 loader)
    # fail with "Could not find variable" (keras-team/keras#20095).
    self.model_variables = [v.value for v in model.weights]
    self.steps = heads.HeadSteps(model)
    self.genre = tf.Variable(genre, trainable=False, name='genre')
    self.pitch_state_size = tf.Variable(self.steps.state_size, trainable=False,
                                        name='pitch_state_size')
    self.duration_state_size = tf.Variable(self.steps.state_size, trainable=False,
                                           name='duration_state_size')
    size = self.steps.state_size
    cell_spec = [tf.TensorSpec([None, 4 * model.lstm_units], tf.float32),
                 tf.TensorSpec([None, size], tf.float32)]
    self.pitch_tables = tf.function(self.steps.pitch.read_tables, input_signature=[])
    self.pitch_cell = tf.function(self.steps.pitch.cell, input_signature=cell_spec)
    self.duration_tables = tf.function(self.steps.duration.read_tables, input_signature=[])
    self.duration_cell = tf.function(self.steps.duration.cell, input_signature=cell_spec)
    self.pitch_head = heads.Head(self.pitch_tables, self.pitch_cell, size)
    self.duration_head = heads.Head(self.duration_tables, self.duration_cell, size)
    step_spec = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
                 tf.TensorSpec([None, len(metre.INPUTS)], tf.int32),
                 tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([None, size], tf.float32)]
    self.pitch_step = tf.function(self.pitch_head.step, input_signature=step_spec)
    self.duration_step = tf.function(self.duration_head.step, input_signature=step_spec)

  def _generate(self, batch_size, length, controls, primer=None, compiled=False):
    return generate_lib.generate(self.pitch_head, self.duration_head, batch_size, length,
                                 controls, primer, compiled, self.genre_traits.guidance)

  @tf.function(input_signature=_SEQUENCE_SPECS)
  def score(self, intervals_in, durations_in, intervals_out, positions, bar_lengths,
            notes_left, styles, tempi):
    sequences = dict(zip(melody_model.SEQUENCE_INPUTS, (
        intervals_in, durations_in, intervals_out, positions, bar_lengths, notes_left,
        styles, tempi)))
    sizes = {'intervals_in': vocabulary.NUM_INTERVALS,
             'durations_in': vocabulary.NUM_DURATIONS,
             'intervals_out': vocabulary.NUM_INTERVALS,
             'positions': metre.NUM_POSITIONS, 'bar_lengths': metre.NUM_BAR_LENGTHS,
             'notes_left': metre.NUM_NOTES_LEFT,
             'styles': len(self.genre_traits.styles) + 1, 'tempi': conditions.NUM_TEMPI}
    request = [
        lambda: checks.require(tf.size(intervals_in) > 0, 'the token sequences are empty'),
        lambda: checks.require(tf.shape(intervals_in)[-1] <= checks.MAX_LENGTH,
                               f'a sequence must have at most {checks.MAX_LENGTH} notes'),
        lambda: checks.require(tf.cast(tf.size(intervals_in), tf.int64) <= checks.MAX_NOTES,
                               f'the sequences must hold at most {checks.MAX_NOTES} notes'),
    ]
    for name in melody_model.SEQUENCE_INPUTS[1:]:
      request.append(lambda name=name: checks.require(
          tf.shape(intervals_in) == tf.shape(sequences[name]),
          f'intervals_in and {name} must have one shape'))
    for name, size in sizes.items():
      request.append(lambda name=name, size=size: checks.require(
          (sequences[name] >= 0) & (sequences[name] < size),
          f'{name} token ids must be in [0, {size})'))
    features = dict(zip(sequences, checks.after(request, *sequences.values())))
    outputs = self.model(features, training=False)
    return {'pitch_log_probs': tf.nn.log_softmax(outputs['pitch_logits']),
            'duration_log_probs': tf.nn.log_softmax(outputs['duration_logits'])}

  @tf.function(input_signature=signatures.SIZE + signatures.CONTROLS)
  def generate(self, batch_size, length, temperature, top_p, seed, style, tempo):
    intervals, durations = self._generate(
        batch_size, length, self._controls(temperature, top_p, seed, style, tempo))
    return {'intervals': intervals, 'durations': durations}

  @tf.function(input_signature=signatures.SIZE + signatures.CONTROLS + [
      signatures._tokens('primer_intervals'), signatures._tokens('primer_durations')])
  def generate_primed(self, batch_size, length, temperature, top_p, seed, style, tempo,
                      primer_intervals, primer_durations):
    intervals, durations = self._generate(
        batch_size, length, self._controls(temperature, top_p, seed, style, tempo),
        (primer_intervals, primer_durations))
    return {'intervals': intervals, 'durations': durations}

  def signatures(self):
    return {'serving_default': self.score, 'generate': self.generate,
            'generate_primed': self.generate_primed, **super().signatures()}


def export(model, genre, models_dir, name=None, version=None, sounding_values=None,
           traits=None):
  """Writes the SavedModel to <models_dir>/<name>/<version>/ and returns that path.

  `sounding_values` (see stylexfer.tokens.articulation) are the genre's rests; legato
  without. `traits` (stylexfer.tokens.traits) what else it needs at run time.
  """
  return saving.save_versioned(GenreModule(model, genre, sounding_values, traits),
                               models_dir, name or genre, version)

