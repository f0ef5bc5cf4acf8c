"""Smoothed n-gram baselines for the two prediction heads, scored on the same targets.

The neural model predicts, per melody of n notes, n + 1 tokens with each head:

  intervals_out = [START, i_1, ..., i_{n-1}, END]   pitch head; the START at t = 0 is not scored
  durations_out = [d_0, ..., d_{n-1}, END]          duration head; all n + 1 scored

The baselines here predict exactly those tokens, so their nats per token compare with the
neural model's loss. Contexts, with START wherever the history runs out:

  pitch head, order k:     the k - 1 previous intervals_out tokens (newest first), and with
                           `with_duration` also the previous duration durations_in[t];
  duration head, order k:  the next interval intervals_out[t] (teacher forced, as the neural
                           duration head reads it), then the k - 1 previous durations.

So a pitch bigram is P(i_t | i_{t-1}) and a duration bigram P(d_t | i_t, d_{t-1}).

Back-off drops the last context column first (the oldest token; the previous duration,
where the pitch head reads one), down to the unigram and then a uniform floor over the
whole vocabulary, so every token keeps non-zero probability. The duration head drops its
next interval last: that is the signal the neural duration head is given, and without it
the baseline would be a rhythm-only model.

Smoothing is interpolated Kneser-Ney by default (one discount per level, Ney's estimate
n1 / (n1 + 2 n2), continuation counts below the top level): on a rough tokenization of
WJazzD it beat interpolated Witten-Bell in validation NLL at every order, most where
contexts are sparse (the duration trigram), and the comparison is only fair against the
stronger baseline. Witten-Bell stays as `smoothing='witten-bell'`, a parameter-free
cross-check.
"""

import numpy as np

from stylexfer.model import melody_model
from stylexfer.tokens import vocabulary

SMOOTHINGS = ('kneser-ney', 'witten-bell')

# Context tokens are packed into one int64 key per context prefix, one base-1024 digit per
# token, with one more digit for the target when counting distinct continuations.
_KEY_BASE = 1024
_MAX_CONTEXT = 4

# Kneser-Ney's estimated discount is 0 on a level with no singletons (deterministic
# training data), which would leave unseen tokens at probability 0; this floor keeps a
# little back-off mass there and is far below the estimate on real melodies.
_MIN_DISCOUNT = 0.05


