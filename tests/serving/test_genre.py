"""Tests of the in-graph sampler and the exported SavedModel of one genre.

One tiny untrained model is exported once for the whole module; every signature is called
before saving, after tf.saved_model.load, in a Python that imports tensorflow alone, and
through saved_model_cli, and must give the same tokens for the same seed.
"""

import functools
import itertools
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from stylexfer.tokens import metre
from stylexfer.model import melody_model
from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import heads
from stylexfer.serving.sampling import restyle as restyle_lib
from stylexfer.tokens import traits as traits_lib
from stylexfer.tokens import vocabulary
from stylexfer.dataset import windows
import fixtures
import reference_loops as reference
from stylexfer.serving import client
from stylexfer.serving import genre as genre_lib

NOTES = 12  # per test melody: short, so the whole module runs in seconds


def _melodies():
  """Two 12-note melodies of the jig fixture, as pitches, quarter lengths and tokens."""
  pitches = np.array([fixtures.JIG_PITCHES[:NOTES], fixtures.JIG_PITCHES[NOTES:2 * NOTES]])
  quarters = np.array([fixtures.JIG_DURATIONS[:NOTES],
                       fixtures.JIG_DURATIONS[NOTES:2 * NOTES]], np.float32)
  encoded = [vocabulary.encode(list(p), list(q)) for p, q in zip(pitches, quarters)]
  intervals = np.array([e.intervals for e in encoded], np.int32)
  durations = np.array([e.durations for e in encoded], np.int32)
  return pitches.astype(np.int32), quarters, intervals, durations


PITCHES, QUARTERS, INTERVALS, DURATIONS = _melodies()


BARS, BAR_LENGTHS, PICKUP = fixtures.jig_forms(NOTES, (0, NOTES))
FORM = {'bars': BARS, 'bar_lengths': BAR_LENGTHS, 'pickup': PICKUP, 'push': np.float32(0)}
# Both heard as jigs (style 2 of the model's two) at a tempo of bucket 5.
_FRAMED = [windows.frame(i, d, metre.rhythm_ids(q, lengths, pickup), style=2, tempo=5)
           for i, d, q, lengths, pickup in zip(INTERVALS, DURATIONS, QUARTERS, BAR_LENGTHS,
                                               PICKUP)]
FEATURES = {name: np.stack([f[name].numpy() for f in _FRAMED])
            for name in windows.FEATURES}


def _controls(seed, temperature=1.0, top_p=0.9, style='', tempo=0.0):
  return {'temperature': np.float32(temperature), 'top_p': np.float32(top_p),
          'seed': np.int64(seed), 'style': np.bytes_(style), 'tempo': np.float32(tempo)}


# The genre's styles (the tiny model hears two), pushed apart by guidance.
TRAITS = traits_lib.Traits(62, 1.2, False, styles=('reel', 'jig'), style_guidance=1.5)


# One request per signature, as numpy values of the signature's dtypes.
REQUESTS = {
    'serving_default': FEATURES,
    'generate': {'batch_size': np.int32(2), 'length': np.int32(9),
                 **_controls(7, style='jig', tempo=100)},
    'generate_primed': {'batch_size': np.int32(2), 'length': np.int32(9), **_controls(8),
                        'primer_intervals': INTERVALS[:, :2],
                        'primer_durations': DURATIONS[:, :3]},
    'restyle': {'intervals': INTERVALS, 'durations': DURATIONS, **FORM,
                'strength': np.float32(0.5), **_controls(9, style='reel', tempo=180)},
    'restyle_free': {'intervals': INTERVALS, 'durations': DURATIONS,
                     'strength': np.float32(0.5), **_controls(9)},
    'generate_notes': {'batch_size': np.int32(2), 'length': np.int32(9),
                       'first_pitch': np.int32(60), **_controls(10, style='jig', tempo=100)},
    'restyle_notes': {'pitches': PITCHES, 'quarter_lengths': QUARTERS, **FORM,
                      'strength': np.float32(0.5), **_controls(11, style='jig', tempo=0)},
    'restyle_notes_free': {'pitches': PITCHES, 'quarter_lengths': QUARTERS,
                           'strength': np.float32(0.5), **_controls(11)},
    # Each melody restyled like the first 7 notes of the other one.
    'restyle_like': {'intervals': INTERVALS, 'durations': DURATIONS,
                     'like_intervals': np.ascontiguousarray(INTERVALS[::-1, :6]),
                     'like_durations': np.ascontiguousarray(DURATIONS[::-1, :7]), **FORM,
                     'strength': np.float32(0.5), **_controls(12, style='reel')},
    'restyle_notes_like': {'pitches': PITCHES, 'quarter_lengths': QUARTERS,
                           'like_pitches': np.ascontiguousarray(PITCHES[::-1, :7]),
                           'like_quarter_lengths': np.ascontiguousarray(QUARTERS[::-1, :7]),
                           **FORM, 'strength': np.float32(1.0), **_controls(13)},
}

# The compiled signatures take the requests of the plain ones.
REQUESTS['generate_compiled'] = REQUESTS['generate']
REQUESTS['restyle_compiled'] = REQUESTS['restyle']

