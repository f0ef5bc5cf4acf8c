import math

import numpy as np
import tensorflow as tf

from stylexfer import evaluate
from stylexfer import model as model_lib
from stylexfer import windows


def test_lstm_and_ngram_are_scored_on_the_same_notes():
  train = windows.synthetic_melodies(12, seed=0, min_notes=20, max_notes=60)
  test = windows.synthetic_melodies(4, seed=1, min_notes=20, max_notes=60)
  model = model_lib.build_model(model_lib.preset('tiny'))
  report = evaluate.compare(model, train, test, test)
  notes = sum(len(m['durations']) for m in evaluate.as_lists(test))
  # The pitch head scores n - 1 intervals plus END, the duration head n durations plus END.
  assert report['lstm']['pitch']['tokens'] == report['ngram']['pitch']['tokens'] == notes
  assert report['lstm']['duration']['tokens'] == report['ngram']['duration']['tokens'] == (
      notes + 4)
  # An untrained model is close to uniform over its vocabulary.
  assert abs(report['lstm']['pitch']['nll'] - math.log(52)) < 0.1
  table = evaluate.format_table('synthetic', report)
  assert table.count('\n') == 3 and '| synthetic | duration |' in table


def test_evaluate_model_matches_the_masked_loss_on_one_batch():
  melodies = windows.synthetic_melodies(3, seed=2, min_notes=10, max_notes=30)
  model = model_lib.build_model(model_lib.preset('tiny'))
  report = evaluate.evaluate_model(model, melodies, batch_size=64)
  features, targets = next(iter(windows.eval_batches(
      windows.melody_windows(melodies, model.window), 64)))
  outputs = model(features)
  expected = model_lib.masked_loss('duration_logits', targets['duration_logits'],
                                   outputs['duration_logits'])
  np.testing.assert_allclose(report['duration']['nll'], float(expected), rtol=1e-5)
