"""Does restyling `like` a melody move the new rhythm towards that melody's own?

For each pair, a held-out melody of the source genre is restyled by the target genre's
model twice with the same seed: plainly, and after hearing the first NOTES_HEARD notes of
a held-out melody of the target genre (the restyle's `like`). Each new rhythm is compared
with the melody heard and, as a control, with another melody of the target genre: the
rhythm should move towards the melody it heard, not only towards the genre in general.
Rhythms are compared by the total variation distance between their duration histograms.
"""

import numpy as np

from stylexfer.evaluation import data
from stylexfer.evaluation import histograms
from stylexfer.evaluation import transfer
from stylexfer.reading import melody as melody_lib

NOTES_HEARD = 200


def distance(a, b):
  """Total variation distance between two Renditions' duration histograms: 0 for the
  same shares of every duration, 1 for rhythms without a duration in common."""
  return 1.0 - histograms.overlap(histograms.duration_histogram(a),
                                  histograms.duration_histogram(b))


def heard(melody, notes=NOTES_HEARD):
  """The first `notes` notes of a Melody, as the model hears them."""
  part = data.rendition(melody).excerpt(notes)
  return melody_lib.Melody.from_durations(part.pitches, part.durations,
                                          melody.time_signature, title=melody.title)


def measure(saved_model, sources, targets, pairs, sampling=transfer.Sampling(),
            progress=iter):
  """Mean distances of `pairs` restyles by `saved_model`, plain and like a target melody.

  Pair n restyles sources[n % len(sources)] with seed sampling.seed + n and hears one of
  `targets` (Melodies, at least two), another being its control, both drawn by the seed.
  Returns {'pairs', 'notes_heard', 'plain_to_heard', 'like_to_heard', 'plain_to_other',
  'like_to_other'}.
  """
  rng = np.random.default_rng(sampling.seed)
  chosen = [rng.choice(len(targets), 2, replace=False) for _ in range(pairs)]
  inputs = [sources[n % len(sources)] for n in range(pairs)]
  likes = [heard(targets[target]) for target, _ in chosen]
  plain = transfer.restyle_set(saved_model, inputs, 1.0, sampling)
  liked = transfer.restyle_set(saved_model, inputs, 1.0, sampling, progress, likes=likes)
  to_heard = [data.rendition(like) for like in likes]
  others = [data.rendition(targets[other]) for _, other in chosen]
  mean = lambda rhythms, against: float(np.mean([distance(a, b)
                                                 for a, b in zip(rhythms, against)]))
  return {'pairs': pairs, 'notes_heard': NOTES_HEARD,
          'plain_to_heard': mean(plain, to_heard), 'like_to_heard': mean(liked, to_heard),
          'plain_to_other': mean(plain, others), 'like_to_other': mean(liked, others)}
