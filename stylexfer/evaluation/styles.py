"""Which styles, feels and tempi the real melodies of a genre can tell apart by rhythm.

A style is worth a control only where its rhythm differs from the rest of its genre in
real music. The judge is the genre judge's rhythm classifier (stylexfer.evaluation.
classifier: duration histogram and places in the beat, logistic regression, folds that
keep a melody's excerpts together), trained on the records' `style`, `feel` and `tempo`
labels alone. A label with fewer than MIN_MELODIES melodies is reported, not judged.
"""

import collections

import numpy as np

from stylexfer.evaluation import classifier
from stylexfer.evaluation import data

MIN_MELODIES = 30
EXCERPT = 32
# Tempo classes in quarter notes a minute: a ballad's solo is played in 16ths and 32nds,
# a burner's mostly in 8ths. Between them lie the medium tempi, left out.
SLOW, FAST = 120, 220
# A label a judge tells from each other label of its genre at least this often (balanced
# accuracy, chance 50%) has a rhythm of its own, to be heard as a control.
CONTROL_ACCURACY = 0.65


def _text(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def tempo_class(tempo):
  """'slow', 'fast', or '' (unknown or medium) for a tempo in quarter notes a minute."""
  if tempo <= 0:
    return ''
  return 'slow' if tempo < SLOW else 'fast' if tempo > FAST else ''


def labels(records, field, groups=()):
  """Each record's label of `field` ('style', 'feel' or 'tempo'); '' where unknown.

  `groups` joins labels: e.g. ('latin+funk',) labels both 'latin+funk'.
  """
  joined = {part: group for group in groups for part in group.split('+')}
  found = []
  for record in records:
    label = (tempo_class(float(record['tempo'])) if field == 'tempo'
             else _text(record[field]))
    found.append(joined.get(label, label))
  return found


def separability(renditions, found_labels, folds=5, seed=0, excerpt=EXCERPT):
  """How well rhythm judges trained on real melodies (data.Rendition) tell their labels
  (one each, as labels() gives them; '' unknown) apart.

  Returns {'counts' {label: melodies}, 'judged' [labels with MIN_MELODIES or
  more, where two have], 'overall' (cross_validate's figures among them), 'pairs'
  {'a|b': balanced accuracy of a judge of a against b}, 'closest' {label: [the label
  it is most often taken for, that accuracy]}, 'controls' [labels told from every other
  at CONTROL_ACCURACY or more]}. Fewer than two judged labels judge nothing.
  """
  by_label = collections.defaultdict(list)
  for rendition, label in zip(renditions, found_labels):
    if label:
      by_label[label].append(rendition)
  counts = {label: len(found) for label, found in sorted(by_label.items())}
  judged = sorted(label for label, count in counts.items() if count >= MIN_MELODIES)
  if len(judged) < 2:
    judged = []  # a label alone is told from nothing
  result = {'counts': counts, 'judged': judged, 'overall': None,
            'pairs': {}, 'closest': {}, 'controls': []}
  if not judged:
    return result
  renditions = {label: by_label[label] for label in judged}
  judge = lambda: classifier.GenreClassifier('rhythm', excerpt=excerpt)
  result['overall'] = judge().cross_validate(renditions, folds, seed)
  # A label is worth asking for only if it sounds unlike each other label: one judged
  # against the rest at once would count a label told from one very different other.
  for i, first in enumerate(judged):
    for second in judged[i + 1:]:
      pair = {first: renditions[first], second: renditions[second]}
      result['pairs'][f'{first}|{second}'] = judge().cross_validate(
          pair, folds, seed)['balanced_accuracy']
  for label in judged:
    others = {(b if a == label else a): accuracy for key, accuracy in result['pairs'].items()
              for a, b in [key.split('|')] if label in (a, b)}
    closest = min(others, key=others.get)
    result['closest'][label] = [closest, others[closest]]
  result['controls'] = [label for label in judged
                        if result['closest'][label][1] >= CONTROL_ACCURACY]
  return result


def markdown(results):
  """The separability tables as Markdown lines: one row per label."""
  lines = ['| genre | field | label | melodies | recall among all | least told from | '
           'control |', '| --- | --- | --- | ---: | ---: | --- | --- |']
  for genre, by_field in results.items():
    for field, result in by_field.items():
      if field == 'tempo curve':
        continue
      recall = (result['overall'] or {}).get('per_genre', {})
      for label, count in result['counts'].items():
        if label in result['judged']:
          other, accuracy = result['closest'][label]
          share, closest = f'{recall[label]:.1%}', f'{other} {accuracy:.1%}'
          control = 'yes' if label in result['controls'] else 'no'
        elif count < MIN_MELODIES:
          share, closest, control = '', '', f'no: under {MIN_MELODIES} melodies'
        else:
          share, closest, control = '', '', 'no: no other label to tell it from'
        lines.append(f'| {genre} | {field} | {label} | {count} | {share} | {closest} | '
                     f'{control} |')
  return lines


def curve_markdown(results):
  """The notes-per-quarter curves by tempo as Markdown lines."""
  lines = []
  for genre, by_field in results.items():
    curve = by_field.get('tempo curve')
    if not curve:
      continue
    lines += ['', f"{genre}: {curve['melodies']} melodies that state a tempo; notes a "
              f"quarter note change by {curve['slope']:+.2f} per 100 quarters a minute.", '',
              '| tempo (quarters a minute) | melodies | notes a quarter note |',
              '| --- | ---: | ---: |']
    lines += [f'| {low}-{high if high < 10_000 else ""} | {count} | {rate:.2f} |'
              for low, high, count, rate in curve['bins']]
  return lines


def measure(genres, data_dir=None, groups=(), folds=5, seed=0):
  """separability of every field of every genre's records, all splits together (the
  judges learn what real music tells apart, not how a model does)."""
  results = {}
  for genre in genres:
    records = [r for split in ('train', 'validation', 'test')
               for r in data.load_records(genre, split, data_dir)]
    melodies = [data.record_to_melody(r) for r in records]  # read once for every measure
    renditions = [data.rendition(m) for m in melodies]
    results[genre] = {}
    for field in ('style', 'feel', 'tempo'):
      found = separability(renditions, labels(records, field, groups), folds, seed)
      if found['counts']:
        results[genre][field] = found
    curve = tempo_curve([float(r['tempo']) for r in records], melodies)
    if curve:
      results[genre]['tempo curve'] = curve
  return results


# Tempo bins of the notes-per-beat curve, quarter notes a minute.
TEMPO_BINS = (0, 100, 140, 180, 220, 260, 10_000)


def tempo_curve(tempi, melodies):
  """How many notes a quarter note the melodies play by their tempo (quarter notes a
  minute, one each; 0 where none is stated).

  Returns {'melodies', 'slope' (notes a quarter per 100 quarters a minute, least
  squares over melodies), 'bins' [[low, high, melodies, mean notes a quarter]]}, or None
  when fewer than MIN_MELODIES melodies state a tempo, or all state one.
  """
  stated = [(tempo, notes_a_quarter(melody)) for tempo, melody in zip(tempi, melodies)
            if tempo > 0]
  tempi, rates = [tempo for tempo, _ in stated], [rate for _, rate in stated]
  if len(tempi) < MIN_MELODIES or len(set(tempi)) < 2:
    return None
  tempi, rates = np.array(tempi), np.array(rates)
  slope = float(np.polyfit(tempi / 100, rates, 1)[0])
  bins = []
  for low, high in zip(TEMPO_BINS, TEMPO_BINS[1:]):
    inside = (tempi >= low) & (tempi < high)
    if inside.any():
      bins.append([low, high, int(inside.sum()), float(rates[inside].mean())])
  return {'melodies': int(len(tempi)), 'slope': slope, 'bins': bins}


def notes_a_quarter(melody):
  """Notes a quarter note over the melody's span, from its first onset to its last."""
  span = float(melody.onsets[-1] - melody.onsets[0])
  return (len(melody) - 1) / span if span > 0 else 0.0
