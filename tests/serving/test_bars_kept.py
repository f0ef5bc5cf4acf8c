"""A restyle on notes keeps every note in its bar, for any request the checks let through.

Random requests push the form to its edges: notes held over several bars (longer than the
grid's longest value, 8 quarters), bars with no onset of their own, bars of 1/24 and of
64 quarters, push. The shipped models are real genres, whose heads would gladly leave a
bar; the sampler alone must keep them in. Strength 0 gives such a melody back as it came.
"""

import fractions

import numpy as np
import pytest
import tensorflow as tf

import reference_loops as reference
from stylexfer.serving import client
from stylexfer.serving import loading
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import heads
from stylexfer.tokens import vocabulary

EPS = form_lib.EPS
# Bar lengths in quarter notes, the checks' bounds among them, and how far apart a bar's
# onsets are drawn (24ths of a quarter).
BAR_LENGTHS = [1 / 24, 1 / 12, 0.5, 1.0, 1.5, 2.0, 3.0, 3.0, 4.0, 4.0, 4.0, 6.0, 12.0, 64.0]
SPACINGS = [1, 2, 4, 6, 8, 12, 24]


@pytest.fixture(scope='module')
def shipped():
  return {genre: tf.saved_model.load(loading.find_model(genre)) for genre in ('folk', 'jazz')}


def random_melody(rng, notes, bars):
  """One valid restyle_notes melody: (pitches, quarter_lengths, bars, bar_lengths, pickup),
  its onsets on 24ths of a quarter inside their bars, its last note ending in its bar."""
  lengths = np.array([rng.choice(BAR_LENGTHS) if rng.random() < 0.8
                      else rng.integers(1, 64 * 24 + 1) / 24 for _ in range(bars)])
  room = np.round(lengths * 24).astype(int)  # onsets a bar has on 24ths
  full = rng.random(bars) > 0.3  # the others lie under a held note, or before the first
  full[rng.integers(bars)] = True
  if room[full].sum() < notes:
    roomy = rng.choice(np.flatnonzero(full))
    lengths[roomy], room[roomy] = 64.0, 64 * 24
  counts = np.zeros(bars, int)
  for _ in range(notes):
    counts[rng.choice(np.flatnonzero(full & (counts < room)))] += 1
  starts = np.concatenate([[0.0], np.cumsum(lengths)])
  onsets, note_bars = [], []
  for bar in np.flatnonzero(counts):
    places = np.arange(0, room[bar], rng.choice(SPACINGS))
    if len(places) < counts[bar]:
      places = np.arange(room[bar])
    onsets += list(starts[bar] + np.sort(rng.choice(places, counts[bar], replace=False)) / 24)
    note_bars += [bar] * counts[bar]
  onsets = np.array(onsets)
  last_room = int(round((starts[note_bars[-1] + 1] - onsets[-1]) * 24))
  quarters = np.append(np.diff(onsets), rng.integers(1, last_room + 1) / 24)
  return (rng.integers(48, 84, notes), quarters, np.array(note_bars), lengths,
          onsets[0] - starts[note_bars[0]])


def random_request(rng, batch, notes, bars):
  """`batch` random melodies of `notes` notes in `bars` bars, as restyle_notes takes them."""
  melodies = [random_melody(rng, notes, bars) for _ in range(batch)]
  names = ('pitches', 'quarter_lengths', 'bars', 'bar_lengths', 'pickup')
  dtypes = (np.int32, np.float32, np.int32, np.float32, np.float32)
  return {name: np.array([m[k] for m in melodies], dtype)
          for k, (name, dtype) in enumerate(zip(names, dtypes))}


def _call(model, request, strength, push=0.0, seed=0, signature='restyle_notes', **more):
  heard = {'style': '', 'tempo': np.float32(0)}  # any style, at an unknown tempo
  inputs = {name: tf.constant(value) for name, value in {**request, **heard, **more}.items()}
  outputs = model.signatures[signature](
      **inputs, strength=tf.constant(strength, tf.float32), push=tf.constant(push, tf.float32),
      temperature=tf.constant(1.0), top_p=tf.constant(0.9), seed=tf.constant(seed, tf.int64))
  return {name: value.numpy() for name, value in outputs.items()}


def notes_outside(request, quarter_lengths, push=0.0):
  """Which notes [B, N] break the form: start outside their bar (a bar's first note may
  start `push` early), or last a length that is not positive and finite, or (the last
  note) end past its bar. Onsets in float64 from the float32 lengths, as a client adds
  them."""
  quarters = np.asarray(quarter_lengths, np.float64)
  rows = np.arange(len(quarters))[:, None]
  bars = request['bars']
  starts = np.concatenate([np.zeros([len(quarters), 1]),
                           np.cumsum(request['bar_lengths'].astype(np.float64), 1)], 1)
  onsets = (starts[rows, bars[:, :1]] + request['pickup'][:, None]
            + np.cumsum(quarters, 1) - quarters)
  first = np.concatenate([np.ones_like(bars[:, :1], bool), bars[:, 1:] != bars[:, :-1]], 1)
  outside = ((onsets < starts[rows, bars] - push * first - EPS)
             | (onsets >= starts[rows, bars + 1] - EPS)
             | ~np.isfinite(quarters) | (quarters <= 0))
  outside[:, -1] |= onsets[:, -1] + quarters[:, -1] > starts[rows[:, 0], bars[:, -1] + 1] + EPS
  return outside