class NgramModel:
  """P(target | context) for fixed-length integer contexts, smoothed with back-off.

  `context_size` tokens of context (the n-gram order minus one when the context is the
  target stream's own history). Context column 0 is kept longest when backing off.
  """

  def __init__(self, context_size, vocab_size, smoothing='kneser-ney'):
    if not 0 <= context_size <= _MAX_CONTEXT:
      raise ValueError(f'context_size {context_size} is outside [0, {_MAX_CONTEXT}]')
    if not 1 <= vocab_size <= _KEY_BASE:
      raise ValueError(f'vocab_size {vocab_size} is outside [1, {_KEY_BASE}]')
    if smoothing not in SMOOTHINGS:
      raise ValueError(f'smoothing {smoothing!r} is not one of {SMOOTHINGS}')
    self.context_size = context_size
    self.vocab_size = vocab_size
    self.smoothing = smoothing
    # Per level j (context prefix of length j): sorted prefix keys, the smoothed
    # distribution of each prefix, and its argmax.
    self._keys = None
    self._probs = None
    self._best = None

  def fit(self, contexts, targets):
    """Counts (context, target) events and builds the smoothed tables; returns self."""
    contexts, targets = self._check(contexts, targets)
    if not len(targets):
      raise ValueError('no events to fit')
    size = self.vocab_size
    self._keys, self._probs, self._best = [], [], []
    parent = np.full([1, size], 1.0 / size)  # the uniform floor below the unigram
    parent_keys = np.zeros([1], np.int64)
    kneser_ney = self.smoothing == 'kneser-ney'
    for level in range(self.context_size + 1):
      keys, tokens = _prefix_keys(contexts, level), targets
      if kneser_ney and level < self.context_size:
        # A lower level only speaks for contexts the level above has not seen, so it
        # counts in how many distinct longer contexts a token follows, not how often.
        pairs = np.unique(_prefix_keys(contexts, level + 1) * _KEY_BASE + targets)
        keys, tokens = pairs // _KEY_BASE // _KEY_BASE, pairs % _KEY_BASE
      unique, rows = np.unique(keys, return_inverse=True)
      counts = np.bincount(rows * size + tokens, minlength=len(unique) * size)
      counts = counts.reshape(len(unique), size).astype(np.float64)
      totals = counts.sum(axis=1, keepdims=True)
      types = (counts > 0).sum(axis=1, keepdims=True)
      # Every prefix of a seen context is itself seen, so each row's parent exists.
      parents = parent[np.searchsorted(parent_keys, unique // _KEY_BASE if level else unique)]
      if kneser_ney:
        discount = _discount(counts)
        probs = (np.maximum(counts - discount, 0) + discount * types * parents) / totals
      else:
        probs = (counts + types * parents) / (totals + types)
      self._keys.append(unique)
      self._probs.append(probs)
      self._best.append(probs.argmax(axis=1))
      parent, parent_keys = probs, unique
    return self

  def probabilities(self, contexts):
    """The smoothed distribution over the vocabulary for each context: [N, vocab_size]."""
    contexts, _ = self._check(contexts, None)
    levels, rows = self._lookup(contexts)
    out = np.empty([len(contexts), self.vocab_size])
    for level, probs in enumerate(self._probs):
      mask = levels == level
      out[mask] = probs[rows[mask]]
    return out

  def score(self, contexts, targets):
    """Natural-log probability of each target and the model's argmax guess, per event."""
    contexts, targets = self._check(contexts, targets)
    levels, rows = self._lookup(contexts)
    log_probs = np.empty([len(targets)])
    guesses = np.empty([len(targets)], np.int64)
    for level, (probs, best) in enumerate(zip(self._probs, self._best)):
      mask = levels == level
      log_probs[mask] = np.log(probs[rows[mask], targets[mask]])
      guesses[mask] = best[rows[mask]]
    return log_probs, guesses

  def _lookup(self, contexts):
    """The longest seen prefix of each context: its level and its row in that level.

    An unseen context passes its parent's distribution through unchanged (it has no
    counts to interpolate), so the longest seen prefix's table row is the whole answer.
    """
    if self._keys is None:
      raise ValueError('the model is not fitted; call fit() first')
    levels = np.zeros([len(contexts)], np.int64)
    rows = np.zeros([len(contexts)], np.int64)
    todo = np.ones([len(contexts)], bool)
    for level in range(self.context_size, 0, -1):
      keys = _prefix_keys(contexts, level)
      table = self._keys[level]
      index = np.minimum(np.searchsorted(table, keys), len(table) - 1)
      found = todo & (table[index] == keys)
      levels[found] = level
      rows[found] = index[found]
      todo &= ~found
    return levels, rows  # whatever is left is level 0, row 0: the unigram

  def _check(self, contexts, targets):
    contexts = np.asarray(contexts, np.int64)
    if contexts.ndim != 2 or contexts.shape[1] != self.context_size:
      raise ValueError(f'contexts must have shape [N, {self.context_size}], '
                       f'got {list(contexts.shape)}')
    if contexts.size and (contexts.min() < 0 or contexts.max() >= _KEY_BASE):
      raise ValueError(f'context tokens must lie in [0, {_KEY_BASE})')
    if targets is not None:
      targets = np.asarray(targets, np.int64).reshape(-1)
      if len(targets) != len(contexts):
        raise ValueError(f'{len(contexts)} contexts but {len(targets)} targets')
      if targets.size and (targets.min() < 0 or targets.max() >= self.vocab_size):
        raise ValueError(f'targets must lie in [0, {self.vocab_size})')
    return contexts, targets


class HeadBaseline:
  """An n-gram baseline for one head ('pitch' or 'duration'), with the framing it reads."""

  def __init__(self, head, order, with_duration=False, smoothing='kneser-ney'):
    if head not in melody_model.HEADS:
      raise ValueError(f'head {head!r} is not one of {melody_model.HEADS}')
    if order < 1:
      raise ValueError(f'order {order} must be at least 1')
    if with_duration and head != 'pitch':
      raise ValueError('with_duration applies to the pitch head only')
    self.head = head
    self.order = order
    self.with_duration = with_duration
    if head == 'pitch':
      context_size, vocab_size = order - 1 + with_duration, vocabulary.NUM_INTERVALS
    else:
      context_size, vocab_size = order, vocabulary.NUM_DURATIONS
    self.ngram = NgramModel(context_size, vocab_size, smoothing)

  def events(self, melodies):
    """(contexts [N, context_size], targets [N]) for every scored token of the melodies."""
    frame = _pitch_events if self.head == 'pitch' else _duration_events
    parts = [frame(*_streams(melody), self.order, self.with_duration) for melody in melodies]
    if not parts:
      return np.zeros([0, self.ngram.context_size], np.int64), np.zeros([0], np.int64)
    return (np.concatenate([c for c, _ in parts]), np.concatenate([t for _, t in parts]))

  def fit(self, melodies):
    """Fits the n-gram on the melodies' events; returns self."""
    self.ngram.fit(*self.events(melodies))
    return self

  def evaluate(self, melodies):
    """{'nll': nats per scored token, 'accuracy': argmax accuracy, 'tokens': count}."""
    contexts, targets = self.events(melodies)
    if not len(targets):
      raise ValueError('no melodies to evaluate')
    log_probs, guesses = self.ngram.score(contexts, targets)
    return {'nll': float(-log_probs.mean()),
            'accuracy': float((guesses == targets).mean()),
            'tokens': int(len(targets))}


def fit_heads(melodies, order, pitch_with_duration=False, smoothing='kneser-ney'):
  """Fits one baseline per head on training melodies: {'pitch': ..., 'duration': ...}."""
  return {'pitch': HeadBaseline('pitch', order, pitch_with_duration, smoothing).fit(melodies),
          'duration': HeadBaseline('duration', order, smoothing=smoothing).fit(melodies)}


def evaluate_heads(models, melodies):
  """Metrics per head, as HeadBaseline.evaluate gives them, for each model in `models`."""
  return {head: model.evaluate(melodies) for head, model in models.items()}


def best_baseline(train, validation, test, orders=(2, 3), pitch_with_duration=False,
                  smoothing='kneser-ney'):
  """Per head, the order with the lower validation NLL, and its test metrics.

  The project compares its LSTM against the stronger of bigram and trigram; choosing on
  validation, not test, keeps that comparison honest. Models are fitted on `train` only,
  as the neural model is. Returns {head: {'order', 'validation_nll': {order: nll},
  'nll', 'accuracy', 'tokens'}}.
  """
  fitted = {order: fit_heads(train, order, pitch_with_duration, smoothing) for order in orders}
  report = {}
  for head in melody_model.HEADS:
    validation_nll = {order: fitted[order][head].evaluate(validation)['nll'] for order in orders}
    order = min(orders, key=lambda o: (validation_nll[o], o))  # ties go to the smaller model
    report[head] = {'order': order, 'validation_nll': validation_nll,
                    **fitted[order][head].evaluate(test)}
  return report


def _streams(melody):
  """Interval and duration ids of a melody given as a dict, a tuple or an Encoding."""
  if isinstance(melody, dict):
    intervals, durations = melody['intervals'], melody['durations']
  elif isinstance(melody, (tuple, list)):
    intervals, durations = melody
  else:
    intervals, durations = melody.intervals, melody.durations
  intervals = np.asarray(intervals, np.int64).reshape(-1)
  durations = np.asarray(durations, np.int64).reshape(-1)
  if len(durations) != len(intervals) + 1:
    raise vocabulary.TokenError(f'{len(intervals)} intervals need {len(intervals) + 1} '
                                f'durations, got {len(durations)}')
  return intervals, durations


def _history(targets, order):
  """[N, order - 1]: the previous targets of each position, newest first, START-padded."""
  padded = np.concatenate([np.full([order - 1], vocabulary.START, np.int64), targets])
  n = len(targets)
  columns = [padded[order - 1 - lag:order - 1 - lag + n] for lag in range(1, order)]
  return np.stack(columns, axis=1) if columns else np.zeros([n, 0], np.int64)


def _pitch_events(intervals, durations, order, with_duration):
  # Targets are intervals_out[1:]; intervals_out[0] = START is the padding before them.
  targets = np.append(intervals, vocabulary.END)
  columns = [_history(targets, order)]
  if with_duration:
    columns.append(durations[:, None])  # durations_in[t] = d_{t-1} for t = 1..n
  return np.concatenate(columns, axis=1), targets


def _duration_events(intervals, durations, order, with_duration):
  del with_duration  # the duration head always reads the next interval
  targets = np.append(durations, vocabulary.END)
  next_intervals = np.concatenate([[vocabulary.START], intervals, [vocabulary.END]])
  return np.concatenate([next_intervals[:, None], _history(targets, order)], axis=1), targets


def _discount(counts):
  """Ney's absolute discount n1 / (n1 + 2 n2) for one level's counts, floored above 0."""
  singletons, doubletons = (counts == 1).sum(), (counts == 2).sum()
  estimate = singletons / (singletons + 2 * doubletons) if singletons else 0.0
  return max(estimate, _MIN_DISCOUNT)


def _prefix_keys(contexts, length):
  """One int64 key per row for the first `length` context tokens (0 for the empty prefix)."""
  keys = np.zeros([len(contexts)], np.int64)
  for column in range(length):
    keys = keys * _KEY_BASE + contexts[:, column]
  return keys