# What each signature returns: name -> (shape, dtype).
STEPS = NOTES + 1
OUTPUTS = {
    'serving_default': {
        'pitch_log_probs': ((2, STEPS, vocabulary.NUM_INTERVALS), np.float32),
        'duration_log_probs': ((2, STEPS, vocabulary.NUM_DURATIONS), np.float32)},
    'generate': {'intervals': ((2, 8), np.int32), 'durations': ((2, 9), np.int32)},
    'generate_primed': {'intervals': ((2, 8), np.int32), 'durations': ((2, 9), np.int32)},
    'restyle': {'durations': ((2, NOTES), np.int32)},
    'restyle_free': {'durations': ((2, NOTES), np.int32)},
    'generate_notes': {'pitches': ((2, 9), np.int32), 'quarter_lengths': ((2, 9), np.float32),
                       'sounding_lengths': ((2, 9), np.float32)},
    'restyle_like': {'durations': ((2, NOTES), np.int32)},
}
OUTPUTS['generate_compiled'] = OUTPUTS['generate']
OUTPUTS['restyle_compiled'] = OUTPUTS['restyle']
for _name in ('restyle_notes', 'restyle_notes_like', 'restyle_notes_free'):
  OUTPUTS[_name] = {'pitches': ((2, NOTES), np.int32),
                    'quarter_lengths': ((2, NOTES), np.float32),
                    'sounding_lengths': ((2, NOTES), np.float32)}


def _call(signature_fn, inputs):
  """Calls a signature (or a module's tf.function) with numpy inputs; numpy outputs."""
  outputs = signature_fn(**{name: tf.constant(value) for name, value in inputs.items()})
  return {name: value.numpy() for name, value in outputs.items()}


def _request(signature, **changes):
  return {**REQUESTS[signature], **changes}


@pytest.fixture(scope='module')
def model(tiny_model):
  return tiny_model(0, styles=2)


@pytest.fixture(scope='module')
def module(model):
  return genre_lib.GenreModule(model, 'folk', traits=TRAITS)


@pytest.fixture(scope='module')
def saved_model(model, tmp_path_factory):
  return genre_lib.export(model, 'folk', str(tmp_path_factory.mktemp('exports')),
                          traits=TRAITS)


def test_the_export_serves_its_traits(loaded):
  # What the genre needs at run time travels in the SavedModel, for TF Serving too.
  served = loaded.signatures['traits']()
  assert int(served['first_pitch']) == 62 and not bool(served['compound_meter'])
  assert float(served['swing_ratio']) == pytest.approx(1.2)
  assert [s.decode() for s in served['styles'].numpy()] == ['reel', 'jig']
  assert client.traits_of(loaded) == traits_lib.Traits(62, pytest.approx(1.2), False,
                                                       styles=('reel', 'jig'),
                                                       style_guidance=1.5)


@pytest.fixture(scope='module')
def loaded(saved_model):
  return tf.saved_model.load(saved_model)


@pytest.fixture(scope='module')
def expected(loaded):
  """Every signature's outputs for REQUESTS, from the reloaded SavedModel."""
  return {name: _call(loaded.signatures[name], inputs) for name, inputs in REQUESTS.items()}


def _assert_same(outputs, expected_outputs):
  assert sorted(outputs) == sorted(expected_outputs)
  for signature, values in expected_outputs.items():
    assert sorted(outputs[signature]) == sorted(values), signature
    for name, value in values.items():
      if value.dtype == np.float32 and signature == 'serving_default':
        np.testing.assert_allclose(outputs[signature][name], value, rtol=1e-5, atol=1e-5)
      else:
        np.testing.assert_array_equal(outputs[signature][name], value,
                                      err_msg=f'{signature}/{name}')


# Signatures, shapes and dtypes.

def test_path_is_name_and_integer_version(saved_model):
  assert saved_model.endswith(os.path.join('folk', '1'))


def test_every_signature_returns_its_documented_outputs(expected):
  assert sorted(expected) == sorted(OUTPUTS)
  for signature, outputs in OUTPUTS.items():
    assert sorted(expected[signature]) == sorted(outputs), signature
    for name, (shape, dtype) in outputs.items():
      value = expected[signature][name]
      assert value.shape == shape, (signature, name)
      assert value.dtype == dtype, (signature, name)


def test_token_outputs_are_real_tokens(expected):
  for signature in ('generate', 'generate_primed'):
    intervals = expected[signature]['intervals']
    durations = expected[signature]['durations']
    assert ((intervals >= vocabulary.NUM_SPECIAL) & (intervals < vocabulary.NUM_INTERVALS)).all()
    assert ((durations >= vocabulary.NUM_SPECIAL) & (durations < vocabulary.NUM_DURATIONS)).all()
  restyled = expected['restyle']['durations']
  assert ((restyled >= vocabulary.NUM_SPECIAL) & (restyled < vocabulary.NUM_DURATIONS)).all()


def test_saved_model_cli_lists_every_signature(saved_model, saved_model_cli):
  shown = subprocess.run([saved_model_cli, 'show', '--all', '--dir', saved_model],
                         capture_output=True, text=True, check=True).stdout
  listed = set(re.findall(r"signature_def\['(\w+)'\]", shown))
  assert set(OUTPUTS) <= listed


