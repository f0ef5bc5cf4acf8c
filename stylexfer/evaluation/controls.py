"""How far the style and tempo controls move what the models write, by judges of real music.

Three measures (stylexfer-evaluate --controls):
- What the heads gain by hearing them: each head's held-out NLL with the true style and
  tempo, with either alone, and with neither (any style, unknown tempo).
- Styles: rhythm judges trained on real melodies alone, one per pair of styles (as
  stylexfer.evaluation.styles finds them), judge held-out melodies restyled in each style.
  A style control works where melodies asked for style s are judged s more often than
  the same melodies asked for the other style (or for none).
- Tempo: notes a quarter note of generated melodies against the tempo asked for, beside
  real melodies' curve; a judge trained on real slow and fast melodies alone judging
  melodies generated at a slow and a fast tempo; and for restyles, whose notes a bar are
  the input's, how the durations inside a bar shift between the two tempi.
"""

import collections
import itertools

import numpy as np

from stylexfer.evaluation import classifier
from stylexfer.evaluation import coherence
from stylexfer.evaluation import data
from stylexfer.evaluation import quality
from stylexfer.evaluation import styles as styles_lib

# Sources restyled per group, melodies generated per tempo, notes a generated melody.
LIMIT = 40
GENERATED = 40
LENGTH = 128
# The tempi melodies are generated at (quarters a minute); the two ends are judged.
TEMPI = (60, 90, 120, 160, 200, 260, 320)
# The order of the duration n-gram that says how typical of the genre a style's rhythm is.
NGRAM_ORDER = 3
SLOW_TEMPO, FAST_TEMPO = 90, 260
# Duration classes of a restyle's notes, quarter notes: up to a 16th, triplet eighths,
# eighths, up to a quarter, longer.
DURATION_CLASSES = (('16th or shorter', 0, 0.25), ('triplet 8th', 0.3, 0.34),
                    ('8th', 0.49, 0.51), ('other up to a quarter', 0.0, 1.0),
                    ('longer', 1.0, 1e9))


def what_heads_gain(models, data_dir=None):
  """{genre: quality.what_conditions_buy on its test split} for every model with styles
  or a tempo to hear."""
  found = {}
  for genre, model in models.items():
    records = data.load_records(genre, 'test', data_dir)
    found[genre] = quality.what_conditions_buy(model.saved_model, records,
                                               model.traits.style_set)
  return found


def _label_of(record, style_set):
  """A record's label as the model names it ('' for none of its styles)."""
  found = style_set.id_of(record.get(style_set.field, b''))
  return style_set.names[found - 1] if found else ''


def real_melodies(genre, data_dir=None):
  """(record, Melody) pairs of a genre's real melodies, all splits: read once for the
  style judges and the tempo measures."""
  return [(record, data.record_to_melody(record)) for split in ('train', 'validation', 'test')
          for record in data.load_records(genre, split, data_dir)]


def style_judgements(models, data_dir=None, limit=LIMIT, seed=0, other_genre=None,
                     real=None):
  """For each genre's model with two styles or more: its restyles judged by pairwise
  judges of real melodies.

  Sources: the genre's own held-out melodies grouped by their label, where a label has
  at least 5, each judged asked for every other style against its own; and
  `other_genre`'s held-out melodies (a folk tune restyled to jazz), judged for every
  pair. Each is restyled at strength 1 with seed n in every style and in none ('').
  Returns {genre: {'judges' {'s|o': cross-validated balanced accuracy on real
  melodies}, 'rows' [{'source', 'melodies', 'asked', 'other', 'judged' (share of
  restyles asked for `asked` judged `asked` by the asked|other judge), 'judged_as_other'
  (the same restyles asked for `other`), 'judged_as_any'}], 'coherence' {source: {style
  or 'any': nats a note of its restyles' rhythm under the genre's duration n-gram}},
  'real_nll' (its real held-out melodies')}}: a style pushed into a rhythm no real
  melody plays shows there. `real` maps a genre to its real_melodies where they have
  been read.
  """
  real = real or {}
  found = {}
  for genre, model in models.items():
    style_set = model.traits.style_set
    if len(style_set.names) < 2:
      continue
    by_label = collections.defaultdict(list)
    for record, melody in real.get(genre) or real_melodies(genre, data_dir):
      label = _label_of(record, style_set)
      if label:
        by_label[label].append(data.rendition(melody))
    judges, accuracy = {}, {}
    for first, second in itertools.combinations(style_set.names, 2):
      if min(len(by_label[first]), len(by_label[second])) < styles_lib.MIN_MELODIES // 2:
        continue
      judge = classifier.GenreClassifier('rhythm', excerpt=styles_lib.EXCERPT)
      accuracy[f'{first}|{second}'] = judge.cross_validate(
          {first: by_label[first], second: by_label[second]}, seed=seed)['balanced_accuracy']
      judges[first, second] = judges[second, first] = judge
    groups = _sources(genre, style_set, data_dir, limit, seed, other_genre)
    baseline = coherence.fit_duration_ngram(
        data.record_tokens(data.load_records(genre, 'train', data_dir)), NGRAM_ORDER)
    rows, typical = [], {}
    for source, (own, melodies) in groups.items():
      restyled = {style: [data.rendition(model.restyle(melody, seed=n, style=style))
                          for n, melody in enumerate(melodies)]
                  for style in ('',) + style_set.names}
      typical[source] = {style or 'any': coherence.ngram_nll(baseline, melodies)
                         for style, melodies in restyled.items()}
      for (asked, other), judge in sorted(judges.items()):
        if own and other != own:
          continue  # melodies of a style: asked for another against their own
        rows.append({'source': source, 'melodies': len(melodies), 'asked': asked,
                     'other': other,
                     'judged': judge.share_judged(restyled[asked], asked),
                     'judged_as_other': judge.share_judged(restyled[other], asked),
                     'judged_as_any': judge.share_judged(restyled[''], asked)})
    held_out = [data.rendition(data.record_to_melody(r))
                for r in data.load_records(genre, 'test', data_dir)]
    found[genre] = {'judges': accuracy, 'rows': rows, 'coherence': typical,
                    'real_nll': coherence.ngram_nll(baseline, held_out)}
  return found


