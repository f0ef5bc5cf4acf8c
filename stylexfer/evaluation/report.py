"""Writes the evaluation report folder: Markdown, a JSON of every figure, PNG figures.

  <out>/report.md           the report, figures linked
  <out>/report.json         every number of the report (suite.evaluate's results)
  <out>/figures/<name>.png  each figure, and <name>.json with the data it plots
"""

import json
import math
import os

from stylexfer.evaluation import histograms
from stylexfer.evaluation import notation_check
from stylexfer.evaluation import plots
from stylexfer.evaluation import quality
from stylexfer.evaluation import suite

FIGURES = 'figures'


def _number(value, digits=3):
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return '—'
  return f'{value:.{digits}f}'


def _share(value):
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return '—'
  return f'{100 * value:.1f}%'


def _table(header, rows):
  lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
  lines += ['| ' + ' | '.join(str(cell) for cell in row) + ' |' for row in rows]
  return '\n'.join(lines)


def _json_ready(value):
  """NaN as null, so that report.json is strict JSON."""
  if isinstance(value, float) and math.isnan(value):
    return None
  if isinstance(value, dict):
    return {str(k): _json_ready(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_ready(v) for v in value]
  return value


def _save_figure(folder, name, data):
  with open(os.path.join(folder, FIGURES, f'{name}.json'), 'w') as f:
    json.dump(_json_ready(data), f, indent=1)
  return f'{FIGURES}/{name}.png'


def draw_figures(results, folder):
  """Draws every figure under <folder>/figures; returns {name: relative PNG path}."""
  os.makedirs(os.path.join(folder, FIGURES), exist_ok=True)
  genres = results['settings']['genres']
  pooled = results['histograms']
  drawn = {}
  for source in genres:
    for target in genres:
      if source == target:
        continue
      wanted = [suite.real_id(source), suite.real_id(target),
                suite.restyled_id(source, target), suite.generated_id(source, target)]
      sets = {suite.describe(s): pooled[s] for s in wanted if s in pooled}
      name = f'histograms_{source}_to_{target}'
      data = plots.histogram_panels(sets, os.path.join(folder, FIGURES, f'{name}.png'),
                                    f'{source} tones with {target} rhythm, against both corpora')
      drawn[name] = _save_figure(folder, name, data)
  for name, kinds in (('transitions_restyled', ('real', 'restyled')),
                      ('transitions_generated', ('generated',))):
    matrices = {suite.describe(s): pooled[s]['transitions'] for s in pooled
                if s.split(':')[0] in kinds}
    data = plots.transition_heatmaps(matrices, os.path.join(folder, FIGURES, f'{name}.png'))
    drawn[name] = _save_figure(folder, name, data)
  if results.get('strength'):
    data = plots.strength_curve(results['strength'],
                                os.path.join(folder, FIGURES, 'strength_curve.png'))
    drawn['strength_curve'] = _save_figure(folder, 'strength_curve', data)
  if results.get('excerpt'):
    drawn.update(_engrave(results['excerpt'], folder))
  return drawn


def _engrave(excerpt, folder):
  """The before/after excerpt engraved (render.py: MusicXML -> Verovio SVG -> PNG)."""
  import fractions  # pylint: disable=g-import-not-at-top
  from stylexfer.reading import melody as melody_lib  # pylint: disable=g-import-not-at-top
  from stylexfer.writers import render  # pylint: disable=g-import-not-at-top
  drawn = {}
  for side in ('before', 'after'):
    melody = melody_lib.Melody.from_durations(
        excerpt['pitches'], [fractions.Fraction(d) for d in excerpt[side]],
        excerpt['time_signature'], fractions.Fraction(excerpt['pickup']),
        f"{excerpt['tune_id']} ({side})")
    name = f'excerpt_{side}'
    written = render.write_all(melody, os.path.join(folder, FIGURES), name,
                               formats=('musicxml', 'svg', 'png'))
    drawn[name] = f"{FIGURES}/{os.path.basename(written.get('png') or written['svg'])}"
  with open(os.path.join(folder, FIGURES, 'excerpt.json'), 'w') as f:
    json.dump(excerpt, f, indent=1)
  return drawn


def markdown(results, drawn, command=''):
  """The report's Markdown text: a section after another, each from its own function."""
  out = _opening(results, command) + _headlines(results) + _sets_measured(results)
  out += _model_quality(results) + _judges(results) + _transfer_judged(results)
  out += _histograms(results, drawn) + _transitions(drawn) + _coherence(results)
  out += _structure(results) + _strength_curve(results, drawn)
  out += _lead_sheets(results) + _notation_programs(results) + _novelty(results)
  out += _before_and_after(results, drawn)
  out += _restyle_sweep(results) + _restyle_like(results) + _swing(results)
  out += _time_taken(results)
  return '\n'.join(out)


def _opening(results, command):
  settings, genres = results['settings'], results['settings']['genres']
  out = ['# How well stylexfer restyles melodies', '']
  if command:
    out += ['Written by', '', '```sh', command, '```', '']
  return out + [
      f"Genres {', '.join(genres)}; held-out melodies from each test split (at most "
      f"{settings['max_melodies']} per genre), {settings['count']} generated melodies "
      f"of {settings['length']} notes per combination; sampling temperature "
      f"{settings['temperature']}, top-p {settings['top_p']}, seed {settings['seed']}. "
      f"Distributions are measured on each melody's first {settings['length']} notes.", '']


def _sets_measured(results):
  return ['## Sets measured', '',
          _table(['set', 'melodies', 'notes'],
                 [[info['label'], info['melodies'], info['notes']]
                  for info in results['sets'].values()]), '']


def _model_quality(results):
  out = ['## Model quality: each head against the n-gram', '',
         'Nats per note on the whole test split (lower is better) and accuracy of the '
         'most likely token.', '']
  tables = [quality.format_table(g, results['quality'][g]).split('\n')
            for g in results['settings']['genres']]
  return out + [tables[0][0], tables[0][1]] + [row for t in tables for row in t[2:]] + ['']


def _judges(results):
  settings = results['settings']
  out = ['## The judges: genre classifiers trained on real melodies only', '',
         f"Logistic regression on excerpts of {settings['excerpt']} notes (rhythm: duration "
         'histogram and onset within the beat; pitch: interval histogram and pitch classes '
         f"relative to the commonest one). Accuracy from {settings['folds']}-fold "
         'cross-validation with every excerpt of a tune in one fold, on the training and '
         'validation melodies; then the share of held-out test melodies judged their own '
         'genre.', '']
  rows = []
  for kind, found in results['classifier'].items():
    cv = found['cross_validation']
    rows.append([kind, cv['excerpts'], cv['tunes'], _share(cv['excerpt_accuracy']),
                 _share(cv['balanced_accuracy']),
                 ', '.join(f'{g} {_share(v)}' for g, v in cv['per_genre'].items()),
                 ', '.join(f'{g} {_share(v)}' for g, v in found['held_out_recall'].items())])
  return out + [_table(['judge', 'excerpts', 'tunes', 'CV accuracy', 'CV balanced accuracy',
                        'CV recall per genre', 'held-out melodies judged their genre'],
                       rows), '']


def _by_genre(results, columns):
  """A table with a row per set and, for each (heading, cell) of `columns`, a column per
  genre headed '<heading> <genre>' holding cell(set id, genre)."""
  sets, genres = results['sets'], results['settings']['genres']
  header = ['set'] + [f'{heading} {g}' for heading, _ in columns for g in genres]
  rows = [[sets[s]['label']] + [cell(s, g) for _, cell in columns for g in genres]
          for s in sets]
  return _table(header, rows)


def _measures_by_genre(results, key, measures, cell):
  """_by_genre of results[key][set id][measure][genre] for each {heading: measure}, each
  value written by `cell`."""
  found = results[key]
  return _by_genre(results, [(heading, lambda s, g, measure=measure: cell(found[s][measure][g]))
                             for heading, measure in measures.items()])


def _transfer_judged(results):
  return ['## Transfer judged independently', '',
          'Share of each set judged each genre by the rhythm judge and by the pitch judge. '
          'A restyle works when its rhythm is judged the target genre and its pitches '
          'still the source genre.', '',
          _measures_by_genre(results, 'judged', {'rhythm judged': 'rhythm',
                                                 'pitches judged': 'pitch'}, _share), '']


def _histograms(results, drawn):
  out = ['## Histograms against the real corpora', '']
  for name, path in drawn.items():
    if name.startswith('histograms_'):
      out += [f'![{name}]({path})', '']
  out += ["Yang & Lerch's relative measure (mgeval): overlap area (OA, 1 is best) and KL "
          'divergence (nats, 0 is best) between the real corpus\'s intra-set distances and '
          'the set-to-corpus inter-set distances, per feature (each melody\'s histogram). '
          'A real corpus against itself gives the ceiling; the other corpus, how far apart '
          'the genres are.', '']
  for metric, label in (('overlap', 'overlap area'), ('kl', 'KL divergence')):
    columns = [(f'{feature} vs', lambda s, g, feature=feature, metric=metric: _number(
        results['mgeval'][s][g][feature][metric], 2)) for feature in histograms.FEATURES]
    out += [f'**{label}**', '', _by_genre(results, columns), '']
  return out


def _transitions(drawn):
  out = ['## Duration transitions', '']
  for name in ('transitions_restyled', 'transitions_generated'):
    if name in drawn:
      out += [f'![{name}]({drawn[name]})', '']
  return out


def _coherence(results):
  return ['## Coherence: rhythm NLL under each genre', '',
          "Nats per note of each set's durations under each genre's duration head and "
          'duration n-gram (lower is more typical of that genre); real held-out melodies '
          'are the yardstick.', '',
          _measures_by_genre(results, 'coherence', {'duration head': 'duration_head',
                                                    'n-gram': 'ngram'}, _number), '']


def _structure(results):
  out = ['## Structure', '',
         'Notes whose onset stays in the bar they had; notes whose onset a score writes '
         '(on a 16th, 32nd or 8th- or 16th-triplet place, in a beat of one kind); repeated '
         'bars (the same pitches, durations and positions as an earlier bar) whose new '
         'rhythm repeats too; notes shorter than a 16th that come in runs of 3 or more; '
         'durations changed.', '']
  rows = []
  for s, found in results['structure'].items():
    rows.append([results['sets'][s]['label'], _share(found['in_bars']),
                 _share(found['written']), found['repeated_bars'],
                 _share(found['repeated_kept']), found['short_notes'],
                 _share(found['short_in_runs']), _share(found['changed'])])
  return out + [_table(['set', 'notes in their bars', 'onsets written', 'repeated bars',
                        'repeated bars with one rhythm', 'notes < 16th',
                        'of those in runs of 3+', 'durations changed'], rows), '']


def _strength_curve(results, drawn):
  if not results.get('strength'):
    return []
  out = ['## Strength curve', '', f"![strength curve]({drawn['strength_curve']})", '']
  rows, notes = [], []
  for direction, curve in results['strength'].items():
    for k, strength in enumerate(curve['strengths']):
      quarters = curve.get('changed_by_quarter', [[]] * (k + 1))[k]
      rows.append([direction.replace('>', ' to '), f'{strength:g}',
                   _share(curve['judged_target'][k]),
                   _number(curve.get('target_probability', [None] * (k + 1))[k], 2),
                   _share(curve['pitch_kept'][k]), _share(curve['changed'][k]),
                   ' / '.join(_share(q) for q in quarters) or '—',
                   _share(curve['in_bars'][k]), _share(curve['short_in_runs'][k])])
    if 'monotone' in curve:
      notes.append(f"- {direction.replace('>', ' to ')}: at strength 0.5 the judge's "
                   f"P(target) is {_share(_half_way(curve, 'target_probability'))} of the "
                   'way from strength 0 to 1, the changed durations '
                   f"{_share(_half_way(curve, 'changed'))}; "
                   f"{_share(curve['monotone'])} of the melodies change more at every "
                   'higher strength.')
  return out + [_table(['restyle', 'strength', 'rhythm judged target', 'P(target)',
                        'pitches judged source', 'durations changed',
                        'changed by quarter of the tune', 'notes in their bars',
                        'short notes in runs'], rows), ''] + notes + ([''] if notes else [])


def _half_way(curve, name):
  """How far along from strength 0 to 1 the curve is at 0.5 (nan where not measured)."""
  values = dict(zip(curve['strengths'], curve[name]))
  if not {0.0, 0.5, 1.0} <= set(values) or values[1.0] == values[0.0]:
    return float('nan')
  return (values[0.5] - values[0.0]) / (values[1.0] - values[0.0])


def _lead_sheets(results):
  """What a copyist would correct in the written files, per 100 notes, and what they lost."""
  if not results.get('notation'):
    return []
  rows = []
  for key, found in results['notation'].items():
    set_id, _, strength = key.partition('@')
    label = results['sets'][set_id]['label'] + (f' at {strength}' if strength else '')
    rows.append([label, found['files'], found['notes']]
                + [_number(found['per_100_notes'][name], 2)
                   for name in notation_check.DEFECTS]
                + [_share(max(found['files_with'].values(), default=0))])
  return ['## Lead sheets: what a copyist would correct', '',
          'Each restyle and generated melody as the programs write it (MusicXML), read as a '
          'copyist reads it (stylexfer/evaluation/notation_check.py): each defect per 100 '
          "notes, and the largest share of files that lost something of their input (clef, "
          'title, composer, tempo, key, chord symbols, ending labels). Restyles are compared '
          'with their input as written back; 0 everywhere is the target.', '',
          _table(['set', 'files', 'notes'] + list(notation_check.DEFECTS)
                 + ['files that lost something'], rows), '']


def _notation_programs(results):
  """The share of written files each notation program reads without a message."""
  found = results.get('notation_programs')
  if not found:
    return []
  programs = sorted({program for shares in found.values() for program in shares},
                    key=lambda p: (p.split(' ')[0] not in ('abc2midi', 'abcm2ps', 'abcjs'), p))
  rows = [[kind] + [_share(shares[p]) if p in shares else '' for p in programs]
          for kind, shares in found.items()]
  return ['## The written files in the programs musicians use', '',
          'The share of files each program reads without a message (abc2midi, abcm2ps and '
          'abcjs for ABC; MuseScore 3 and LilyPond for MusicXML); for restyles, also the '
          'share once the messages that the input as written back draws too are set aside.',
          '', _table(['files'] + programs, rows), '']


def _novelty(results):
  out = ['## Novelty', '',
         'Longest run of consecutive tokens each melody shares with the training melodies '
         "(intervals: the pitch genre's; durations: the rhythm genre's; notes: both "
         'tokens), median over the set; novelty = 1 - longest note run / length.', '']
  rows = []
  for s, found in results['novelty'].items():
    rows.append([results['sets'][s]['label'], _number(found['intervals']['median_longest'], 0),
                 _number(found['durations']['median_longest'], 0),
                 _number(found['notes']['median_longest'], 0),
                 _number(found['notes']['mean_novelty'], 2)])
  return out + [_table(['set', 'intervals', 'durations', 'notes', 'mean novelty'], rows), '']


def _before_and_after(results, drawn):
  if 'excerpt_before' not in drawn:
    return []
  excerpt = results['excerpt']
  return ['## Before and after', '',
          f"The first bars of {excerpt['tune_id']} ({excerpt['source']}), then restyled "
          f"to {excerpt['target']}:", '', f"![before]({drawn['excerpt_before']})", '',
          f"![after]({drawn['excerpt_after']})", '']


def _time_taken(results):
  return ['## Time taken', '',
          _table(['step', 'seconds'], [[k, v] for k, v in results.get('timing', {}).items()]),
          '']


def _restyle_sweep(results):
  """One row per real genre and per restyle direction, setting, structure and strength."""
  found = results.get('restyle_sweep')
  if not found:
    return []
  sweep, rows = found['settings'], []
  for row in found['rows']:
    if row['temperature'] is None:
      setting = [f"real {row['source']}", '', '', '', '']
    else:
      setting = [f"{row['source']} to {row['target']}", f"{row['temperature']:g}",
                 f"{row['top_p']:g}", row['structure'], f"{row['strength']:g}"]
    rows.append(setting + [row['restyles'], _share(row['in_bars']), _share(row['written']),
                           _share(row['repeated_kept']), _share(row['short_in_runs']),
                           _share(row['changed']), _number(row['head_nll']),
                           _number(row['ngram_nll']), _share(row['judged_target']),
                           _share(row['pitch_kept'])])
  seeds = ', '.join(str(s) for s in sweep['seeds'])
  return ['## Restyle sweep: sampling settings, structures and strengths', '',
          f"At most {sweep['limit']} held-out melodies per genre, restyled at each setting "
          f'once per seed ({seeds}; melody n with seed + n), the seeds pooled; real '
          'held-out melodies measured the same way. Structure as in the structure table; '
          "nats per note of the rhythm under the target genre's duration head and duration "
          'n-gram (real melodies: under their own genre\'s); the share the rhythm judge calls '
          'the target genre and the pitch judge still the source genre.', '',
          _table(['restyle', 'temperature', 'top-p', 'structure', 'strength', 'restyles',
                  'notes in their bars', 'onsets written', 'repeated bars with one rhythm',
                  'short notes in runs', 'durations changed', 'rhythm NLL, target head',
                  'rhythm NLL, target n-gram', 'rhythm judged target',
                  'pitches judged source'], rows), '']


def _restyle_like(results):
  """How far restyling like one melody moves the rhythm towards it, per direction."""
  found = results.get('restyle_like')
  if not found:
    return []
  rows = [[direction.replace('>', ' to '), like['pairs'], _number(like['plain_to_heard']),
           _number(like['like_to_heard']), _number(like['plain_to_other']),
           _number(like['like_to_other'])] for direction, like in found.items()]
  heard = next(iter(found.values()))['notes_heard']
  return ['## Restyling like one melody', '',
          'Each held-out melody restyled twice with one seed: plainly, and after the model '
          f'heard the first {heard} notes of a held-out melody of the target genre. Total '
          'variation distance between duration histograms (0: the same rhythm values, '
          'lower is closer) to the melody heard and, as a control, to another melody of '
          'the target genre, mean over the pairs.', '',
          _table(['restyle', 'pairs', 'plain: to the melody heard', 'like: to the melody heard',
                  'plain: to another melody', 'like: to another melody'], rows), '']


def _swing(results):
  found = results.get('swing')
  return swing_lines(found) if found else []


def swing_lines(found):
  """WJazzD's beat-upbeat ratios (swing.measure's figures), overall, by tempo, and by feel
  and style where the solos' metadata was read."""
  quartiles = found['quartiles'] or [None, None]
  rows = [[f"{band['low']}-{band['high']}", f"{band['pairs']:,}", _number(band['median'], 2)]
          for band in found['by_tempo']]
  return ['## Swing in WJazzD', '',
          f"{found['pairs']:,} eighth pairs (a note on a beat divided in two, the next on its "
          f"second eighth, the next on the following beat) in {found['solos']:,} solos of "
          f"{os.path.basename(found['table'])}; the ratio of the two inter-onset times in "
          f"seconds: median {_number(found['median'], 2)}, mean {_number(found['mean'], 2)}, "
          f"geometric mean {_number(found['geometric_mean'], 2)}, quartiles "
          f'{_number(quartiles[0], 2)} to {_number(quartiles[1], 2)}.'
          + (f" The jazz model plays its eighths at {_number(found['played'], 2)} (its "
             'traits).' if found['played'] is not None else ''),
          '', _table(['tempo (quarters a minute)', 'pairs', 'median ratio'], rows), ''] + [
              line for field in ('feel', 'style') if found.get(f'by_{field}')
              for line in (_table([field, 'solos', 'pairs', 'median ratio', 'quartiles'], [
                  [g['label'], g['solos'], f"{g['pairs']:,}", _number(g['median'], 2),
                   f"{_number(g['quartiles'][0], 2)} to {_number(g['quartiles'][1], 2)}"]
                  for g in found[f'by_{field}']]), '')]


def _headlines(results):
  """One row per set that crosses genres: did it take the rhythm, keep the tune and form?"""
  sets, rows = results['sets'], []
  for set_id, info in sets.items():
    source, target = info['pitch_genre'], info['rhythm_genre']
    if source == target:
      continue
    real = suite.real_id(target)
    nll = results['coherence'][set_id]['duration_head'][target]
    real_nll = results['coherence'][real]['duration_head'][target]
    found, real_found = results['structure'][set_id], results['structure'][real]
    rows.append([info['label'], _share(results['judged'][set_id]['rhythm'][target]),
                 _share(results['judged'][set_id]['pitch'][source]),
                 f'{_number(nll)} ({_number(real_nll)})', _share(found['in_bars']),
                 f"{_share(found['written'])} ({_share(real_found['written'])})",
                 _share(found['repeated_kept']),
                 f"{_share(found['short_in_runs'])} ({_share(real_found['short_in_runs'])})"])
  if not rows:
    return []
  return ['## Headlines', '',
          'For each set that crosses genres: the share whose rhythm the rhythm judge calls '
          'the target genre and whose pitches the pitch judge still calls the source genre; '
          "the rhythm's nats per note under the target genre's duration head (real target "
          'melodies in brackets); notes kept in their bars; notes whose onset a score '
          'writes (real target melodies in brackets); repeated bars that keep one rhythm; '
          'notes shorter than a 16th that come in runs of 3+ (real target melodies in '
          'brackets).', '',
          _table(['set', 'rhythm judged target', 'pitches judged source',
                  'rhythm NLL, target head', 'notes in their bars', 'onsets written',
                  'repeated bars with one rhythm', 'short notes in runs'], rows), '']


def write(results, folder, command=''):
  """Writes report.md, report.json and the figures under `folder`; returns report.md's path."""
  os.makedirs(folder, exist_ok=True)
  drawn = draw_figures(results, folder)
  results = dict(results, figures=drawn)
  with open(os.path.join(folder, 'report.json'), 'w') as f:
    json.dump(_json_ready(results), f, indent=1)
  path = os.path.join(folder, 'report.md')
  with open(path, 'w') as f:
    f.write(markdown(results, drawn, command))
  return path