def test_each_check_is_one_assert_op_made_once_per_request(saved_model):
  """Checks cost load time per function: no assertion may bring branch functions, and
  a request makes each of its checks once (one on notes checks the notes, then calls the
  restyle on their tokens and lengths, which checks those; one on tokens calls that
  restyle too)."""
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  proto = saved_model_pb2.SavedModel()
  with open(os.path.join(saved_model, 'saved_model.pb'), 'rb') as f:
    proto.ParseFromString(f.read())
  functions = proto.meta_graphs[0].graph_def.library.function
  assert not [f.signature.name for f in functions if 'AssertGuard' in f.signature.name]
  for function in functions:
    name = function.signature.name
    if not name.startswith(('__inference_restyle', '__inference__restyle',
                            '__inference_generate')):
      continue
    nodes = {node.name: node for node in function.node_def}
    messages = [nodes[node.input[1].split(':')[0]].attr['value'].tensor.string_val[0]
                for node in function.node_def if node.op == 'Assert']
    called = [node.attr['f'].func.name for node in function.node_def
              if node.op in ('PartitionedCall', 'StatefulPartitionedCall')]
    assert messages or [f for f in called if f.startswith('__inference__restyle')], name
    assert len(messages) == len(set(messages)), name
    if '_notes' in name:  # the sampling loop is the token signature's, not copied here
      assert not [node for node in function.node_def if 'While' in node.op], name


def test_saved_model_keeps_what_merge_needs(loaded, module):
  np.testing.assert_array_equal(loaded.interval_values.numpy(), vocabulary.interval_table())
  np.testing.assert_array_equal(loaded.duration_values.numpy(), vocabulary.duration_table())
  assert int(loaded.pitch_state_size.numpy()) == module.steps.state_size
  assert int(loaded.duration_state_size.numpy()) == module.steps.state_size
  assert loaded.genre.numpy() == b'folk'


# Same seed, same melody: everywhere.

def test_module_before_saving_gives_what_the_saved_model_gives(module, expected):
  outputs = {name: _call(module.signatures()[name], inputs)
             for name, inputs in REQUESTS.items()}
  _assert_same(outputs, expected)


def test_fresh_tensorflow_only_python_gives_the_same(saved_model, expected,
                                                     fresh_tensorflow):
  _assert_same(fresh_tensorflow(saved_model, REQUESTS), expected)


@pytest.mark.parametrize('signature', ['generate', 'generate_compiled'])
def test_saved_model_cli_run_gives_the_same(saved_model, expected, saved_model_cli_run,
                                            signature):
  outputs = saved_model_cli_run(saved_model, signature, REQUESTS[signature])
  for name in ('intervals', 'durations'):
    np.testing.assert_array_equal(outputs[name], expected['generate'][name])


def test_same_seed_twice_gives_the_same(loaded, expected):
  for signature in ('generate', 'restyle', 'generate_notes', 'restyle_notes'):
    _assert_same({signature: _call(loaded.signatures[signature], REQUESTS[signature])},
                 {signature: expected[signature]})


def test_different_seeds_give_different_melodies(loaded, expected):
  other = _call(loaded.signatures['generate'], _request('generate', seed=np.int64(70)))
  assert not np.array_equal(other['intervals'], expected['generate']['intervals'])
  assert not np.array_equal(other['durations'], expected['generate']['durations'])
  # The two rows of one request differ too: each row draws its own numbers.
  assert not np.array_equal(other['intervals'][0], other['intervals'][1])


def test_compiled_signatures_give_the_plain_ones_melodies(loaded, expected):
  # XLA compiles the loops to other kernels; the draws are plain arithmetic on the same
  # stateless random bits, so the melodies agree (see sampling.draws.categorical).
  for name in ('generate', 'restyle'):
    _assert_same({name: expected[f'{name}_compiled']}, {name: expected[name]})
  for seed in range(4):
    for batch_size, length in ((1, 40), (16, 24)):
      request = {'batch_size': np.int32(batch_size), 'length': np.int32(length),
                 **_controls(seed, top_p=(0.9, 1.0)[seed % 2])}
      _assert_same({'generate': _call(loaded.signatures['generate_compiled'], request)},
                   {'generate': _call(loaded.signatures['generate'], request)})
    request = _request('restyle', seed=np.int64(seed), strength=np.float32(1.0))
    _assert_same({'restyle': _call(loaded.signatures['restyle_compiled'], request)},
                 {'restyle': _call(loaded.signatures['restyle'], request)})


# The in-graph loop equals a step-by-step eager loop and the full-sequence model.

def test_generate_equals_eager_step_loop(module, loaded, expected):
  restored = (heads.Head.of(loaded, 'pitch'), heads.Head.of(loaded, 'duration'))
  for pair in ((module.steps.pitch_head, module.steps.duration_head), restored):
    inputs = REQUESTS['generate']
    intervals, durations = reference.generate(*pair, 2, 9, _draw_controls(inputs),
                                              guidance=TRAITS.style_guidance)
    np.testing.assert_array_equal(intervals, expected['generate']['intervals'])
    np.testing.assert_array_equal(durations, expected['generate']['durations'])