def _sources(genre, style_set, data_dir, limit, seed, other_genre):
  """{group name: (its own style or '', held-out Melodies)} to restyle to `genre`'s
  styles."""
  by_label = collections.defaultdict(list)
  for record in data.load_records(genre, 'test', data_dir):
    by_label[_label_of(record, style_set)].append(record)
  groups = {label: (label, data.subset(records, limit, seed))
            for label, records in sorted(by_label.items()) if label and len(records) >= 5}
  if other_genre:
    groups[f'{other_genre} melodies'] = ('', data.subset(
        data.load_records(other_genre, 'test', data_dir), limit, seed))
  return {name: (own, [data.record_to_melody(r) for r in records])
          for name, (own, records) in groups.items()}


def tempo_response(model, data_dir=None, genre=None, seed=0, other_genre=None, real=None):
  """What asking a genre's model for a tempo does: generated melodies' notes a quarter
  note at each of TEMPI beside the real melodies' curve, a tempo judge of real melodies
  on melodies generated at SLOW_TEMPO and FAST_TEMPO, and restyles of `other_genre`'s
  held-out melodies at those two tempi by duration class, beside real slow and fast
  melodies (GENERATED melodies of LENGTH notes a tempo, LIMIT restyles). None when fewer
  than MIN_MELODIES real melodies state a tempo. `real`: the genre's real_melodies, where
  they have been read."""
  genre, count, length, limit = genre or model.rhythm_genre, GENERATED, LENGTH, LIMIT
  records, melodies = zip(*(real or real_melodies(genre, data_dir)))
  tempi = [float(r['tempo']) for r in records]
  real = styles_lib.tempo_curve(tempi, melodies)
  if real is None:
    return None
  generated = {tempo: model.generate(count, length, seed=seed, tempo=tempo)
               for tempo in TEMPI}
  rates = {tempo: [styles_lib.notes_a_quarter(m) for m in found]
           for tempo, found in generated.items()}
  slope = float(np.polyfit(
      np.repeat(np.array(TEMPI, float) / 100, count),
      np.concatenate([rates[t] for t in TEMPI]), 1)[0])
  classes = [styles_lib.tempo_class(t) for t in tempi]
  by_class = {name: [data.rendition(m) for m, c in zip(melodies, classes) if c == name]
              for name in ('slow', 'fast')}
  judge = classifier.GenreClassifier('rhythm', excerpt=styles_lib.EXCERPT)
  real_accuracy = judge.cross_validate(by_class, seed=seed)['balanced_accuracy']
  heard = {'slow': [data.rendition(m) for m in generated[SLOW_TEMPO]],
           'fast': [data.rendition(m) for m in generated[FAST_TEMPO]]}
  result = {
      'real': real, 'generated_slope': slope,
      'generated': {tempo: float(np.mean(found)) for tempo, found in rates.items()},
      'judge_real': real_accuracy,
      'judge_generated': float(np.mean([judge.share_judged(heard[name], name)
                                        for name in heard])),
      'judged_slow': {name: judge.share_judged(found, 'slow') for name, found in heard.items()},
  }
  if other_genre:
    sources = [data.record_to_melody(r) for r in data.subset(
        data.load_records(other_genre, 'test', data_dir), limit, seed)]
    restyled = {tempo: [model.restyle(m, seed=n, tempo=tempo) for n, m in enumerate(sources)]
                for tempo in (SLOW_TEMPO, FAST_TEMPO)}
    result['restyled_durations'] = {
        **{f'restyled at {tempo}': duration_classes(found) for tempo, found in restyled.items()},
        **{f'real {name}': duration_classes([m for m, c in zip(melodies, classes) if c == name])
           for name in ('slow', 'fast')}}
  return result


