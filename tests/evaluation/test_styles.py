"""The style judges: labels whose rhythm differs are controls, labels alike or rare are not."""

import fractions
import json

import numpy as np
import pytest

from stylexfer.evaluation import data
from stylexfer.evaluation import styles
import fixtures

F = fractions.Fraction
EVEN = [F(1, 2)] * 3 + [F(1, 1)]
DOTTED = [F(3, 4), F(1, 4), F(1, 2), F(1, 2)]
TRIPLETS = [F(1, 3)] * 3 + [F(1, 2)] * 2


def _records(rng, count, rhythms, start, style='', feel='', tempo=0.0):
  """`count` records of 64 notes whose bars each take one of `rhythms` at random."""
  found = []
  for i in range(count):
    durations = [d for _ in range(16) for d in rhythms[rng.integers(len(rhythms))]]
    pitches = list(60 + rng.integers(-5, 6, len(durations)))
    melody = data.melody_of_notes(pitches, durations, '4/4', f'tune{start + i}')
    melody.style, melody.feel, melody.tempo = style, feel, tempo
    found.append(fixtures.record_of(melody))
  return found


def _renditions(records):
  return [data.rendition(data.record_to_melody(r)) for r in records]


def _separability(records, field, groups=(), folds=3):
  return styles.separability(_renditions(records), styles.labels(records, field, groups),
                             folds=folds)


def _curve(records):
  return styles.tempo_curve([float(r['tempo']) for r in records],
                            [data.record_to_melody(r) for r in records])


def test_styles_whose_rhythm_differs_are_controls_and_alike_or_rare_ones_are_not():
  rng = np.random.default_rng(0)
  # 'reel' and 'air' share one mix of bars; 'jig' plays another; 'march' is too rare.
  records = (_records(rng, 30, [EVEN, DOTTED], 0, 'reel')
             + _records(rng, 30, [EVEN, DOTTED], 100, 'air')
             + _records(rng, 30, [TRIPLETS], 200, 'jig')
             + _records(rng, 5, [TRIPLETS], 300, 'march')
             + _records(rng, 10, [EVEN], 400))
  found = _separability(records, 'style')
  assert found['counts'] == {'air': 30, 'jig': 30, 'march': 5, 'reel': 30}
  assert found['judged'] == ['air', 'jig', 'reel']
  assert found['pairs']['air|jig'] == found['pairs']['jig|reel'] == 1.0
  assert found['pairs']['air|reel'] < styles.CONTROL_ACCURACY
  assert found['closest']['jig'][1] == 1.0
  assert found['closest']['reel'][0] == 'air' and found['closest']['air'][0] == 'reel'
  assert found['controls'] == ['jig']
  table = '\n'.join(styles.markdown({'folk': {'style': found}}))
  assert '| folk | style | jig | 30 |' in table and '| yes |' in table
  reel = next(line for line in table.splitlines() if '| reel |' in line)
  assert '| air ' in reel and reel.endswith('| no |')
  assert f'| folk | style | march | 5 |  |  | no: under {styles.MIN_MELODIES} melodies |' in table
  json.dumps(found)  # the program writes it as JSON


def test_groups_join_labels_and_tempo_is_judged_by_class():
  rng = np.random.default_rng(1)
  records = (_records(rng, 20, [TRIPLETS], 0, feel='latin', tempo=250.0)
             + _records(rng, 15, [TRIPLETS], 100, feel='funk', tempo=90.0)
             + _records(rng, 30, [EVEN], 200, feel='swing', tempo=160.0))
  assert styles.labels(records[:1] + records[-1:], 'tempo') == ['fast', '']
  assert [styles.tempo_class(t) for t in (0, 60, 119.9, 120, 220, 220.1)] == [
      '', 'slow', 'slow', '', '', 'fast']
  alone = _separability(records, 'feel')
  assert alone['judged'] == [] and alone['overall'] is None   # swing alone: nothing to tell
  assert 'no other label to tell it from' in '\n'.join(styles.markdown({'j': {'feel': alone}}))
  joined = _separability(records, 'feel', groups=('latin+funk',))
  assert joined['counts'] == {'latin+funk': 35, 'swing': 30}
  assert joined['controls'] == ['latin+funk', 'swing']
  assert joined['overall']['balanced_accuracy'] == 1.0


def test_the_tempo_curve_counts_notes_a_quarter_note_by_tempo():
  rng = np.random.default_rng(2)
  # Slow melodies in 16ths (4 a quarter), fast ones in 8ths (2), some without a tempo.
  records = (_records(rng, 20, [[F(1, 4)] * 16], 0, tempo=80.0)
             + _records(rng, 20, [[F(1, 2)] * 8], 100, tempo=280.0)
             + _records(rng, 5, [[F(1, 2)] * 8], 200))
  curve = _curve(records)
  assert curve['melodies'] == 40
  assert curve['bins'] == [[0, 100, 20, 4.0], [260, 10_000, 20, 2.0]]
  assert curve['slope'] == pytest.approx(-1.0)   # 2 notes fewer over 200 a minute
  assert _curve(records[:29]) is None
  lines = styles.curve_markdown({'jazz': {'tempo curve': curve}})
  assert '| 0-100 | 20 | 4.00 |' in lines and '| 260- | 20 | 2.00 |' in lines