def test_generate_primed_equals_eager_step_loop_and_keeps_the_primer(module, expected):
  inputs = REQUESTS['generate_primed']
  intervals, durations = reference.generate(
      module.steps.pitch_head, module.steps.duration_head, 2, 9, _draw_controls(inputs),
      (inputs['primer_intervals'].tolist(), inputs['primer_durations'].tolist()),
      TRAITS.style_guidance)
  np.testing.assert_array_equal(intervals, expected['generate_primed']['intervals'])
  np.testing.assert_array_equal(durations, expected['generate_primed']['durations'])
  np.testing.assert_array_equal(durations[:, :3], inputs['primer_durations'])
  np.testing.assert_array_equal(intervals[:, :2], inputs['primer_intervals'])


TABLES = (vocabulary.interval_table(), vocabulary.duration_table())


def _draw_controls(inputs):
  return draws.Controls(inputs['temperature'], inputs['top_p'], inputs['seed'],
                        inputs.get('strength', 1.0),
                        TRAITS.style_set.request_id(inputs['style'].decode()),
                        inputs['tempo'])


@pytest.mark.parametrize('signature', ['restyle', 'restyle_free'])
def test_restyle_equals_eager_step_loop(module, expected, signature):
  inputs = REQUESTS[signature]
  form = form_lib.Form(BARS, BAR_LENGTHS, PICKUP) if signature == 'restyle' else None
  durations = reference.restyle(
      module.steps.duration_head, inputs['intervals'], inputs['durations'],
      _draw_controls(inputs), *TABLES, form=form, guidance=TRAITS.style_guidance)
  np.testing.assert_array_equal(durations, expected[signature]['durations'])
  # Strength 0.5 keeps some of the melody's own durations and changes others.
  kept = durations.numpy() == DURATIONS
  assert kept.any() and not kept.all()


def test_restyle_like_equals_eager_step_loop_that_listens_first(module, expected):
  inputs = REQUESTS['restyle_like']
  durations = reference.restyle(
      module.steps.duration_head, inputs['intervals'], inputs['durations'],
      _draw_controls(inputs), *TABLES, form=form_lib.Form(BARS, BAR_LENGTHS, PICKUP),
      like=(inputs['like_intervals'], inputs['like_durations']),
      guidance=TRAITS.style_guidance)
  np.testing.assert_array_equal(durations, expected['restyle_like']['durations'])


def test_listening_to_a_melody_moves_the_duration_state(module):
  like = REQUESTS['restyle_like']
  head = module.steps.duration_head
  state, last = restyle_lib.listen(head, tf.constant(like['like_intervals']),
                                   tf.constant(like['like_durations']),
                                   heads.condition(head.tables(), 0, 0))
  np.testing.assert_array_equal(last, like['like_durations'][:, -1])
  assert state.shape == (2, module.steps.state_size)
  # Two different melodies leave two different states.
  assert not np.allclose(state[0], state[1])


def test_restyle_notes_like_matches_restyle_like_on_tokens(loaded):
  notes = REQUESTS['restyle_notes_like']
  tokens = _call(loaded.signatures['restyle_like'], {
      **REQUESTS['restyle_like'], 'strength': notes['strength'],
      'like_intervals': np.ascontiguousarray(INTERVALS[::-1, :6]),
      'like_durations': np.ascontiguousarray(DURATIONS[::-1, :7]),
      **_controls(13)})
  on_notes = _call(loaded.signatures['restyle_notes_like'], notes)
  np.testing.assert_array_equal(on_notes['pitches'], PITCHES)
  np.testing.assert_allclose(on_notes['quarter_lengths'],
                             vocabulary.duration_table()[tokens['durations']])


def test_step_functions_equal_the_full_sequence_model(model, module, expected):
  outputs = model({name: tf.constant(value) for name, value in FEATURES.items()},
                  training=False)
  size = module.steps.state_size
  pitch_state, duration_state = tf.zeros([2, size]), tf.zeros([2, size])
  heard = np.stack([FEATURES[name] for name in metre.INPUTS], -1)
  assert (heard[:, :-1] > 0).all()  # every note hears its metre; END hears none
  asked = np.stack([FEATURES['styles'], FEATURES['tempi']], -1)
  assert (asked > 0).all()  # and every step the style and tempo
  for t in range(STEPS):
    pitch_logits, pitch_state = module.steps.pitch_step(
        FEATURES['intervals_in'][:, t], FEATURES['durations_in'][:, t], heard[:, t],
        asked[:, t], pitch_state)
    duration_logits, duration_state = module.steps.duration_step(
        FEATURES['intervals_out'][:, t], FEATURES['durations_in'][:, t], heard[:, t],
        asked[:, t], duration_state)
    np.testing.assert_allclose(pitch_logits, outputs['pitch_logits'][:, t], atol=1e-5)
    np.testing.assert_allclose(duration_logits, outputs['duration_logits'][:, t], atol=1e-5)
  np.testing.assert_allclose(expected['serving_default']['pitch_log_probs'],
                             tf.nn.log_softmax(outputs['pitch_logits']), atol=1e-5)
  np.testing.assert_allclose(expected['serving_default']['duration_log_probs'],
                             tf.nn.log_softmax(outputs['duration_logits']), atol=1e-5)


