"""A restyle keeps the tune's form: notes in their bars, repeated bars alike, strength 0.

The model is tiny and untrained, so its rhythm is close to random: whatever it draws, the
sampler alone must keep the form.
"""

import fractions
import functools

import numpy as np
import pytest
import tensorflow as tf

from stylexfer.reading import abc_reader
from stylexfer.tokens import beats
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary
from stylexfer.serving import genre as genre_lib
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import heads
from stylexfer.serving.sampling import restyle as restyle_lib
from stylexfer.tokens import traits as traits_lib

Fraction = fractions.Fraction

TUNES = {
    'waltz in 3/4': 'M:3/4\nL:1/8\nK:G\nG2 AB c2|d4 B2|c2 BA G2|A6|B2 cd e2|d6|]\n',
    'jig in 6/8 with a pickup': 'M:6/8\nL:1/8\nK:D\nA|dfa afd|cec A2G|FAd cBA|d3 d2:|\n',
    'reel in 4/4 with a pickup': ('M:4/4\nL:1/8\nK:D\nFG|A2 dA FADF|GBdB AFDF|'
                                  'EFGA BcdB|A2 F2 D2:|\n'),
    'mixed meters': ('M:4/4\nL:1/8\nK:C\nc2 de f2 g2|[M:3/4] a2 g2 f2|e2 d2 c2|'
                     '[M:2/4] d2 e2|[M:4/4] g8|]\n'),
}

# The style and tempo of a request for any style at an unknown tempo.
ANY = (tf.constant(''), tf.constant(0.0))


def _melody(body, title='Form'):
  return abc_reader.parse_abc_tune(f'X:1\nT:{title}\n{body}', 'form.abc', '1', title)


@pytest.fixture(scope='module')
def module(tiny_model):
  return genre_lib.GenreModule(tiny_model(3), 'jazz')


def _restyle(module, melody, seed, strength=1.0, push=0.0, top_p=1.0):
  bars, lengths, pickup = melody.form()
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  durations = module.restyle(
      tf.constant([encoding.intervals], tf.int32), tf.constant([encoding.durations]),
      tf.constant([bars]), tf.constant([lengths]), tf.constant([pickup]),
      tf.constant(strength), tf.constant(push), tf.constant(1.0), tf.constant(top_p),
      tf.constant(seed, tf.int64), *ANY)['durations'][0].numpy()
  return vocabulary.duration_table()[durations], (bars, lengths, pickup), encoding


def _onsets(quarters, pickup):
  return pickup + np.concatenate([[0.0], np.cumsum(quarters)[:-1]])


@pytest.mark.parametrize('name', sorted(TUNES))
def test_every_note_stays_in_its_bar(module, name):
  melody = _melody(TUNES[name])
  for seed in range(6):
    quarters, (bars, lengths, pickup), _ = _restyle(module, melody, seed)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    onsets = _onsets(quarters, pickup)
    assert (onsets >= starts[bars] - 1e-6).all(), (name, seed)
    assert (onsets < starts[bars + 1] - 1e-6).all(), (name, seed)
    # The last note ends in its bar, and the rhythm changed.
    assert onsets[-1] + quarters[-1] <= starts[bars[-1] + 1] + 1e-4
    assert not np.allclose(quarters, [float(d) for d in melody.durations()])


def test_the_form_is_read_from_the_bars():
  bars, lengths, pickup = _melody(TUNES['mixed meters']).form()
  assert lengths.tolist() == [4, 3, 3, 2, 4]
  assert bars.tolist() == [0] * 5 + [1] * 3 + [2] * 3 + [3] * 2 + [4]
  bars, lengths, pickup = _melody(TUNES['jig in 6/8 with a pickup']).form()
  assert (pickup, lengths[0], bars[0], bars[1]) == (2.5, 3, 0, 1)


def test_a_bar_that_repeats_an_earlier_bar_gets_its_rhythm(module):
  # Bars 1 and 3 repeat bars 0 and 2 (same notes, same rhythm); bar 4 differs.
  melody = _melody('M:4/4\nL:1/8\nK:G\nGABc dBAG|GABc dBAG|FGAB cAFD|FGAB cAFD|G8|]\n')
  for seed in range(5):
    quarters, (bars, lengths, pickup), _ = _restyle(module, melody, seed)
    onsets = _onsets(quarters, pickup)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    rhythm = lambda bar: ((onsets - starts[bars])[bars == bar].round(4).tolist(),
                          quarters[bars == bar].round(4).tolist())
    assert rhythm(1) == rhythm(0), seed
    assert rhythm(3) == rhythm(2), seed


