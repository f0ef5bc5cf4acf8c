"""Runs the whole evaluation for a set of genre SavedModels and returns every figure.

  results = suite.evaluate({'folk': folk_model, 'jazz': jazz_model}, data_dir='DATA')
  report.write(results, 'evaluation/')

The melodies measured, each a set of Renditions:

  real:G            held-out (test split) melodies of genre G, as they are
  restyled:S>T      held-out melodies of genre S restyled by genre T's model (strength 1)
  generated:P/R     melodies with genre P's tones and genre R's rhythm (the article's four
                    combinations for two genres)

Distributions (histograms, mgeval, coherence, novelty) are measured on each melody's first
`length` notes, the length of the generated ones, so that long jazz solos and short reels
weigh alike; structure and the classifiers' judgement read whole melodies.
"""

import dataclasses
import fractions
import itertools
import os
import sys
import tempfile
import time

import numpy as np

from stylexfer.evaluation import classifier as classifier_lib
from stylexfer.evaluation import coherence
from stylexfer.evaluation import data
from stylexfer.evaluation import histograms
from stylexfer.evaluation import likeness
from stylexfer.evaluation import mgeval
from stylexfer.evaluation import notation_check
from stylexfer.evaluation import notation_programs
from stylexfer.evaluation import novelty
from stylexfer.evaluation import quality
from stylexfer.evaluation import structure
from stylexfer.evaluation import sweeps
from stylexfer.evaluation import swing
from stylexfer.reading import wjazzd
from stylexfer.evaluation import transfer
from stylexfer.serving import client
from stylexfer.writers import abc_writer
from stylexfer.writers import musicxml_writer
from stylexfer.writers import notation

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
SPLITS = ('train', 'validation', 'test')


@dataclasses.dataclass
class Options:
  """What to measure and how much of it."""
  count: int = 100             # generated melodies per combination
  length: int = 128            # notes per generated melody, and per measured excerpt
  max_melodies: int = 100      # held-out melodies per genre restyled and measured
  strengths: tuple = STRENGTHS
  sampling: transfer.Sampling = dataclasses.field(default_factory=transfer.Sampling)
  excerpt: int = classifier_lib.EXCERPT  # notes per classifier excerpt
  folds: int = 5
  seed: int = 0
  progress: bool = True
  # Hand every written file to the notation programs (stylexfer.evaluation.
  # notation_programs): minutes, and the programs must be installed.
  notation_programs: bool = False
  node_path: str = None        # where Node finds abcjs (NODE_PATH), for those checks
  manual_dir: str = None       # the corpora's folder: held-out tunes read from their files
  # Measures only asked for (each adds a section to the report):
  sweep: sweeps.Sweep = None   # restyles at each sampling setting, structure and strength
  like_pairs: int = 0          # restyles like one melody of the target genre, per direction
  swing: bool = False          # WJazzD's swing ratios, from its table under manual_dir


def real_id(genre):
  return f'real:{genre}'


def restyled_id(source, target):
  return f'restyled:{source}>{target}'


def generated_id(pitch_genre, rhythm_genre):
  return f'generated:{pitch_genre}/{rhythm_genre}'


def describe(set_id):
  """A reader's label for a set id."""
  kind, what = set_id.split(':', 1)
  if kind == 'real':
    return f'real {what}'
  if kind == 'restyled':
    source, target = what.split('>')
    return f'{source} restyled to {target}'
  pitch, rhythm = what.split('/')
  return f'generated {pitch} tones, {rhythm} rhythm'


class _Clock:
  """Wall time per step, and progress bars (tqdm, on stderr) when asked for."""

  def __init__(self, show):
    self.show = show
    self.times = {}
    self._step, self._start = None, None

  def step(self, name):
    self.stop()
    self._step, self._start = name, time.time()
    if self.show:
      print(f'[evaluate] {name}', file=sys.stderr, flush=True)

  def stop(self):
    if self._step is not None:
      self.times[self._step] = round(time.time() - self._start, 2)
      self._step = None

  def bar(self, description):
    if not self.show:
      return iter
    from tqdm import auto as tqdm  # pylint: disable=g-import-not-at-top
    return lambda items: tqdm.tqdm(items, desc=description, leave=False, file=sys.stderr)