def duration_classes(melodies):
  """Share of all notes of `melodies` in each of DURATION_CLASSES (a note counts in the
  first class it fits)."""
  durations = np.concatenate([[float(d) for d in m.durations()] for m in melodies])
  shares, left = {}, np.ones(len(durations), bool)
  for name, low, high in DURATION_CLASSES:
    inside = left & (durations >= low) & (durations <= high)
    shares[name] = float(inside.mean())
    left &= ~inside
  return shares


def markdown(gains, judged, tempo):
  """The three measures as Markdown lines."""
  lines = ['## What the heads gain by hearing the style and the tempo', '',
           'Held-out NLL (nats a note), hearing the true label and tempo, one of them, or '
           'neither:', '', '| genre | head | both | style only | tempo only | neither |',
           '| --- | --- | ---: | ---: | ---: | ---: |']
  for genre, found in gains.items():
    for head in ('pitch', 'duration'):
      lines.append(f'| {genre} | {head} | ' + ' | '.join(
          f"{found[k][head]['nll']:.4f}" for k in ('both', 'style', 'tempo', 'neither'))
                   + ' |')
  lines += ['', '## Styles: restyles judged by judges of real melodies', '',
            'Each row: the share of the restyles asked for the style judged that style by '
            'a judge of real melodies of it against the other style; then the same melodies '
            'asked for the other style, and for none.', '']
  for genre, found in judged.items():
    lines += [f'{genre}: judges on real melodies (balanced accuracy): '
              + ', '.join(f'{pair} {value:.1%}' for pair, value in found['judges'].items()),
              '', '| restyled | melodies | asked for | judge against | judged as asked | '
              'asked for the other | asked for none |', '| --- | ---: | --- | --- | ---: | '
              '---: | ---: |']
    lines += [f"| {r['source']} | {r['melodies']} | {r['asked']} | {r['other']} | "
              f"{r['judged']:.1%} | {r['judged_as_other']:.1%} | {r['judged_as_any']:.1%} |"
              for r in found['rows']]
    if found['rows']:
      mean = lambda key: np.mean([r[key] for r in found['rows']])
      lines += ['', f"Mean over the rows: {mean('judged'):.1%} judged as asked, "
                f"{mean('judged_as_other'):.1%} when asked for the other style, "
                f"{mean('judged_as_any'):.1%} when asked for none."]
    if found.get('coherence'):
      styles = list(next(iter(found['coherence'].values())))
      lines += ['', f"Nats a note of the restyles' rhythm under {genre}'s duration n-gram "
                f"(its real held-out melodies: {found['real_nll']:.3f}; lower is blander, "
                'higher noisier):', '', '| restyled | ' + ' | '.join(styles) + ' |',
                '| --- |' + ' ---: |' * len(styles)]
      lines += [f'| {source} | ' + ' | '.join(f'{nll[s]:.3f}' for s in styles) + ' |'
                for source, nll in found['coherence'].items()]
    lines.append('')
  for genre, found in tempo.items():
    if not found:
      continue
    real = found['real']
    lines += [f'## Tempo: {genre}', '',
              f"Notes a quarter note change by {real['slope']:+.2f} per 100 quarters a "
              f"minute in real melodies ({real['melodies']}), by "
              f"{found['generated_slope']:+.2f} in generated ones "
              f'({GENERATED} a tempo, {LENGTH} notes).', '',
              '| tempo | generated: notes a quarter |', '| ---: | ---: |']
    lines += [f'| {tempo} | {rate:.2f} |' for tempo, rate in found['generated'].items()]
    lines += ['', f"A judge of real slow (under {styles_lib.SLOW}) and fast (over "
              f"{styles_lib.FAST}) melodies: {found['judge_real']:.1%} balanced accuracy "
              f'cross-validated on real ones, {found["judge_generated"]:.1%} on melodies '
              f'generated at {SLOW_TEMPO} and {FAST_TEMPO} (judged slow: '
              + ', '.join(f'{k} {v:.1%}' for k, v in found['judged_slow'].items()) + ').', '']
    if 'restyled_durations' in found:
      names = [name for name, _, _ in DURATION_CLASSES]
      lines += ['Share of notes by duration (quarter notes):', '',
                '| melodies | ' + ' | '.join(names) + ' |',
                '| --- |' + ' ---: |' * len(names)]
      lines += [f'| {label} | ' + ' | '.join(f'{shares[n]:.1%}' for n in names) + ' |'
                for label, shares in found['restyled_durations'].items()]
      lines.append('')
  return lines


def tempo_plot(tempo, path):
  """Notes a quarter note against tempo, real bins and generated points, per genre."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  figure, axes = pyplot.subplots(figsize=(6, 4))
  for genre, found in tempo.items():
    if not found:
      continue
    bins = found['real']['bins']
    axes.plot([(low + min(high, 400)) / 2 for low, high, _, _ in bins],
              [rate for *_, rate in bins], 'o-', label=f'{genre}: real')
    axes.plot(list(found['generated']), list(found['generated'].values()), 's--',
              label=f'{genre}: generated')
  axes.set_xlabel('tempo (quarter notes a minute)')
  axes.set_ylabel('notes a quarter note')
  axes.legend()
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  pyplot.close(figure)
