"""A restyle keeps the tune's form: notes in their bars, repeated bars alike, strength 0.

The model is tiny and untrained, so its rhythm is close to random: whatever it draws, the
sampler alone must keep the form.
"""

import fractions

import numpy as np
import pytest
import tensorflow as tf

from stylexfer.reading import melody as melody_lib
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary
from stylexfer.serving import genre as genre_lib

Fraction = fractions.Fraction

TUNES = {
    'waltz in 3/4': 'M:3/4\nL:1/8\nK:G\nG2 AB c2|d4 B2|c2 BA G2|A6|B2 cd e2|d6|]\n',
    'jig in 6/8 with a pickup': 'M:6/8\nL:1/8\nK:D\nA|dfa afd|cec A2G|FAd cBA|d3 d2:|\n',
    'reel in 4/4 with a pickup': ('M:4/4\nL:1/8\nK:D\nFG|A2 dA FADF|GBdB AFDF|'
                                  'EFGA BcdB|A2 F2 D2:|\n'),
    'mixed meters': ('M:4/4\nL:1/8\nK:C\nc2 de f2 g2|[M:3/4] a2 g2 f2|e2 d2 c2|'
                     '[M:2/4] d2 e2|[M:4/4] g8|]\n'),
}


def _melody(body, title='Form'):
  return melody_lib.parse_abc_tune(f'X:1\nT:{title}\n{body}', 'form.abc', '1', title)


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
      tf.constant(seed, tf.int64))['durations'][0].numpy()
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


def test_metre_ids_of_a_rhythm_on_its_bars():
  ids = metre.rhythm_ids([1, 1, 1, 1, 2, 2], [4, 4], 0)
  assert ids['positions'].tolist() == [1, 13, 25, 37, 1, 25]
  assert ids['bar_lengths'].tolist() == [16] * 6
  assert ids['notes_left'].tolist() == [4, 3, 2, 1, 2, 1]