def bar_totals_fit(request, quarter_lengths, push=0.0):
  """Whether the notes of each bar, from its first onset, fit it: every one but the last
  ends before the bar line (the last may be held over the next bars)."""
  quarters = np.asarray(quarter_lengths, np.float64)
  for row, lengths in enumerate(request['bar_lengths'].astype(np.float64)):
    bars, starts = request['bars'][row], np.concatenate([[0.0], np.cumsum(lengths)])
    onsets = starts[bars[0]] + request['pickup'][row] + np.cumsum(quarters[row]) - quarters[row]
    for bar in np.unique(bars):
      inside = np.flatnonzero(bars == bar)
      start = onsets[inside[0]] - starts[bar]
      if start < -push - EPS or start + quarters[row, inside[:-1]].sum() >= lengths[bar] - EPS:
        return False
  return True


def test_random_requests_keep_every_note_in_its_bar(shipped):
  # 60 requests in batches of 10, on both genres: held notes, bars skipped, extreme bar
  # lengths, push; strengths inside (0, 1).
  rng = np.random.default_rng(2024)
  held = skipped = tiny = huge = 0
  for n in range(6):
    genre = ('folk', 'jazz')[n % 2]
    request = random_request(rng, 10, int(rng.integers(4, 40)), int(rng.integers(2, 14)))
    strength, push = float(rng.uniform(0.05, 0.95)), float(rng.choice([0.0, 0.25, 0.5]))
    restyled = _call(shipped[genre], request, strength, push, seed=n)
    outside = notes_outside(request, restyled['quarter_lengths'], push)
    assert not outside.any(), (genre, n, np.argwhere(outside)[:5].tolist())
    assert bar_totals_fit(request, restyled['quarter_lengths'], push), (genre, n)
    np.testing.assert_array_equal(restyled['pitches'], request['pitches'])
    assert (restyled['sounding_lengths'] > 0).all()
    assert (restyled['sounding_lengths'] <= restyled['quarter_lengths']).all()
    # Strength 0: the melody exactly as it came.
    kept = _call(shipped[genre], request, 0.0, push, seed=n)
    np.testing.assert_array_equal(kept['quarter_lengths'], request['quarter_lengths'])
    held += int((request['quarter_lengths'] > float(vocabulary.MAX_DURATION)).sum())
    skipped += int((np.diff(request['bars'], axis=1) > 1).sum() + (request['bars'][:, 0] > 0).sum())
    tiny += int((request['bar_lengths'] < 0.05).sum())
    huge += int((request['bar_lengths'] == 64).sum())
  # The requests reached the edges they are meant to test.
  assert min(held, skipped, tiny, huge) >= 5, (held, skipped, tiny, huge)


def test_like_and_free_restyles_keep_the_promise_too(shipped):
  rng = np.random.default_rng(7)
  request = random_request(rng, 8, 24, 10)
  like = {'like_pitches': request['pitches'][::-1, :12].copy(),
          'like_quarter_lengths': request['quarter_lengths'][::-1, :12].copy()}
  restyled = _call(shipped['jazz'], request, 0.7, 0.5, 3, 'restyle_notes_like', **like)
  assert not notes_outside(request, restyled['quarter_lengths'], 0.5).any()
  # Without bars nothing is promised but strength 0: the notes as they came.
  free = {'pitches': request['pitches'], 'quarter_lengths': request['quarter_lengths']}
  kept = shipped['folk'].signatures['restyle_notes_free'](
      **{k: tf.constant(v) for k, v in free.items()}, strength=tf.constant(0.0),
      temperature=tf.constant(1.0), top_p=tf.constant(0.9), seed=tf.constant(1, tf.int64),
      style=tf.constant('reel'), tempo=tf.constant(120.0))
  np.testing.assert_array_equal(kept['quarter_lengths'], request['quarter_lengths'])


def _tune(quarters, bars, bar_lengths, pickup=0.0):
  notes = len(quarters)
  return {'pitches': np.array([[60 + 2 * (k % 5) for k in range(notes)]], np.int32),
          'quarter_lengths': np.array([quarters], np.float32),
          'bars': np.array([bars], np.int32),
          'bar_lengths': np.array([bar_lengths], np.float32),
          'pickup': np.array([pickup], np.float32)}