def test_bars_alike_in_rhythm_but_not_in_pitch_are_free(module):
  melody = _melody('M:4/4\nL:1/8\nK:G\nGABc dBAG|ABcd edcB|GABc dBAG|G8|]\n')
  differ = 0
  for seed in range(5):
    quarters, (bars, _, _), _ = _restyle(module, melody, seed)
    differ += quarters[bars == 1].round(4).tolist() != quarters[bars == 0].round(4).tolist()
  assert differ >= 3


def test_strength_zero_gives_the_melody_back_and_strength_moves_it_smoothly(module):
  melody = _melody(TUNES['reel in 4/4 with a pickup'])
  own = np.array([float(d) for d in melody.durations()])
  changed = {}
  for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
    shares = [np.mean(_restyle(module, melody, seed, strength)[0] != own)
              for seed in range(6)]
    changed[strength] = float(np.mean(shares))
  assert changed[0.0] == 0.0
  values = [changed[s] for s in sorted(changed)]
  assert values == sorted(values) and values[-1] > 0.5


def test_strength_changes_each_melody_more_as_it_rises(module):
  # Per melody and seed, not only on average: a musician turning the knob up hears more.
  falls = 0
  for name, body in sorted(TUNES.items()):
    melody = _melody(body)
    own = np.array([float(d) for d in melody.durations()])
    for seed in range(4):
      counts = [int(np.sum(_restyle(module, melody, seed, strength)[0] != own))
                for strength in (0.0, 0.25, 0.5, 0.75, 1.0)]
      falls += counts != sorted(counts)
  assert falls <= 1  # of 16 melodies and seeds


def test_the_bars_a_strength_changes_are_spread_evenly_and_kept_at_higher_strengths():
  key = draws.seed_key(tf.constant(7, tf.int64))
  bars = tf.constant([np.arange(64)], tf.int32)
  chosen = {share: restyle_lib.changed_notes(tf.constant(share), bars, key).numpy()[0]
            for share in (0.0, 0.25, 0.5, 0.75, 1.0)}
  assert not chosen[0.0].any() and chosen[1.0].all()
  for low, high in ((0.25, 0.5), (0.5, 0.75), (0.75, 1.0)):
    assert not (chosen[low] & ~chosen[high]).any()  # changed at low, changed at high
  for share in (0.25, 0.5, 0.75):
    for quarter in np.split(chosen[share], 4):  # 16 bars each: within a bar of the share
      assert abs(quarter.mean() - share) <= 1 / 16 + 1e-9
  # Another seed chooses other bars.
  other = restyle_lib.changed_notes(tf.constant(0.5), bars,
                                    draws.seed_key(tf.constant(8, tf.int64))).numpy()[0]
  assert (other != chosen[0.5]).any()