def evaluate(saved_models, data_dir=None, merged=None, options=None):
  """Every figure of the report for genre SavedModels {genre: model}.

  Each genre needs a built `melodies` config of its name in `data_dir`. `merged` maps
  (pitch genre, rhythm genre) to a merged SavedModel that generates that combination.
  Returns a JSON-ready dict (see report.write).
  """
  options = options or Options()
  merged = merged or {}
  genres = sorted(saved_models)
  clock = _Clock(options.progress)
  results = {'settings': _settings(genres, options, merged), 'sets': {}}

  clock.step('reading the held-out and training melodies')
  records = {g: {split: data.load_records(g, split, data_dir) for split in SPLITS}
             for g in genres}
  held_out = {g: _held_out(records[g], options.max_melodies, options.seed) for g in genres}
  training = {g: [data.rendition(data.record_to_melody(r))
                  for r in clock.bar(f'{g} training melodies')(
                      records[g]['train'] + records[g]['validation'])]
              for g in genres}

  clock.step('model quality: each head against the n-gram')
  results['quality'] = {}
  for g in clock.bar('genres')(genres):
    splits = [data.record_tokens(records[g][s]) for s in SPLITS]
    results['quality'][g] = quality.compare_saved_model(
        saved_models[g], *splits, test_records=records[g]['test'],
        styles=client.traits_of(saved_models[g]).style_set)

  sets, by_strength = _melodies(saved_models, merged, held_out, options, clock)
  results['sets'] = {set_id: _set_info(set_id, renditions) for set_id, renditions in
                     sets.items()}
  excerpts = {set_id: [r.excerpt(options.length) for r in renditions]
              for set_id, renditions in sets.items()}
  clock.step('genre classifiers: grouped cross-validation, then judging')
  results['classifier'], judges = _classifiers(training, sets, genres, options, clock)
  found, baselines = _measures(saved_models, records, results['quality'], sets, excerpts,
                               judges, options, clock)
  results.update(found)
  results['strength'] = _strength_curve(by_strength, judges['rhythm'], judges['pitch'])

  clock.step('lead sheets: what a copyist would correct')
  sheets = _lead_sheets(saved_models, held_out, sets, by_strength, options, clock)
  results['notation'] = _notation(sheets, clock)
  if options.notation_programs:
    clock.step('the written files in abc2midi, abcm2ps, abcjs, MuseScore and LilyPond')
    results['notation_programs'] = _notation_programs(sheets, options)

  clock.step('novelty against the training melodies')
  results['novelty'] = _novelty(excerpts, records, genres, clock)
  results.update(_asked_for(saved_models, records, held_out, judges, baselines, options,
                            clock))
  results['excerpt'] = _engraving_excerpt(sets, genres)
  clock.stop()
  results['timing'] = clock.times
  return results


def _held_out(records, limit, seed):
  """A genre's held-out Melodies: `limit` of its test split, chosen by `seed`."""
  return [data.record_to_melody(r) for r in data.subset(records['test'], limit, seed)]


def _melodies(saved_models, merged, held_out, options, clock):
  """The sets measured {set id: [Rendition]}, and the restyles {(source, target,
  strength): [Rendition]}: held-out melodies, the combinations generated, held-out
  melodies restyled at each strength (the restyled sets at the largest)."""
  genres = sorted(saved_models)
  sets = {real_id(g): [data.rendition(m) for m in held_out[g]] for g in genres}
  clock.step('generating the combinations')
  for pitch_genre in genres:
    for rhythm_genre in genres:
      sets[generated_id(pitch_genre, rhythm_genre)] = transfer.combination(
          pitch_genre, rhythm_genre, saved_models, options.count, options.length,
          options.sampling, merged.get((pitch_genre, rhythm_genre)),
          clock.bar(f'{pitch_genre} tones, {rhythm_genre} rhythm'))

  clock.step('restyling held-out melodies at each strength')
  by_strength = {}
  for source in genres:
    for target in genres:
      if source == target:
        continue
      for strength in options.strengths:
        by_strength[source, target, strength] = transfer.restyle_set(
            saved_models[target], held_out[source], strength, options.sampling,
            clock.bar(f'{source} to {target} at {strength:g}'))
      sets[restyled_id(source, target)] = by_strength[source, target, max(options.strengths)]
  return sets, by_strength


