"""Does a rhythm hang together? Its per-note NLL under a genre's duration head and n-gram.

A rhythm that a genre's own models find likely, note after note, is coherent in that
genre; real held-out melodies give the yardstick. Both scores are nats per note over the
melody's n durations (the end of the melody is not scored), pooled over a set by notes.
"""

import numpy as np

from stylexfer.model import ngram
from stylexfer.serving import client
from stylexfer.tokens import vocabulary
from stylexfer.evaluation import data


def duration_head_nll(saved_model, renditions, progress=iter):
  """Nats per note of the renditions' rhythms under a SavedModel's duration head.

  Scored through stylexfer.serving.client.rhythm_log_likelihood (the one place that
  knows the serving signature); None when the model cannot score rhythms (a merged model).
  """
  total, notes = 0.0, 0
  for rendition in progress(renditions):
    # The head hears the rhythm's metre on the input's bars, as it does when restyling.
    log_likelihood = client.rhythm_log_likelihood(
        saved_model, rendition.pitches, rendition.durations,
        form=(rendition.bars, [float(b) for b in rendition.bar_lengths],
              float(rendition.first_position)))
    if log_likelihood is None:
      return None
    total -= log_likelihood * len(rendition)
    notes += len(rendition)
  return total / notes if notes else float('nan')


def fit_duration_ngram(training, order=3):
  """A Kneser-Ney duration n-gram (stylexfer.model.ngram) fitted on training melodies, given as
  {'intervals', 'durations'} id dicts (data.record_tokens or data.token_lists)."""
  return ngram.HeadBaseline('duration', order).fit(training)


def ngram_nll(baseline, renditions):
  """Nats per note of the renditions' rhythms under a fitted duration HeadBaseline."""
  if not renditions:
    return float('nan')
  contexts, targets = baseline.events(data.token_lists(renditions))
  scored = targets != vocabulary.END
  log_probs, _ = baseline.ngram.score(contexts[scored], targets[scored])
  return float(-np.mean(log_probs))