def test_the_strength_map_is_in_the_savedmodel_and_every_restyle_signature_follows_it(
    tiny_model, tmp_path):
  # A map that changes every bar at 0.5 makes 0.5 draw what 1 draws, in every signature.
  everything = traits_lib.Traits(65, 1.11, False, strength_map=(0.0, 1.0, 1.0))
  path = genre_lib.export(tiny_model(3), 'jazz', str(tmp_path), traits=everything)
  loaded = tf.saved_model.load(path)
  np.testing.assert_allclose(loaded.signatures['traits']()['strength_map'], [0, 1, 1])
  melody = _melody(TUNES['reel in 4/4 with a pickup'])
  bars, lengths, pickup = melody.form()
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  tokens = {'intervals': [encoding.intervals], 'durations': [encoding.durations]}
  notes = {'pitches': [melody.pitches],
           'quarter_lengths': [[float(d) for d in melody.durations()]]}
  form = {'bars': [bars], 'bar_lengths': [lengths], 'pickup': [pickup], 'push': 0.0}
  like = {'like_intervals': tokens['intervals'], 'like_durations': tokens['durations']}
  like_notes = {'like_pitches': notes['pitches'],
                'like_quarter_lengths': notes['quarter_lengths']}
  requests = {'restyle': {**tokens, **form}, 'restyle_compiled': {**tokens, **form},
              'restyle_like': {**tokens, **like, **form},
              'restyle_free': tokens, 'restyle_notes': {**notes, **form},
              'restyle_notes_like': {**notes, **like_notes, **form},
              'restyle_notes_free': notes}
  plain = genre_lib.GenreModule(tiny_model(3), 'jazz')
  for name, request in requests.items():
    def call(model, strength, request=request, name=name):
      inputs = {k: tf.constant(v) for k, v in request.items()}
      inputs.update(strength=tf.constant(strength), temperature=tf.constant(1.0),
                    top_p=tf.constant(0.9), seed=tf.constant(3, tf.int64),
                    style=tf.constant(''), tempo=tf.constant(0.0))
      signature = model.signatures[name] if model is loaded else getattr(model, name)
      return {k: np.asarray(v) for k, v in signature(**inputs).items()}
    half, whole = call(loaded, 0.5), call(loaded, 1.0)
    for output in whole:
      np.testing.assert_array_equal(half[output], whole[output], err_msg=name)
    # Without the map, 0.5 keeps some of the melody's own rhythm.
    unmapped = call(plain, 0.5)
    assert any((unmapped[o] != whole[o]).any() for o in whole), name


def test_push_lets_a_bars_first_note_anticipate_by_at_most_an_eighth(module):
  melody = _melody(TUNES['reel in 4/4 with a pickup'])
  early = 0
  for seed in range(8):
    quarters, (bars, lengths, pickup), _ = _restyle(module, melody, seed, push=0.5)
    starts = np.concatenate([[0.0], np.cumsum(lengths)])
    before = starts[bars] - _onsets(quarters, pickup)
    assert (before <= 0.5 + 1e-6).all()
    early += int((before > 1e-6).sum())
  assert early > 0


def _places(quarters, bars, lengths, pickup):
  quarters = np.round(np.asarray(quarters, float) * 24) / 24  # float32 sums drift
  starts = np.concatenate([[0.0], np.cumsum(lengths)])
  return _onsets(quarters, pickup) - starts[bars]


@pytest.mark.parametrize('name', sorted(TUNES))
def test_every_onset_lands_where_a_score_writes_it(module, name):
  # The untrained head draws nearly at random from every 24th of a beat; the sampler
  # alone keeps onsets on 16ths, 32nds and triplets, one kind to a beat.
  melody = _melody(TUNES[name])
  for seed in range(6):
    quarters, (bars, lengths, pickup), _ = _restyle(module, melody, seed)
    places = _places(quarters, bars, lengths, pickup)
    assert beats.written(places, bars).all(), (name, seed, places.tolist())