def _measures(saved_models, records, quality_report, sets, excerpts, judges, options, clock):
  """What the judges call each set, its histograms, mgeval distances, coherence and
  structure (distributions of the excerpts); and the duration n-grams fitted for the
  coherence, {genre: HeadBaseline}."""
  genres = sorted(saved_models)
  found = {'judged': {set_id: {kind: {g: judges[kind].share_judged(renditions, g)
                                      for g in genres} for kind in judges}
                      for set_id, renditions in sets.items()}}
  clock.step('histograms and mgeval distances')
  found['histograms'] = {
      set_id: {name: histograms.pooled(renditions, name).tolist()
               for name in histograms.FEATURES}
      for set_id, renditions in excerpts.items()}
  found['mgeval'] = _mgeval(excerpts, genres, options, clock)

  clock.step('coherence: rhythm NLL under each genre')
  baselines = _duration_ngrams(records, quality_report, genres)
  found['coherence'] = _coherence(excerpts, saved_models, baselines, genres, clock)

  clock.step('structure and the strength curve')
  found['structure'] = {set_id: structure.summarize([structure.measure(r)
                                                     for r in renditions])
                        for set_id, renditions in sets.items()}
  return found, baselines


def _asked_for(saved_models, records, held_out, judges, baselines, options, clock):
  """The measures only asked for: the restyle sweep, restyling like a melody, swing."""
  genres, found = sorted(saved_models), {}
  if options.sweep is not None:
    clock.step('restyle sweep: each sampling setting, structure and strength')
    melodies = {g: _held_out(records[g], options.sweep.limit, options.seed) for g in genres}
    found['restyle_sweep'] = sweeps.restyle_sweep(saved_models, melodies, judges, baselines,
                                                  options.sweep, clock.bar)
  if options.like_pairs:
    clock.step('restyling like one melody of the target genre')
    found['restyle_like'] = {
        f'{source}>{target}': likeness.measure(
            saved_models[target], held_out[source], held_out[target], options.like_pairs,
            options.sampling, clock.bar(f'{source} to {target}, like a {target} melody'))
        for source in genres for target in genres if source != target}
  if options.swing:
    clock.step('swing in WJazzD')
    jazz = saved_models.get('jazz')
    played = None if jazz is None else client.traits_of(jazz).swing_ratio
    table = swing.find_table(options.manual_dir)
    found['swing'] = swing.measure(table, played, wjazzd.solo_labels(table))
  return found


def _settings(genres, options, merged):
  return {'genres': genres, 'count': options.count, 'length': options.length,
          'max_melodies': options.max_melodies, 'strengths': list(options.strengths),
          'temperature': options.sampling.temperature, 'top_p': options.sampling.top_p,
          'seed': options.sampling.seed, 'excerpt': options.excerpt, 'folds': options.folds,
          'merged': sorted(f'{p}/{r}' for p, r in merged)}


def _set_info(set_id, renditions):
  kind, what = set_id.split(':', 1)
  if kind == 'real':
    pitch_genre = rhythm_genre = what
  elif kind == 'restyled':
    pitch_genre, rhythm_genre = what.split('>')
  else:
    pitch_genre, rhythm_genre = what.split('/')
  return {'label': describe(set_id), 'kind': kind, 'pitch_genre': pitch_genre,
          'rhythm_genre': rhythm_genre, 'melodies': len(renditions),
          'notes': int(sum(len(r) for r in renditions))}


def _classifiers(training, sets, genres, options, clock):
  """Cross-validated accuracy on the training corpora, and judges fitted on all of them."""
  report, judges = {}, {}
  for kind in clock.bar('classifiers')(classifier_lib.KINDS):
    judge = classifier_lib.GenreClassifier(kind, options.excerpt)
    validation = judge.cross_validate(training, options.folds, options.seed)
    held_out = {g: judge.share_judged(sets[real_id(g)], g) for g in genres}
    report[kind] = {'cross_validation': validation, 'held_out_recall': held_out,
                    'held_out_balanced_accuracy': float(np.mean(list(held_out.values())))}
    judges[kind] = judge
  return report, judges


def _mgeval(excerpts, genres, options, clock):
  """mgeval's overlap and KL of every set against each real corpus, per feature."""
  features = {set_id: {name: histograms.features(renditions, name)
                       for name in histograms.FEATURES}
              for set_id, renditions in excerpts.items()}
  found = {}
  for set_id in clock.bar('sets')(list(excerpts)):
    found[set_id] = {}
    for reference in genres:
      found[set_id][reference] = {
          name: mgeval.compare(features[real_id(reference)][name], features[set_id][name],
                               options.seed)
          for name in histograms.FEATURES}
  return found