# Sampling controls.

def _greedy(steps, batch_size, length):
  """The most likely interval and duration at every note (special tokens excluded)."""
  best = lambda logits: tf.argmax(logits[:, vocabulary.NUM_SPECIAL:], -1,
                                  output_type=tf.int32) + vocabulary.NUM_SPECIAL
  start = tf.fill([batch_size], vocabulary.START)
  interval, duration = start, start
  pitch_state = duration_state = tf.zeros([batch_size, steps.state_size])
  no_metre = heads.unknown_metre(batch_size)
  anything = heads.no_conditions(batch_size)
  intervals, durations = [], []
  for t in range(length):
    logits, pitch_state = steps.pitch_step(interval, duration, no_metre, anything,
                                           pitch_state)
    interval = best(logits) if t else start
    logits, duration_state = steps.duration_step(interval, duration, no_metre, anything,
                                                 duration_state)
    duration = best(logits)
    intervals.append(interval)
    durations.append(duration)
  return tf.stack(intervals[1:], 1).numpy(), tf.stack(durations, 1).numpy()


def test_the_style_and_the_tempo_change_what_is_drawn(loaded):
  generated = {(style, tempo): _call(loaded.signatures['generate'], _request(
      'generate', style=np.bytes_(style), tempo=np.float32(tempo)))['durations']
               for style, tempo in (('', 0), ('reel', 0), ('jig', 0), ('', 60), ('', 300))}
  for one, other in itertools.combinations(generated, 2):
    assert not np.array_equal(generated[one], generated[other]), (one, other)
  restyled = {style: _call(loaded.signatures['restyle'], _request(
      'restyle', strength=np.float32(1), style=np.bytes_(style)))['durations']
              for style in ('', 'reel', 'jig')}
  assert len({value.tobytes() for value in restyled.values()}) == 3


def test_tiny_top_p_picks_the_most_likely_token(module, loaded):
  intervals, durations = _greedy(module.steps, 2, 9)
  for seed in (1, 2):
    for temperature in (1.0, 0.5):
      outputs = _call(loaded.signatures['generate'],
                      _request('generate', top_p=np.float32(1e-6), seed=np.int64(seed),
                               temperature=np.float32(temperature), style=np.bytes_(''),
                               tempo=np.float32(0)))
      np.testing.assert_array_equal(outputs['intervals'], intervals)
      np.testing.assert_array_equal(outputs['durations'], durations)


@pytest.fixture(scope='module')
def trained_module(tiny_model):
  """A tiny model fitted for a few seconds to synthetic tunes that use 5 durations."""
  model = tiny_model(1)
  model.compile(optimizer=keras.optimizers.Adam(1e-2),
                loss={head: functools.partial(melody_model.masked_loss, head)
                      for head in melody_model.TARGETS})
  melodies = windows.synthetic_melodies(32, max_notes=120)
  model.fit(windows.train_batches(windows.melody_windows(melodies, 32), 32),
            steps_per_epoch=150, epochs=1, verbose=0)
  return genre_lib.GenreModule(model, 'synthetic')


def test_lower_temperature_is_less_diverse_but_keeps_a_rhythm(trained_module):
  def distinct_durations(temperature):
    outputs = _call(trained_module.generate, {'batch_size': np.int32(8),
                                              'length': np.int32(32),
                                              **_controls(3, temperature, 1.0)})
    return np.array([len(set(row)) for row in outputs['durations']])

  assert distinct_durations(0.05).mean() < distinct_durations(1.0).mean()
  # At 0.5 every melody still moves between several of the corpus's five durations.
  assert distinct_durations(0.5).min() >= 3


# Restyling and the vocabulary in the graph.

def test_restyle_with_strength_zero_keeps_the_durations(loaded):
  for seed in (0, 1, 2):
    outputs = _call(loaded.signatures['restyle'],
                    _request('restyle', strength=np.float32(0.0), seed=np.int64(seed)))
    np.testing.assert_array_equal(outputs['durations'], DURATIONS)


def test_restyle_with_strength_one_rewrites_the_rhythm(loaded):
  outputs = _call(loaded.signatures['restyle'], _request('restyle', strength=np.float32(1.0)))
  assert (outputs['durations'] != DURATIONS).mean() > 0.5


def test_restyling_a_generated_melody_with_its_seed_gives_it_back(loaded, expected):
  # Restyle draws each duration with the seed generate drew it with, so the model that
  # made a melody, asked for a new rhythm with the same seed, gives the same rhythm.
  melody = expected['generate']
  # Generated melodies have no bars: the free restyle hears no metre, as generate.
  outputs = _call(loaded.signatures['restyle_free'], {
      'intervals': melody['intervals'], 'durations': melody['durations'],
      'strength': np.float32(1.0),
      **{name: REQUESTS['generate'][name] for name in ('temperature', 'top_p', 'seed',
                                                       'style', 'tempo')}})
  np.testing.assert_array_equal(outputs['durations'], melody['durations'])


