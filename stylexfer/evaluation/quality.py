"""How well does a genre model predict held-out melodies? Each head against the n-gram.

Per head, nats per note and accuracy on the test split, of the LSTM (a Keras MelodyModel
or an exported SavedModel) and of the stronger, on validation, of a bigram and a trigram
baseline with interpolated Kneser-Ney smoothing (stylexfer.model.ngram), scored on exactly the
same notes.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from stylexfer.tokens import conditions
from stylexfer.tokens import traits
from stylexfer.tokens import metre
from stylexfer.model import melody_model
from stylexfer.model import ngram
from stylexfer.dataset import windows



def evaluate_model(model, melodies, batch_size=64, styles=None):
  """{head: {'nll', 'accuracy', 'tokens'}} of a MelodyModel on a dataset of melodies.

  Melodies are cut into the windows the model was trained on, so the numbers are the
  training loss's own measure, per scored note. The heads hear each melody's tempo, and
  with `styles` (the model's conditions.Styles) its style.
  """
  batches = windows.eval_batches(windows.melody_windows(melodies, model.window, styles),
                                 batch_size)
  sums = tf.function(
      lambda features, targets: melody_model.head_sums(targets, model(features, training=False)))
  return _report(sums(features, targets) for features, targets in batches)


def evaluate_saved_model(saved_model, melodies, window=128, batch_size=64, styles=None,
                         tempo=True):
  """evaluate_model's report for an exported SavedModel, through its serving_default.

  `melodies` is a list of {'intervals', 'durations'} dicts (see as_lists), or of records
  with their bars (`bars`, `beats`, `bar_lengths`), whose metre the heads then hear; the
  windows are the training ones, so the figures compare with evaluate_model's. With
  `styles` (the model's conditions.Styles) the heads hear each record's style, and with
  `tempo` its tempo where it has one; else any style, at an unknown tempo.
  """
  score = saved_model.signatures['serving_default']
  # Exports differ in the inputs they hear (the metrical ones came later): each is given
  # the ones its signature names.
  accepted = set(score.structured_input_signature[1])

  def heard(melody):
    style = styles.id_of(melody.get(styles.field, b'')) if styles else 0
    tempo_id = conditions.tempo_ids([melody.get('tempo', 0)])[0] if tempo else 0
    return style, tempo_id

  blocks = [windows.cut(windows.frame(
      m['intervals'], m['durations'],
      metre.record_ids(m) if 'bar_lengths' in m else None, *heard(m)), window)
            for m in melodies]
  stacked = {name: tf.concat([b[name] for b in blocks], 0) for name in windows.SEQUENCES}

  def sums(start):
    features, targets = windows.split_targets(
        {name: value[start:start + batch_size] for name, value in stacked.items()})
    log_probs = score(**{name: value for name, value in features.items()
                         if name in accepted})
    # Log-probabilities are logits up to a constant, so the masked sums apply as is.
    return melody_model.head_sums(targets, {f'{head}_logits': log_probs[f'{head}_log_probs']
                                            for head in melody_model.HEADS})

  return _report(map(sums, range(0, int(stacked['durations_out'].shape[0]), batch_size)))


def _report(batch_sums):
  """Per-head NLL, accuracy and token count from the head_sums of every batch."""
  totals = {}
  for sums in batch_sums:
    for key, value in sums.items():
      totals[key] = totals.get(key, 0.0) + float(value)
  return {head: {'nll': totals[f'{head}_loss'] / max(totals[f'{head}_count'], 1.0),
                 'accuracy': totals[f'{head}_correct'] / max(totals[f'{head}_count'], 1.0),
                 'tokens': int(totals[f'{head}_count'])} for head in melody_model.HEADS}


def as_lists(melodies):
  """Melody records as a list of {'intervals', 'durations'} numpy dicts (for the n-grams)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  return [{'intervals': np.asarray(m['intervals']), 'durations': np.asarray(m['durations'])}
          for m in tfds.as_numpy(melodies)]


def what_conditions_buy(saved_model, test_records, styles):
  """Each head's test NLL hearing the true style and tempo, either alone, or neither
  (any style, unknown tempo): {'both', 'style', 'tempo', 'neither'} -> evaluate's report."""
  return {name: evaluate_saved_model(saved_model, test_records,
                                     styles=styles if name in ('both', 'style') else None,
                                     tempo=name in ('both', 'tempo'))
          for name in ('both', 'style', 'tempo', 'neither')}


def compare(model, train, validation, test, styles=None):
  """The LSTM's and the best n-gram's test metrics per head, from three melody datasets."""
  baseline = ngram.best_baseline(as_lists(train), as_lists(validation), as_lists(test))
  return {'lstm': evaluate_model(model, test, styles=styles), 'ngram': baseline}


def compare_saved_model(saved_model, train, validation, test, test_records=None,
                        styles=None):
  """compare() for an exported SavedModel; the splits are lists of {'intervals',
  'durations'} dicts (as_lists of each split). With `test_records` (the test split's
  records, their bars in) the LSTM hears the metre, as it does when restyling, their
  tempi, and with `styles` (the model's) their styles."""
  baseline = ngram.best_baseline(train, validation, test)
  return {'lstm': evaluate_saved_model(saved_model, test_records or test, styles=styles),
          'ngram': baseline}


def format_table(genre, report):
  """A markdown table: per head, NLL (nats/note) and accuracy of the LSTM and the n-gram."""
  lines = ['| genre | head | LSTM NLL | LSTM acc. | n-gram | n-gram NLL | n-gram acc. | notes |',
           '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for head in melody_model.HEADS:
    lstm, gram = report['lstm'][head], report['ngram'][head]
    order = {2: 'bigram', 3: 'trigram'}.get(gram['order'], f"order {gram['order']}")
    lines.append(f"| {genre} | {head} | {lstm['nll']:.3f} | {lstm['accuracy']:.3f} | {order} "
                 f"| {gram['nll']:.3f} | {gram['accuracy']:.3f} | {lstm['tokens']} |")
  return '\n'.join(lines)


def score_run(run_dir, dataset, data_dir=None):
  """A training run's model.keras against the n-gram on a data set's three splits."""
  model = keras.saving.load_model(os.path.join(run_dir, 'model.keras'))
  splits = [windows.load_split(dataset, split, data_dir)
            for split in ('train', 'validation', 'test')]
  # The styles the run's model hears, as training saved them.
  return compare(model, *splits, styles=traits.load(run_dir).style_set)