def test_the_head_alone_would_land_where_no_score_writes(module):
  # The same draws without bars (restyle_free): the places above are the sampler's doing.
  melody = _melody(TUNES['reel in 4/4 with a pickup'])
  encoding = vocabulary.encode(melody.pitches, melody.durations())
  unwritten = 0
  for seed in range(6):
    durations = module.restyle_free(
        tf.constant([encoding.intervals], tf.int32), tf.constant([encoding.durations]),
        tf.constant(1.0), tf.constant(1.0), tf.constant(1.0),
        tf.constant(seed, tf.int64), *ANY)['durations'][0].numpy()
    onsets = _onsets(vocabulary.duration_table()[durations], 0.0)
    unwritten += int((~beats.written(onsets % 4, onsets // 4)).sum())
  assert unwritten > 10


def test_a_bar_too_full_for_written_places_still_keeps_its_notes(module):
  # 96 notes of 1/24 fill a 4/4 bar exactly: the room kept for the notes still to come
  # leaves each note its own place, and most of those no score writes. The bar comes
  # first.
  quarters = [Fraction(1, 24)] * 96 + [Fraction(4)]
  bars, lengths = [0] * 96 + [1], [4.0, 4.0]
  encoding = vocabulary.encode([60 + k % 5 for k in range(97)], quarters)
  for seed in range(2):
    durations = module.restyle(
        tf.constant([encoding.intervals], tf.int32), tf.constant([encoding.durations]),
        tf.constant([bars]), tf.constant([lengths]), tf.constant([0.0]),
        tf.constant(1.0), tf.constant(0.0), tf.constant(1.0), tf.constant(1.0),
        tf.constant(seed, tf.int64), *ANY)['durations'][0].numpy()
    new = vocabulary.duration_table()[durations]
    np.testing.assert_allclose(new[:95], 1 / 24, rtol=1e-6)  # the 96th leads to bar 1
    assert not beats.written(_places(new, np.array(bars), lengths, 0.0), bars)[:96].all()


def test_rests_start_on_an_eighth_note_place(tiny_model):
  # A genre whose notes of a quarter or longer sound a 16th: the rest after a note on a
  # triplet place would start on a place no score writes.
  sounding = vocabulary.duration_table().copy()
  sounding[vocabulary.duration_table() >= 1.5] = 0.25
  module = genre_lib.GenreModule(tiny_model(3), 'jazz', sounding)
  melody = _melody(TUNES['reel in 4/4 with a pickup'])
  bars, lengths, pickup = melody.form()
  rested = 0
  for seed in range(8):
    notes = module.restyle_notes(
        tf.constant([melody.pitches]), tf.constant([[float(d) for d in melody.durations()]]),
        tf.constant([bars]), tf.constant([lengths]), tf.constant([pickup]),
        tf.constant(1.0), tf.constant(0.0), tf.constant(1.0), tf.constant(1.0),
        tf.constant(seed, tf.int64), *ANY)
    quarters = notes['quarter_lengths'][0].numpy().astype(float)
    sounding = notes['sounding_lengths'][0].numpy().astype(float)
    rests = sounding < quarters - 1e-6
    ends = _places(quarters, bars, lengths, pickup) + sounding
    assert (sounding > 0).all()
    np.testing.assert_allclose((ends * 2)[rests], np.round(ends * 2)[rests], atol=1e-5)
    assert (quarters - sounding)[rests].min(initial=1.0) >= 0.5 - 1e-6
    rested += int(rests.sum())
  assert rested > 0


def test_metre_ids_of_a_rhythm_on_its_bars():
  ids = metre.rhythm_ids([1, 1, 1, 1, 2, 2], [4, 4], 0)
  assert ids['positions'].tolist() == [1, 13, 25, 37, 1, 25]
  assert ids['bar_lengths'].tolist() == [16] * 6
  assert ids['notes_left'].tolist() == [4, 3, 2, 1, 2, 1]


# Drawing a token.

def test_sample_never_draws_special_tokens():
  logits = tf.constant([[50.0, 50.0, 50.0, 0.0, 1.0]])
  drawn = [int(draws.sample(logits, 1.0, 1.0, draws.note_seed(seed, 0, 0))[0])
           for seed in range(20)]
  assert set(drawn) <= {3, 4}


def test_categorical_draws_what_stateless_categorical_draws():
  # The draw the shipped melodies were made with, now in plain ops that XLA compiles.
  rng = np.random.default_rng(0)
  for trial in range(40):
    logits = (rng.normal(size=(1 + trial % 5, 12)) * 3).astype(np.float32)
    logits[:, :vocabulary.NUM_SPECIAL] = -1e9
    logits[0, 5] = logits[0, 6]  # a tie
    seed = draws.note_seed(trial, trial % 7, trial % 2)
    np.testing.assert_array_equal(
        draws.categorical(tf.constant(logits), seed),
        tf.random.stateless_categorical(logits, 1, seed)[:, 0])


def test_compiled_categorical_draws_the_same():
  # XLA's float64 uniforms differ from TensorFlow's; compiled code builds the kernel's.
  logits = tf.constant(np.random.default_rng(1).normal(size=(64, 30)), tf.float32)
  under_xla = tf.function(functools.partial(draws.categorical, compiled=True),
                          jit_compile=True)
  for seed in range(5):
    plain = draws.categorical(logits, draws.note_seed(seed, 3, 1))
    np.testing.assert_array_equal(
        draws.categorical(logits, draws.note_seed(seed, 3, 1), compiled=True), plain)
    np.testing.assert_array_equal(under_xla(logits, draws.note_seed(seed, 3, 1)), plain)


@pytest.mark.parametrize('size', [1, 2, 5, 52, 59, 64])
def test_sorting_network_gives_the_sorted_values_in_and_out_of_xla(size):
  # Compiled nucleus sampling sorts with it, so it must give tf.sort's values exactly,
  # ties, masked logits and padding to a power of two included.
  rng = np.random.default_rng(size)
  values = (rng.normal(size=(7, size)) * 3).astype(np.float32)
  values[1] = np.round(values[1])  # many ties
  values[2, ::3] = -1e9
  values[3] = 0.0
  under_xla = tf.function(draws.sorted_descending, jit_compile=True)
  expected = tf.sort(values, direction='DESCENDING', axis=-1).numpy()
  np.testing.assert_array_equal(draws.sorted_descending(tf.constant(values)), expected)
  np.testing.assert_array_equal(under_xla(tf.constant(values)), expected)


def test_compiled_nucleus_keeps_the_plain_nucleus():
  rng = np.random.default_rng(3)
  logits = tf.constant(rng.normal(size=(64, 59)) * 2, tf.float32)
  under_xla = tf.function(functools.partial(draws.nucleus, compiled=True),
                          jit_compile=True)
  for top_p in (0.05, 0.5, 0.9, 0.999, 1.0):
    plain = draws.nucleus(logits, tf.constant(top_p))
    assert 0 < int(tf.reduce_sum(tf.cast(plain, tf.int32))) <= 64 * 59
    np.testing.assert_array_equal(under_xla(logits, tf.constant(top_p)), plain)


def test_note_seed_with_its_key_drawn_once_is_the_two_fold_ins():
  fold_in = functools.partial(tf.random.experimental.stateless_fold_in, alg='philox')
  for seed in (0, -5, 2 ** 62):
    base = tf.constant([seed, 0], tf.int64)
    for note in (0, 77, 4095):
      for stream in (0, 1):
        expected_seed = fold_in(fold_in(base, tf.constant(note, tf.int64)), stream)
        for key in (None, draws.seed_key(seed)):
          np.testing.assert_array_equal(draws.note_seed(seed, note, stream, key),
                                        expected_seed)


def test_guidance_pushes_a_styles_rhythm_away_from_any_styles(tiny_model):
  # heads.guided: log p_style + w (log p_style - log p_any) from two streams of one head;
  # weight 0 steps the style's stream alone and leaves the other's state as it was.
  steps = genre_lib.GenreModule(tiny_model(3, styles=2), 'folk', traits=traits_lib.Traits(
      styles=('reel', 'jig'))).steps
  head = steps.duration_head
  tables = head.tables()
  rng = np.random.default_rng(0)
  known = heads.known_inputs(tables, tf.constant([5, 9]), tf.constant([0, 0]),
                             tf.constant([0, 0]))
  drawn = heads.drawn_inputs(tables, tf.constant([12, 20]), tf.constant([0, 0]))
  styled = (known + heads.condition(tables, 2, 3)) + drawn
  unstyled = (known + heads.condition(tables, 0, 3)) + drawn
  state = tf.constant(rng.normal(size=(4, head.state_size)), tf.float32)
  style_logits, style_state = head.cell(styled, state[:2])
  any_logits, any_state = head.cell(unstyled, state[2:])
  style, any_style = tf.nn.log_softmax(style_logits), tf.nn.log_softmax(any_logits)

  pushed, pushed_state = heads.guided(head.cell, styled, unstyled, tf.constant(2.0), state)
  np.testing.assert_allclose(pushed, style + 2.0 * (style - any_style), atol=1e-5)
  np.testing.assert_allclose(pushed_state, tf.concat([style_state, any_state], 0), atol=1e-6)
  # Further from any style than the style's own step is.
  def distance(log_p):
    p = tf.nn.softmax(log_p)
    return float(tf.reduce_sum(p * (tf.nn.log_softmax(log_p) - any_style)))
  assert distance(pushed) > distance(style) > 0

  plain, plain_state = heads.guided(head.cell, styled, unstyled, tf.constant(0.0), state)
  np.testing.assert_array_equal(plain, style_logits)
  np.testing.assert_array_equal(plain_state[:2], style_state)
  np.testing.assert_array_equal(plain_state[2:], state[2:])