def _duration_ngrams(records, quality_report, genres):
  """Each genre's duration n-gram, fitted on its training split at the order that scored
  best in the model-quality comparison."""
  return {g: coherence.fit_duration_ngram(data.record_tokens(records[g]['train']),
                                          quality_report[g]['ngram']['duration']['order'])
          for g in genres}


def _coherence(excerpts, saved_models, baselines, genres, clock):
  """Nats per note of every set's rhythm under each genre's duration head and n-gram."""
  found = {}
  for set_id, renditions in excerpts.items():
    found[set_id] = {'duration_head': {}, 'ngram': {}}
    for g in genres:
      found[set_id]['duration_head'][g] = coherence.duration_head_nll(
          saved_models[g], renditions, clock.bar(f'{set_id} under {g}'))
      found[set_id]['ngram'][g] = coherence.ngram_nll(baselines[g], renditions)
  return found


def strength_curve(saved_model, melodies, source, target, rhythm_judge, pitch_judge,
                   strengths=STRENGTHS, sampling=None):
  """The strength curve of one restyle direction: held-out Melodies of genre `source`
  restyled by genre `target`'s SavedModel at each strength, judged and measured.

  Returns {'strengths', 'judged_target' (rhythm judged the target genre), 'pitch_kept'
  (pitches judged the source genre), 'changed', 'in_bars', 'repeated_kept',
  'short_in_runs'}, one value per strength. Judges are fitted GenreClassifiers.
  """
  by_strength = {(source, target, s): transfer.restyle_set(
      saved_model, melodies, s, sampling or transfer.Sampling()) for s in strengths}
  return _strength_curve(by_strength, rhythm_judge, pitch_judge)[f'{source}>{target}']


def _strength_curve(by_strength, rhythm_judge, pitch_judge):
  curves, changed = {}, {}
  for (source, target, strength), renditions in sorted(by_strength.items()):
    curve = curves.setdefault(f'{source}>{target}', {
        'strengths': [], 'judged_target': [], 'target_probability': [], 'pitch_kept': [],
        'changed': [], 'changed_by_quarter': [], 'in_bars': [], 'repeated_kept': [],
        'short_in_runs': []})
    measures = [structure.measure(r) for r in renditions]
    summary = structure.summarize(measures)
    curve['strengths'].append(strength)
    curve['judged_target'].append(rhythm_judge.share_judged(renditions, target))
    probabilities = rhythm_judge.probabilities(renditions)
    curve['target_probability'].append(
        float(np.mean(probabilities[:, rhythm_judge.genres.index(target)]))
        if len(renditions) else float('nan'))
    curve['pitch_kept'].append(pitch_judge.share_judged(renditions, source))
    quarters = [structure.changed_by_quarter(r.original, r.durations) for r in renditions]
    curve['changed_by_quarter'].append(np.nanmean(quarters, axis=0).tolist()
                                       if quarters else [float('nan')] * 4)
    for name in ('changed', 'in_bars', 'repeated_kept', 'short_in_runs'):
      curve[name].append(summary[name])
    changed.setdefault(f'{source}>{target}', []).append([m['changed'] for m in measures])
  for direction, curve in curves.items():
    # Melodies whose share of changed durations never falls as the strength rises.
    rising = np.all(np.diff(np.array(changed[direction]), axis=0) >= 0, axis=0)
    curve['monotone'] = float(np.mean(rising)) if rising.size else float('nan')
  return curves


def _lead_sheets(saved_models, held_out, sets, by_strength, options, clock):
  """The written melodies to check, by kind: {kind: [(melody, its input or None, the input's
  ABC text or None)]}.

  Held-out tunes are read from their source files where those are found (repeat signs,
  endings, chord symbols and header included: data.source_melody), else from their
  records; kinds are each tune as written back ('real:G as written back'), its restyles
  at 1 and 0.5 and the generated melodies.
  """
  sheets = {}
  for source, melodies in held_out.items():
    found, texts = zip(*[data.source_melody(m, options.manual_dir) for m in melodies])
    sheets[f'{real_id(source)} as written back'] = [
        (m, m, text) for m, text in zip(found, texts)]
    for target in saved_models:
      for strength in (0.5, 1.0):
        if target == source or (source, target, strength) not in by_strength:
          continue
        renditions = by_strength[source, target, strength]
        if any(a is not b for a, b in zip(found, melodies)):
          renditions = transfer.restyle_set(
              saved_models[target], found, strength, options.sampling,
              clock.bar(f'{source} tunes as written to {target} at {strength:g}'))
        sheets[f'{restyled_id(source, target)}@{strength:g}'] = [
            (r.written, m, text) for r, m, text in zip(renditions, found, texts)]
  for set_id, renditions in sets.items():
    if set_id.startswith('generated:') and renditions[0].written is not None:
      sheets[set_id] = [(r.written, None, None) for r in renditions]
  return sheets