# In 4/4, a note tied over three bars (9 quarters: bars 1 and 2 have no onset), a bar of
# quarters whose last one is held through three bars of rest (13 quarters), a last bar.
HELD = _tune([1, 1, 1, 9, 1, 1, 1, 13, 4], [0, 0, 0, 0, 3, 3, 3, 3, 7], [4.0] * 8)


@pytest.mark.parametrize('genre', ['folk', 'jazz'])
def test_a_note_held_over_bars_keeps_the_next_one_in_its_bar(shipped, genre):
  for seed in range(4):
    for strength in (0.3, 0.7, 1.0):
      restyled = _call(shipped[genre], HELD, strength, seed=seed)
      assert not notes_outside(HELD, restyled['quarter_lengths']).any(), (seed, strength)
      # The tune still ends in its eighth bar: its length in bars is kept.
      assert 28 < HELD['pickup'][0] + restyled['quarter_lengths'].sum() <= 32 + EPS
  np.testing.assert_array_equal(_call(shipped[genre], HELD, 0.0)['quarter_lengths'],
                                HELD['quarter_lengths'])


def test_the_graph_keeps_held_notes_as_the_eager_reference_does(shipped):
  # At strength 1 the shipped calibration changes every bar, as the reference's does.
  loaded = shipped['jazz']
  intervals = np.diff(HELD['pitches'], axis=1) + vocabulary.NUM_SPECIAL - vocabulary.MIN_INTERVAL
  durations = np.array([[vocabulary.duration_id(vocabulary.snap_duration(q))
                         for q in HELD['quarter_lengths'][0]]], np.int32)
  for seed in range(3):
    _, lengths = reference.restyle(
        heads.Head.of(loaded, 'duration'), intervals, durations,
        draws.Controls(1.0, 0.9, seed, 1.0), vocabulary.interval_table(),
        vocabulary.duration_table(),
        form_lib.Form(HELD['bars'], HELD['bar_lengths'], HELD['pickup']),
        lengths=HELD['quarter_lengths'])
    np.testing.assert_array_equal(_call(loaded, HELD, 1.0, seed=seed)['quarter_lengths'],
                                  np.float32(lengths))


def test_a_melody_off_its_bars_is_put_in_them(shipped):
  # Its last note starts in bar 1 (at 5.5) though bars gives it bar 2: every restyle
  # puts it in bar 2, strength 0 too, which gives back the notes that stay in their bars.
  tune = _tune([1, 1, 1, 1, 1, 0.5, 2], [0, 0, 0, 1, 1, 1, 2], [3.0] * 3)
  restyled = {strength: _call(shipped['folk'], tune, strength, seed=1)['quarter_lengths']
              for strength in (0.0, 0.5, 1.0)}
  for strength, quarters in restyled.items():
    assert not notes_outside(tune, quarters).any(), strength
  np.testing.assert_array_equal(restyled[0.0][0, :5], tune['quarter_lengths'][0, :5])


def test_the_client_gives_back_a_held_note_exactly(shipped):
  quarters = [fractions.Fraction(float(q)) for q in HELD['quarter_lengths'][0]]
  form = (HELD['bars'][0], HELD['bar_lengths'][0], 0.0)
  kept, _ = client.restyle_durations(shipped['jazz'], HELD['pitches'][0], quarters, 0.0,
                                     form=form)
  assert kept == quarters
  new, _ = client.restyle_durations(shipped['jazz'], HELD['pitches'][0], quarters, 1.0,
                                    seed=2, form=form)
  assert sum(new[:4]) == 12 and sum(new[:8]) == 28  # bars 3 and 7 start where they did


def test_earliest_twins_is_the_earliest_equal_bar():
  rng = np.random.default_rng(5)
  for batch, bars in ((1, 1), (3, 40), (2, 300)):
    prints = [rng.integers(0, 3, [batch, bars]).astype(np.int64) for _ in range(2)]
    counts = rng.integers(0, 2, [batch, bars]).astype(np.int32)
    got = form_lib.earliest_twins(batch, bars, tf.constant(counts),
                                  [tf.constant(p) for p in prints]).numpy()
    for row in range(batch):
      for bar in range(bars):
        same = [b for b in range(bar) if all(p[row, b] == p[row, bar] for p in prints)]
        expected = same[0] if same and counts[row, bar] > 0 else -1
        assert got[row, bar] == expected, (row, bar)


def test_a_bar_without_room_for_its_notes_is_refused(shipped):
  # Three notes in a bar of 1/24 of a quarter cannot all start inside it.
  tune = _tune([1 / 24, 1 / 24, 1 / 24, 1], [0, 0, 0, 1], [1 / 24, 4.0])
  with pytest.raises(tf.errors.InvalidArgumentError, match='a bar must have room for its'):
    _call(shipped['folk'], tune, 1.0)