def test_restyle_notes_keeps_pitches_and_puts_durations_on_the_grid(expected, loaded):
  outputs = expected['restyle_notes']
  np.testing.assert_array_equal(outputs['pitches'], PITCHES)
  grid = vocabulary.duration_table()[vocabulary.NUM_SPECIAL:]
  assert np.isin(outputs['quarter_lengths'], grid).all()
  kept = _call(loaded.signatures['restyle_notes'],
               _request('restyle_notes', strength=np.float32(0.0)))
  np.testing.assert_array_equal(kept['quarter_lengths'], QUARTERS)


def test_generate_notes_follows_generate(loaded, expected):
  tokens = _call(loaded.signatures['generate'],
                 _request('generate', seed=REQUESTS['generate_notes']['seed']))
  notes = expected['generate_notes']
  steps = vocabulary.interval_table()[tokens['intervals']]
  np.testing.assert_array_equal(notes['pitches'][:, 0], [60, 60])
  # Pitches that a run of leaps takes out of MIDI come back by octaves.
  assert ((notes['pitches'] >= 0) & (notes['pitches'] <= 127)).all()
  np.testing.assert_array_equal(np.diff(notes['pitches'], axis=1) % 12, steps % 12)
  np.testing.assert_array_equal(notes['quarter_lengths'],
                                vocabulary.duration_table()[tokens['durations']])


@pytest.mark.parametrize('pitches,quarters', [
    ([60, 62, 64, 65], [1.0, 0.5, 0.5, 2.0]),
    # Leaps beyond two octaves are folded by octaves, both ways.
    ([60, 97, 40, 100, 30, 31], [0.3, 1.1, 0.07, 2.9, 7.9, 40.0]),
    ([20, 90, 19, 67], [0.01, 1 / 3, 5.1, 4.75]),
])
def test_notes_to_tokens_matches_vocabulary_encode(module, pitches, quarters):
  encoded = vocabulary.encode(pitches, quarters)
  intervals, durations = module.notes_to_tokens([pitches], [quarters])
  assert intervals.numpy().tolist() == [encoded.intervals]
  assert durations.numpy().tolist() == [encoded.durations]


def test_notes_to_tokens_gives_ties_to_the_shorter_duration(module):
  # Halfway between two grid values: 1/24 and 1/12, 1/2 and 13/24, 1 and 13/12, 9/2 and 5.
  ties = [0.0625, 0.5 + 1 / 48, 1 + 1 / 24, 4.75]
  shorter = ['1/24', '1/2', '1', '9/2']
  _, durations = module.notes_to_tokens([[60] * len(ties)], [ties])
  assert durations.numpy().tolist() == [[vocabulary.duration_id(q) for q in shorter]]


# Bad requests fail with a message that says what is wrong.