def _notation(sheets, clock):
  """notation_check summaries of the written restyles (against their inputs as written
  back) and generated melodies."""
  return {kind: notation_check.summarize([
              notation_check.check_melody(written, before)
              for written, before, _ in clock.bar(f'lead sheets {kind}')(pairs)])
          for kind, pairs in sheets.items() if not kind.startswith('real:')}


def _notation_programs(sheets, options):
  """notation_programs.acceptance of every written file, ABC and MusicXML. A file's
  input, whose own messages are told apart: for ABC the tune's source text where there is
  one, else the input as written back; for MusicXML the input as written back."""
  with tempfile.TemporaryDirectory(prefix='stylexfer-written-') as folder:
    files, inputs, names = {}, {}, itertools.count()
    for kind, pairs in sheets.items():
      for written, before, text in pairs:
        own = {}
        if before is not None and before is not written:
          own = _write(before, folder, str(next(names)))
        if text is not None:
          own['ABC'] = os.path.join(folder, f'{next(names)}.source.abc')
          with open(own['ABC'], 'w', encoding='utf-8') as f:
            f.write(text)
        for fmt, path in _write(written, folder, str(next(names))).items():
          files.setdefault(f'{kind} {fmt}', []).append(path)
          if fmt in own:
            inputs[path] = own[fmt]
    return notation_programs.acceptance(files, inputs, options.node_path)


def _write(melody, folder, stem):
  """{'ABC': path, 'MusicXML': path} of a melody written under `folder`."""
  tune = notation.layout(melody)
  paths = {'ABC': os.path.join(folder, stem + '.abc'),
           'MusicXML': os.path.join(folder, stem + '.musicxml')}
  with open(paths['ABC'], 'w', encoding='utf-8') as f:
    f.write(abc_writer.to_abc(tune))
  musicxml_writer.write_musicxml(tune, paths['MusicXML'])
  return paths


def _novelty(excerpts, records, genres, clock):
  """Longest runs shared with the training melodies: intervals against the pitch genre's,
  durations against the rhythm genre's, whole notes against either."""
  corpora = {(g, stream): [novelty.tokens(r['intervals'], r['durations'], stream)
                           for r in records[g]['train']]
             for g in genres for stream in novelty.STREAMS}
  found = {}
  for set_id in clock.bar('sets')(list(excerpts)):
    info = _set_info(set_id, excerpts[set_id])
    renditions = excerpts[set_id]
    found[set_id] = {
        'intervals': novelty.measure(renditions, corpora[info['pitch_genre'], 'intervals'],
                                     'intervals'),
        'durations': novelty.measure(renditions, corpora[info['rhythm_genre'], 'durations'],
                                     'durations'),
        'notes': novelty.measure(
            renditions, corpora[info['pitch_genre'], 'notes'] +
            (corpora[info['rhythm_genre'], 'notes']
             if info['rhythm_genre'] != info['pitch_genre'] else []), 'notes'),
    }
  return found


def _engraving_excerpt(sets, genres, bars=8):
  """The first bars of the first restyled held-out melody, before and after, as notes."""
  for source in genres:
    for target in genres:
      renditions = sets.get(restyled_id(source, target))
      if not renditions:
        continue
      restyled = renditions[0]
      notes = sum(1 for b in restyled.bars if b < bars)
      part = restyled.excerpt(max(notes, 1))
      as_text = lambda values: [str(fractions.Fraction(v)) for v in values]
      return {'tune_id': restyled.tune_id, 'source': source, 'target': target,
              'time_signature': restyled.time_signature,
              'pickup': str(restyled.first_position), 'pitches': part.pitches,
              'before': as_text(part.original), 'after': as_text(part.durations)}
  return None

