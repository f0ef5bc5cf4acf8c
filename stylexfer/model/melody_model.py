"""The two-headed melody model of one genre: a pitch head and a duration head.

Both heads read the same interval and duration embeddings. The pitch head predicts the
next interval from the intervals and durations so far; the duration head predicts the
next duration from the intervals up to and including that next interval (teacher forced
in training, sampled at generation) and the durations so far. Restyling a melody keeps
its intervals and asks another genre's duration head for the rhythm, which is why the
duration head is conditioned on the interval of the note whose duration it chooses.

Both heads also hear the metre of the note they predict (stylexfer.tokens.metre: its position in
the bar, the bar's length, how many notes of the bar are left), so a restyled rhythm can
be drawn bar by bar and keep the tune's form; and the melody's style and tempo
(stylexfer.tokens.conditions), so one genre's model plays a reel or a hornpipe, a ballad or a
burner, as asked.

Both heads return logits; `masked_loss` and `masked_accuracy` score them with the masks
described in stylexfer/dataset/windows.py.
"""

import dataclasses

import keras
import tensorflow as tf

from stylexfer.model import config as config_lib
from stylexfer.model import layers
from stylexfer.tokens import conditions
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary

CONDITION_INPUTS = ('styles', 'tempi')
SEQUENCE_INPUTS = ('intervals_in', 'durations_in', 'intervals_out') + metre.INPUTS + (
    CONDITION_INPUTS)


# The sizes and presets live apart from Keras (stylexfer.model.config) so that the
# programs check them before TensorFlow starts; they are used here by these names.
MelodyConfig = config_lib.MelodyConfig
PRESETS = config_lib.PRESETS
preset = config_lib.preset


@keras.saving.register_keras_serializable(package='stylexfer')
class MelodyModel(keras.Model):
  """Functional model: token windows in, `pitch_logits` and `duration_logits` out.

  Inputs are a dict of int32 [batch, time] tensors `intervals_in`, `durations_in`,
  `intervals_out`, the metrical ids `positions`, `bar_lengths`, `notes_left` of the
  note each step predicts, and the melody's `styles` and `tempi` ids at every step. The
  LSTM layers keep their names (`pitch_lstm_0`, `duration_lstm_1`, ...) and are kept as
  attributes, so a sampler can step their cells one note at a time.
  """

  def __init__(self, embedding_width=64, lstm_units=160, lstm_layers=2, dropout=0.25,
               window=128, metre_width=16, condition_width=16, styles=0, **kwargs):
    # Layers.
    interval_embedding = keras.layers.Embedding(
        vocabulary.NUM_INTERVALS, embedding_width, name='interval_embedding')
    duration_embedding = keras.layers.Embedding(
        vocabulary.NUM_DURATIONS, embedding_width, name='duration_embedding')
    sizes = dict(zip(metre.INPUTS, (metre.NUM_POSITIONS, metre.NUM_BAR_LENGTHS,
                                    metre.NUM_NOTES_LEFT)))
    metre_embeddings = {
        name: keras.layers.Embedding(size, metre_width, name=f'{name}_embedding')
        for name, size in sizes.items()} if metre_width else {}
    condition_embeddings = {
        'styles': keras.layers.Embedding(styles + 1, condition_width, name='style_embedding'),
        'tempi': keras.layers.Embedding(conditions.NUM_TEMPI, condition_width,
                                        name='tempo_embedding')}

    # Default activations and no recurrent dropout keep the layers eligible for cuDNN.
    # No masks either: PAD only ever trails a window, a forward LSTM never lets it reach
    # the steps before it, and the loss ignores PAD targets.
    def lstm_stack(head):
      return [layers.LSTM(lstm_units, return_sequences=True, name=f'{head}_lstm_{k}')
              for k in range(lstm_layers)]

    pitch_lstms = lstm_stack('pitch')
    duration_lstms = lstm_stack('duration')
    pitch_dense = keras.layers.Dense(vocabulary.NUM_INTERVALS, name='pitch_logits')
    duration_dense = keras.layers.Dense(vocabulary.NUM_DURATIONS, name='duration_logits')

    # Functional model.
    inputs = {
        name: keras.Input(shape=(None,), dtype='int32', name=name)
        for name in SEQUENCE_INPUTS
    }
    previous_durations = duration_embedding(inputs['durations_in'])
    # Both heads hear the metre of the note they predict.
    heard_context = [metre_embeddings[name](inputs[name]) for name in metre_embeddings]
    # And the style and tempo asked for (the same at every step).
    heard_context += [condition_embeddings[name](inputs[name]) for name in CONDITION_INPUTS]

    def run_head(head, intervals, lstms):
      x = keras.layers.Concatenate(name=f'{head}_inputs')(
          [intervals, previous_durations] + heard_context)
      for k, lstm in enumerate(lstms):
        x = lstm(x)
        if dropout:
          x = layers.Dropout(dropout, name=f'{head}_dropout_{k}')(x)
      return x

    pitch = run_head('pitch', interval_embedding(inputs['intervals_in']), pitch_lstms)
    # The same interval embedding reads the next interval for the duration head.
    duration = run_head('duration', interval_embedding(inputs['intervals_out']),
                        duration_lstms)
    outputs = {
        'pitch_logits': pitch_dense(pitch),
        'duration_logits': duration_dense(duration),
    }
    super().__init__(inputs=inputs, outputs=outputs, **kwargs)

    # Config.
    self.embedding_width = embedding_width
    self.lstm_units = lstm_units
    self.lstm_layers = lstm_layers
    self.dropout = dropout
    self.window = window
    self.metre_width = metre_width
    self.condition_width = condition_width
    self.styles = styles
    self.condition_embeddings = condition_embeddings
    self.interval_embedding = interval_embedding
    self.duration_embedding = duration_embedding
    self.metre_embeddings = metre_embeddings
    self.pitch_lstms = pitch_lstms
    self.duration_lstms = duration_lstms
    self.pitch_dense = pitch_dense
    self.duration_dense = duration_dense

  @property
  def melody_config(self):
    return MelodyConfig(self.embedding_width, self.lstm_units, self.lstm_layers,
                        self.dropout, self.window, self.metre_width,
                        self.condition_width, self.styles)

  def get_config(self):
    return {
        'name': self.name,
        'trainable': self.trainable,
        **dataclasses.asdict(self.melody_config),
    }

  @classmethod
  def from_config(cls, config):
    return cls(**config)