BAD_REQUESTS = [
    ('generate', {'length': np.int32(0)}, 'length must be > 0'),
    # The compiled signatures check a request before XLA runs anything.
    ('generate_compiled', {'length': np.int32(0)}, 'length must be > 0'),
    ('generate_compiled', {'top_p': np.float32(1.5)}, 'top_p must be in (0, 1]'),
    ('restyle_compiled', {'intervals': INTERVALS[:, :3]},
     'durations must hold one more note than intervals'),
    ('generate', {'length': np.int32(checks.MAX_LENGTH + 1)},
     f'length must be <= {checks.MAX_LENGTH}'),
    ('generate', {'batch_size': np.int32(0)}, 'batch_size must be > 0'),
    ('generate', {'temperature': np.float32(0.0)}, 'temperature must be >= 0.001'),
    ('generate', {'temperature': np.float32(-1.0)}, 'temperature must be >= 0.001'),
    ('restyle', {'temperature': np.float32(1e-12)}, 'temperature must be >= 0.001'),
    ('generate', {'top_p': np.float32(0.0)}, 'top_p must be in (0, 1]'),
    ('generate', {'top_p': np.float32(1.5)}, 'top_p must be in (0, 1]'),
    ('generate_notes', {'first_pitch': np.int32(128)}, 'first_pitch must be a MIDI pitch'),
    ('generate_primed', {'primer_intervals': np.full([2, 2], 99, np.int32)},
     'primer interval token ids must be in [3, 52)'),
    ('generate_primed', {'primer_durations': np.zeros([2, 3], np.int32)},
     'primer duration token ids must be in [3, 59)'),
    ('generate_primed', {'primer_intervals': INTERVALS[:, :3]},
     'primer_durations must hold one more note than primer_intervals'),
    ('generate_primed', {'length': np.int32(2)}, 'the primer must not be longer than length'),
    ('generate_primed', {'primer_intervals': INTERVALS[:1, :2],
                         'primer_durations': DURATIONS[:1, :3]},
     'primer_durations must have batch_size rows'),
    ('restyle', {'intervals': np.zeros([2, 0], np.int32),
                 'durations': np.zeros([2, 0], np.int32)}, 'a melody needs at least one note'),
    ('restyle', {'intervals': INTERVALS + 50}, 'interval token ids must be in [3, 52)'),
    ('restyle', {'durations': DURATIONS * 0 - 1}, 'duration token ids must be in [3, 59)'),
    ('restyle', {'intervals': INTERVALS[:, :5]},
     'durations must hold one more note than intervals'),
    ('restyle', {'intervals': INTERVALS[:1]}, 'intervals and durations must have the same batch'),
    ('restyle', {'intervals': np.full([1, checks.MAX_LENGTH], 30, np.int32),
                 'durations': np.full([1, checks.MAX_LENGTH + 1], 30, np.int32)},
     f'a melody must have at most {checks.MAX_LENGTH} notes'),
    ('restyle', {'strength': np.float32(1.5)}, 'strength must be in [0, 1]'),
    ('restyle', {'strength': np.float32(-0.1)}, 'strength must be in [0, 1]'),
    ('restyle', {'top_p': np.float32(2.0)}, 'top_p must be in (0, 1]'),
    ('restyle_notes', {'quarter_lengths': QUARTERS[:, :5]},
     'pitches and quarter_lengths must have one shape'),
    ('restyle_notes', {'pitches': np.zeros([1, 0], np.int32),
                       'quarter_lengths': np.zeros([1, 0], np.float32)},
     'a melody needs at least one note'),
    ('restyle_notes', {'quarter_lengths': QUARTERS * 0},
     'quarter_lengths must be finite and > 0'),
    ('restyle_notes', {'quarter_lengths': QUARTERS + np.inf},
     'quarter_lengths must be finite and > 0'),
    ('restyle_notes', {'pitches': PITCHES + 100}, 'pitches must be MIDI pitches in [0, 127]'),
    ('restyle_notes', {'pitches': PITCHES - 100}, 'pitches must be MIDI pitches in [0, 127]'),
    ('restyle_notes', {'bars': BARS[:, :5]}, 'bars must hold one bar index per note'),
    ('restyle_notes', {'bars': BARS[:, ::-1].copy()}, 'bars must never decrease'),
    ('restyle_notes', {'bars': BARS - 1}, 'bars must be >= 0'),
    ('restyle_notes', {'bars': BARS + 10}, 'bars must index bar_lengths'),
    ('restyle_notes', {'bar_lengths': BAR_LENGTHS * 0}, 'bar_lengths must be in [0.0416667, 64]'),
    ('restyle_notes', {'bar_lengths': BAR_LENGTHS + np.inf}, 'bar_lengths must be in ['),
    ('restyle_notes', {'bar_lengths': BAR_LENGTHS * 0 + 1e-9}, 'bar_lengths must be in ['),
    ('restyle_notes', {'bar_lengths': BAR_LENGTHS * 0 + 3e38}, 'bar_lengths must be in ['),
    ('restyle_notes', {'bar_lengths': np.full([2, 5000], 4.0, np.float32)},
     'a melody must have at most 4096 bars'),
    ('serving_default', {name: np.zeros([2, 5000], np.int32) for name in FEATURES},
     'a sequence must have at most 4096 notes'),
    ('restyle_notes', {'pickup': PICKUP + 3}, 'pickup must be in [0,'),
    ('restyle_notes', {'pickup': PICKUP[:1]}, 'pickup must hold one value per melody'),
    ('restyle_notes', {'push': np.float32(0.6)}, 'push must be in [0, 0.5]'),
    ('restyle_notes_free', {'strength': np.float32(2.0)}, 'strength must be in [0, 1]'),
    ('generate', {'batch_size': np.int32(2 ** 17)}, 'batch_size must be <= 65536'),
    ('generate', {'batch_size': np.int32(60_000), 'length': np.int32(4000)},
     'batch_size * length must be <='),
    ('restyle_notes', {'strength': np.float32(2.0)}, 'strength must be in [0, 1]'),
    ('restyle_like', {'like_intervals': np.zeros([2, 0], np.int32),
                      'like_durations': np.zeros([2, 0], np.int32)},
     'like: a melody needs at least one note'),
    ('restyle_like', {'like_intervals': INTERVALS[:, :3]},
     'like: durations must hold one more note than intervals'),
    ('restyle_like', {'like_durations': DURATIONS[:, :7] * 0},
     'like: duration token ids must be in [3, 59)'),
    ('restyle_like', {'like_intervals': INTERVALS[:1, :6], 'like_durations': DURATIONS[:1, :7]},
     'like: the target melodies must have the batch of the melodies'),
    # A request of no melodies, and tensors of another rank than the signature's, meet a
    # check that says so before any op that would fail on them.
    ('restyle_notes', {'pitches': PITCHES[:0], 'quarter_lengths': QUARTERS[:0],
                       'bars': BARS[:0], 'bar_lengths': BAR_LENGTHS[:0], 'pickup': PICKUP[:0]},
     'a request needs at least one melody (batch > 0)'),
    ('restyle_notes_free', {'pitches': PITCHES[:0], 'quarter_lengths': QUARTERS[:0]},
     'a request needs at least one melody'),
    ('restyle', {'intervals': INTERVALS[:0], 'durations': DURATIONS[:0], 'bars': BARS[:0],
                 'bar_lengths': BAR_LENGTHS[:0], 'pickup': PICKUP[:0]},
     'a request needs at least one melody'),
    ('restyle_compiled', {'intervals': INTERVALS[:0], 'durations': DURATIONS[:0],
                          'bars': BARS[:0], 'bar_lengths': BAR_LENGTHS[:0],
                          'pickup': PICKUP[:0]}, 'a request needs at least one melody'),
    ('restyle_notes', {'pitches': PITCHES[:, None]},
     'pitches and quarter_lengths must be matrices [batch, notes]'),
    ('restyle_notes', {'pitches': PITCHES[:, None], 'quarter_lengths': QUARTERS[:, None]},
     'pitches and quarter_lengths must be matrices [batch, notes]'),
    ('restyle_notes_like', {'like_pitches': PITCHES[:, None, :7]},
     'like: pitches and quarter_lengths must be matrices'),
    ('restyle', {'intervals': INTERVALS[None]}, 'intervals and durations must be matrices'),
    ('restyle_like', {'like_durations': DURATIONS[None, :, :7]},
     'like: intervals and durations must be matrices'),
    ('restyle_notes', {'bars': BARS[None]}, 'bars and bar_lengths must be matrices'),
    ('restyle_notes', {'pickup': PICKUP[:, None]}, 'pickup a vector [batch]'),
    ('restyle', {'bar_lengths': BAR_LENGTHS[0]}, 'bars and bar_lengths must be matrices'),
    ('restyle_notes', {'bar_lengths': np.where(np.arange(BAR_LENGTHS.shape[1]) == 1,
                                               np.float32(0.1), BAR_LENGTHS)},
     'a bar must have room for its notes'),
    ('restyle_notes_like', {'like_quarter_lengths': QUARTERS[:, :7] * 0},
     'like: quarter_lengths must be finite and > 0'),
    ('restyle_notes_like', {'like_quarter_lengths': QUARTERS[:, :7] * np.nan},
     'like: quarter_lengths must be finite and > 0'),
    ('serving_default', {name: np.zeros([2, 0], np.int32) for name in windows.FEATURES},
     'the token sequences are empty'),
    ('serving_default', {'positions': FEATURES['positions'] + metre.NUM_POSITIONS},
     f'positions token ids must be in [0, {metre.NUM_POSITIONS})'),
    ('serving_default', {'intervals_in': FEATURES['intervals_in'] + 60},
     'intervals_in token ids must be in [0, 52)'),
    ('serving_default', {'durations_in': FEATURES['durations_in'][:, :4]},
     'intervals_in and durations_in must have one shape'),
    ('serving_default', {'styles': FEATURES['styles'] + 2}, 'styles token ids must be in [0, 3)'),
    # A style the genre lacks names the ones it has; a tempo out of range its range.
    ('generate', {'style': np.bytes_('bebop')},
     'style must be empty (any) or a style of the model: its styles (tune types) are reel, jig'),
    ('restyle_notes', {'style': np.bytes_('Reel')}, 'its styles (tune types) are reel, jig'),
    ('restyle_like', {'tempo': np.float32(5)},
     'tempo must be 0 (unknown) or from 20 to 400 quarter notes a minute'),
    ('generate_compiled', {'tempo': np.float32(np.nan)}, 'tempo must be 0 (unknown)'),
]


