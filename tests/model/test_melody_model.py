"""Tests of the model, its presets and its masked loss."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylexfer.tokens import conditions
from stylexfer.tokens import metre
from stylexfer.model import layers
from stylexfer.model import melody_model
from stylexfer.tokens import vocabulary

PAD, START, END = vocabulary.PAD, vocabulary.START, vocabulary.END


def _random_features(batch=2, time=7, seed=0):
  rng = np.random.default_rng(seed)
  return {
      'intervals_in': rng.integers(3, vocabulary.NUM_INTERVALS, (batch, time)),
      'durations_in': rng.integers(3, vocabulary.NUM_DURATIONS, (batch, time)),
      'intervals_out': rng.integers(3, vocabulary.NUM_INTERVALS, (batch, time)),
      'positions': rng.integers(0, metre.NUM_POSITIONS, (batch, time)),
      'bar_lengths': rng.integers(0, metre.NUM_BAR_LENGTHS, (batch, time)),
      'notes_left': rng.integers(0, metre.NUM_NOTES_LEFT, (batch, time)),
      # One style (of the model's 0: any) and one tempo per melody, at every step.
      'styles': np.zeros((batch, time), np.int64),
      'tempi': np.repeat(rng.integers(0, conditions.NUM_TEMPI, (batch, 1)), time, 1),
  }


def test_config_round_trips_through_json_and_overrides():
  config = melody_model.preset('default')
  assert melody_model.MelodyConfig.from_json(config.to_json()) == config
  changed = config.override(['lstm_units=32', 'dropout=0.5', 'window = 64'])
  assert (changed.lstm_units, changed.dropout, changed.window) == (32, 0.5, 64)
  with pytest.raises(ValueError):
    config.override(['units=3'])
  with pytest.raises(ValueError):
    melody_model.preset('huge')


def test_default_preset_size():
  params = melody_model.build_model(melody_model.preset('default')).count_params()
  assert 500_000 <= params <= 1_000_000


def test_model_config_round_trips():
  model = melody_model.build_model(melody_model.preset('tiny'))
  config = json.loads(json.dumps(model.get_config()))
  clone = melody_model.MelodyModel.from_config(config)
  assert clone.melody_config == model.melody_config == melody_model.preset('tiny')
  assert clone.count_params() == model.count_params()


def test_layers_are_named_and_shared():
  model = melody_model.build_model(
      melody_model.preset('tiny').override(['lstm_layers=2']))
  for name in ('interval_embedding', 'duration_embedding', 'pitch_lstm_0', 'pitch_lstm_1',
               'duration_lstm_0', 'duration_lstm_1', 'pitch_logits', 'duration_logits'):
    assert model.get_layer(name) is not None
  assert model.get_layer('pitch_lstm_1') is model.pitch_lstms[1]
  # One interval embedding, read by both heads, one embedding per metrical input, and
  # the style's and the tempo's.
  embeddings = sorted(layer.name for layer in model.layers if 'embedding' in layer.name)
  assert embeddings == ['bar_lengths_embedding', 'duration_embedding', 'interval_embedding',
                        'notes_left_embedding', 'positions_embedding', 'style_embedding',
                        'tempo_embedding']


def test_the_heads_hear_the_style_and_the_tempo():
  model = melody_model.build_model(melody_model.preset('tiny').override(['styles=3']))
  assert model.get_layer('style_embedding').input_dim == 4  # any, then three styles
  features = _random_features()
  plain = model(features)
  for name, value in (('styles', 2), ('tempi', 7)):
    heard = model({**features, name: np.full_like(features[name], value)})
    for head in ('pitch_logits', 'duration_logits'):
      assert not np.allclose(heard[head], plain[head]), (name, head)


def test_save_and_load_give_identical_outputs(tmp_path):
  model = melody_model.build_model(melody_model.preset('tiny'))
  path = str(tmp_path / 'model.keras')
  model.save(path)
  loaded = keras.models.load_model(path)
  assert isinstance(loaded, melody_model.MelodyModel)
  features = _random_features()
  expected, actual = model(features), loaded(features)
  for name in ('pitch_logits', 'duration_logits'):
    np.testing.assert_allclose(actual[name], expected[name], rtol=1e-6, atol=1e-6)


def test_cells_stepped_one_note_at_a_time_match_the_full_model():
  # What a sampler does: step the LSTM cells, one note at a time.
  model = melody_model.build_model(melody_model.preset('tiny'))
  features = _random_features(batch=1, time=5)
  expected = model(features)['pitch_logits'].numpy()
  previous_durations = model.duration_embedding(features['durations_in'])
  intervals = model.interval_embedding(features['intervals_in'])
  heard_metre = [model.metre_embeddings[name](features[name]) for name in metre.INPUTS]
  heard_metre += [model.condition_embeddings[name](features[name])
                  for name in ('styles', 'tempi')]
  cell = model.get_layer('pitch_lstm_0').cell
  states = [tf.zeros([1, cell.units]), tf.zeros([1, cell.units])]
  for t in range(5):
    x = tf.concat([intervals[:, t], previous_durations[:, t]]
                  + [heard[:, t] for heard in heard_metre], -1)
    output, states = cell(x, states)
    np.testing.assert_allclose(model.pitch_dense(output).numpy(), expected[:, t],
                               rtol=1e-5, atol=1e-5)


def test_masked_loss_ignores_padding_and_the_first_start():
  rng = np.random.default_rng(2)
  targets = np.array([[START, 10, 11, END, PAD, PAD]], np.int32)
  logits = rng.normal(size=[1, 6, vocabulary.NUM_INTERVALS]).astype(np.float32)
  changed = logits.copy()
  changed[:, 4:] = rng.normal(size=changed[:, 4:].shape)
  for head in ('pitch_logits', 'duration_logits'):
    np.testing.assert_allclose(melody_model.masked_loss(head, targets, logits),
                               melody_model.masked_loss(head, targets, changed))

  # The pitch head is scored on steps 1..3 only; the duration head on 0..3.
  cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits).numpy()
  np.testing.assert_allclose(melody_model.masked_loss('pitch_logits', targets, logits),
                             cross_entropy[0, 1:4].mean(), rtol=1e-6)
  np.testing.assert_allclose(melody_model.masked_loss('duration_logits', targets, logits),
                             cross_entropy[0, 0:4].mean(), rtol=1e-6)
  changed = logits.copy()
  changed[:, 0] += 5.0
  np.testing.assert_allclose(melody_model.masked_loss('pitch_logits', targets, logits),
                             melody_model.masked_loss('pitch_logits', targets, changed))


def test_masked_accuracy_counts_scored_targets_only():
  targets = np.array([[START, 5, 6, PAD]], np.int32)
  logits = np.zeros([1, 4, vocabulary.NUM_INTERVALS], np.float32)
  logits[0, 1, 5] = logits[0, 2, 9] = logits[0, 3, 0] = 1.0  # right, wrong, padding
  assert float(melody_model.masked_accuracy('pitch_logits', targets, logits)) == 0.5


def _lstm_pair(units=6, inputs=5, time=9, batch=3, seed=0):
  """layers.LSTM and keras.layers.LSTM with the same weights, and their inputs."""
  x = tf.random.stateless_normal([batch, time, inputs], [seed, 1])
  ours = layers.LSTM(units, return_sequences=True, return_state=True)
  keras_lstm = keras.layers.LSTM(units, return_sequences=True, return_state=True)
  ours(x)
  keras_lstm(x)
  for variable, value in zip(keras_lstm.weights, ours.get_weights()):
    variable.assign(value)
  return ours, keras_lstm, x


def _outputs_and_gradients(layer, x, training):
  weights = [tf.random.stateless_normal(shape, [7, k]) for k, shape in
             enumerate([[x.shape[0], x.shape[1], layer.units], [x.shape[0], layer.units],
                        [x.shape[0], layer.units]])]

  @tf.function
  def run():
    with tf.GradientTape() as tape:
      tape.watch(x)
      outputs = layer(x, training=training)
      loss = tf.add_n([tf.reduce_sum(out * w) for out, w in zip(outputs, weights)])
    return list(outputs) + tape.gradient(loss, [x] + layer.trainable_weights)

  return [value.numpy() for value in run()]


def test_training_lstm_matches_keras_lstm():
  ours, keras_lstm, x = _lstm_pair()
  expected = _outputs_and_gradients(keras_lstm, x, training=True)
  # Outputs, last h and c, and the gradients of inputs, kernel, recurrent kernel, bias.
  for got, want in zip(_outputs_and_gradients(ours, x, training=True), expected):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  # bfloat16 matmuls keep about 3 significant digits.
  ours.matmul_dtype = 'bfloat16'
  for got, want in zip(_outputs_and_gradients(ours, x, training=True), expected):
    np.testing.assert_allclose(got, want, rtol=0, atol=0.03 * np.abs(want).max())
    assert got.dtype == np.float32


def test_inference_lstm_is_keras_lstm():
  ours, keras_lstm, x = _lstm_pair(seed=3)
  ours.matmul_dtype = 'bfloat16'  # a training setting: inference stays float32
  for got, want in zip(ours(x, training=False), keras_lstm(x, training=False)):
    np.testing.assert_array_equal(got, want)


def test_set_matmul_dtype():
  model = melody_model.build_model(melody_model.preset('tiny'))
  assert layers.set_matmul_dtype(model, 'bfloat16') == 'bfloat16'
  assert {layer.matmul_dtype for layer in model.pitch_lstms + model.duration_lstms} == {
      'bfloat16'}
  with pytest.raises(ValueError, match='unknown matmul dtype'):
    layers.set_matmul_dtype(model, 'float16')


@pytest.mark.parametrize('native, resolved', [(True, 'bfloat16'), (False, 'float32')])
def test_auto_matmul_dtype_is_bfloat16_where_the_cpu_has_it(monkeypatch, native, resolved):
  monkeypatch.setattr(layers, 'cpu_has_bfloat16', lambda: native)
  model = melody_model.build_model(melody_model.preset('tiny'))
  assert layers.set_matmul_dtype(model, 'auto') == resolved
  assert model.duration_lstms[0].matmul_dtype == resolved


def test_models_and_checkpoints_of_keras_lstm_layers_load(tmp_path, monkeypatch):
  # Models were built of keras.layers.LSTM before layers.LSTM: their model.keras
  # files and training checkpoints must load into today's model.
  config = melody_model.preset('tiny').override(['lstm_layers=2'])
  with monkeypatch.context() as patch:
    patch.setattr(layers, 'LSTM', keras.layers.LSTM)
    old = melody_model.build_model(config)
  assert type(old.pitch_lstms[0]) is keras.layers.LSTM  # pylint: disable=unidiomatic-typecheck
  features = _random_features()
  old(features)
  old.save(str(tmp_path / 'model.keras'))
  tf.train.Checkpoint(model=old).save(str(tmp_path / 'ckpt'))

  loaded = keras.models.load_model(str(tmp_path / 'model.keras'))
  assert isinstance(loaded.pitch_lstms[0], layers.LSTM)
  expected = old(features)
  for name in ('pitch_logits', 'duration_logits'):
    np.testing.assert_array_equal(loaded(features)[name], expected[name])

  resumed = melody_model.build_model(config)
  tf.train.Checkpoint(model=resumed).restore(
      str(tmp_path / 'ckpt-1')).assert_existing_objects_matched()
  for got, want in zip(resumed.get_weights(), old.get_weights()):
    np.testing.assert_array_equal(got, want)


def test_dropout_drops_its_rate_of_values_and_scales_the_rest_as_keras_does():
  x = tf.ones([64, 128, 160])
  layer = layers.Dropout(0.25, seed=1)

  @tf.function
  def run():
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = layer(x, training=True)
    return y, tape.gradient(y, x)

  first, gradient = [value.numpy() for value in run()]
  second = run()[0].numpy()
  assert set(np.unique(first)) == {0.0, np.float32(1 / 0.75)}
  assert abs((first == 0).mean() - 0.25) < 0.003
  np.testing.assert_array_equal(gradient, first)  # the gradient is the same mask
  assert 0.5 < ((first == 0) == (second == 0)).mean() < 0.7  # a new draw each step
  again = layers.Dropout(0.25, seed=1)(x, training=True).numpy()
  np.testing.assert_array_equal(again, first)  # seeded
  np.testing.assert_array_equal(layer(x, training=False), x)


def test_dropout_of_a_rate_a_byte_cannot_give_takes_kerass_draw():
  x = tf.ones([32, 1000])
  got = layers.Dropout(0.3, seed=2)(x, training=True).numpy()
  want = keras.layers.Dropout(0.3, seed=2)(x, training=True).numpy()
  np.testing.assert_array_equal(got, want)
  assert abs((got == 0).mean() - 0.3) < 0.01