def build_model(config, name='melody_model'):
  """A fresh MelodyModel for a MelodyConfig."""
  return MelodyModel(**dataclasses.asdict(config), name=name)


HEADS = ('pitch', 'duration')
# Which targets each head's logits are scored on. The pitch head never scores START: note
# 0 has no interval before it, so START there is a given, not a prediction.
TARGETS = {
    'pitch_logits': 'intervals_out',
    'duration_logits': 'durations_out',
}


def target_mask(head, targets):
  """1.0 where `targets` (int [batch, time]) is scored for `head`, else 0.0."""
  keep = tf.not_equal(targets, vocabulary.PAD)
  if head == 'pitch_logits':
    keep = tf.logical_and(keep, tf.not_equal(targets, vocabulary.START))
  elif head != 'duration_logits':
    raise ValueError(f'unknown head {head!r}; expected one of {sorted(TARGETS)}')
  return tf.cast(keep, tf.float32)


def masked_sums(head, targets, logits):
  """Sums of cross-entropy, correct predictions and scored targets for one head.

  Sums rather than means, so that batches (and replicas) holding different numbers of
  real tokens are weighted by their tokens when added up.
  """
  targets = tf.cast(targets, tf.int32)
  mask = target_mask(head, targets)
  logits = tf.cast(logits, tf.float32)
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
  correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), targets),
                    tf.float32)
  return {
      'loss': tf.reduce_sum(cross_entropy * mask),
      'correct': tf.reduce_sum(correct * mask),
      'count': tf.reduce_sum(mask),
  }


def head_sums(targets, outputs):
  """masked_sums of both heads as one flat dict: 'pitch_loss', 'duration_count', ...

  `targets` and `outputs` are keyed by head name ('pitch_logits', 'duration_logits').
  """
  return {f'{name.removesuffix("_logits")}_{key}': value
          for name in TARGETS
          for key, value in masked_sums(name, targets[name], outputs[name]).items()}


def masked_loss(head, targets, logits):
  """Mean cross-entropy (nats per token) of one head over its scored targets."""
  sums = masked_sums(head, targets, logits)
  return sums['loss'] / tf.maximum(sums['count'], 1.0)


def masked_accuracy(head, targets, logits):
  """Share of scored targets where the head's most likely token is the target."""
  sums = masked_sums(head, targets, logits)
  return sums['correct'] / tf.maximum(sums['count'], 1.0)