@pytest.mark.parametrize('signature,changes,phrase', BAD_REQUESTS,
                         ids=[f'{s}-{p}' for s, _, p in BAD_REQUESTS])
def test_bad_request_says_what_is_wrong(loaded, signature, changes, phrase):
  with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(phrase)):
    _call(loaded.signatures[signature], _request(signature, **changes))


# The export program.

def test_export_program_writes_integer_versions(model, tmp_path, module):
  model_dir, export_dir = tmp_path / 'run', tmp_path / 'exports'
  model_dir.mkdir()
  model.save(model_dir / 'model.keras')
  traits_lib.save(str(model_dir), TRAITS)  # the styles the model hears, as training saves them
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  command = [sys.executable, '-m', 'stylexfer.programs.export', f'--run_dir={model_dir}',
             f'--models_dir={export_dir}', '--name=folk']
  # An earlier export as version 1: the program takes the next integer and leaves it.
  (export_dir / 'folk' / '1').mkdir(parents=True)
  (export_dir / 'folk' / '1' / 'saved_model.pb').write_bytes(b'earlier')
  done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
  assert done.returncode == 0, done.stderr[-3000:]
  path = export_dir / 'folk' / '2'
  assert done.stdout.strip().endswith(str(path))
  assert (path / 'saved_model.pb').exists()
  assert sorted(os.listdir(export_dir / 'folk')) == ['1', '2']
  assert (export_dir / 'folk' / '1' / 'saved_model.pb').read_bytes() == b'earlier'
  reloaded = tf.saved_model.load(str(export_dir / 'folk' / '2'))
  assert reloaded.genre.numpy() == b'folk'
  _assert_same({'generate': _call(reloaded.signatures['generate'], REQUESTS['generate'])},
               {'generate': _call(module.generate, REQUESTS['generate'])})
