"""Measures restyles against real music: form kept, typical of the genre, coherent.

  python benchmarks/restyle_form.py --data_dir=DATA --model=folk=EXPORTS/folk/1 \
      --model=jazz=EXPORTS/jazz/1 [--limit=50] [--seeds=0,1,2] [--settings=1.1:0.95,0.8:0.9]
      [--structures=bars,free] [--strengths=0,0.25,0.5,0.75,1]

Held-out test melodies of each genre are restyled to the other genre (folk to jazz, jazz
to folk), with every sampling setting (temperature:top_p) and structure, once per seed.
Printed per direction and setting, pooled over the seeds:
  in bars      share of notes whose new onset lies in the bar it had in the input
  written      share of notes whose onset a score writes: on a 16th, 32nd or 8th- or
               16th-triplet place, in a beat of one kind (stylexfer.tokens.beats)
  repeats      share of repeated bars (same notes and rhythm as an earlier bar) whose
               new rhythm is the earlier bar's new rhythm
  short runs   share of notes shorter than a 16th that come in runs of three or more
  head, ngram  nats per note of the new rhythm under the target genre's duration head and
               under a duration trigram of the target genre's training split (a model of
               the genre independent of ours), next to real held-out melodies of that genre
  judged       share of restyles a rhythm classifier trained on real melodies alone calls
               the target genre, and share a pitch classifier still calls the source genre
Then the strength curve at the first setting: judged and share of durations changed.
"""

import collections

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from stylexfer.evaluation import classifier
from stylexfer.evaluation import coherence
from stylexfer.evaluation import data
from stylexfer.evaluation import structure
from stylexfer.evaluation import transfer

flags.DEFINE_string('data_dir', None, 'TFDS data folder with melodies/folk and jazz built.')
flags.DEFINE_multi_string('model', [], 'GENRE=SAVED_MODEL_FOLDER, for folk and jazz.')
flags.DEFINE_integer('limit', 50, 'Held-out melodies per direction.')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds (melody n draws with seed + n).')
flags.DEFINE_list('settings', ['1.1:0.95'], 'temperature:top_p pairs.')
flags.DEFINE_list('structures', ['bars', 'free'], 'Restyle structures to compare.')
flags.DEFINE_list('strengths', ['0', '0.25', '0.5', '0.75', '1'], 'Strength curve (none: '
                  'skip it).')
flags.DEFINE_list('directions', ['folk>jazz', 'jazz>folk'], 'SOURCE>TARGET pairs.')

GENRES = ('folk', 'jazz')


def pooled(values, weights):
  weights = np.asarray(weights, float)
  return float(np.sum(np.asarray(values) * weights) / np.sum(weights))


def main(argv):
  del argv
  f = flags.FLAGS
  models = {}
  for item in f.model:
    genre, _, path = item.partition('=')
    models[genre] = tf.saved_model.load(path)
  train = {g: data.load_renditions(g, ('train',), f.data_dir) for g in GENRES}
  test = {g: data.load_renditions(g, ('test',), f.data_dir) for g in GENRES}
  melodies = {g: data.load_melodies(g, 'test', f.data_dir, limit=f.limit) for g in GENRES}
  rhythm_judge = classifier.GenreClassifier('rhythm').fit(train)
  pitch_judge = classifier.GenreClassifier('pitch').fit(train)
  ngrams = {g: coherence.fit_duration_ngram(data.token_lists(train[g])) for g in GENRES}

  print('| set | in bars | written | repeats | short runs | head NLL | trigram NLL '
        '| judged target | pitches judged source |')
  print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for genre in GENRES:
    real = data.subset(test[genre], f.limit)
    figures = structure.summarize([structure.measure(r) for r in real])
    print(f'| real {genre} (held out) | {figures["in_bars"]:.3f} | '
          f'{figures["written"]:.3f} | {figures["repeated_kept"]:.3f} | '
          f'{figures["short_in_runs"]:.3f} | '
          f'{coherence.duration_head_nll(models[genre], real):.3f} | '
          f'{coherence.ngram_nll(ngrams[genre], real):.3f} | '
          f'{rhythm_judge.share_judged(real, genre):.3f} | '
          f'{pitch_judge.share_judged(real, genre):.3f} |')
  directions = [tuple(d.split('>')) for d in f.directions]
  for source, target in directions:
    for setting in f.settings:
      temperature, top_p = (float(v) for v in setting.split(':'))
      for kind in f.structures:
        rows = collections.defaultdict(list)
        for seed in f.seeds:
          sampling = transfer.Sampling(temperature, top_p, int(seed))
          restyled = transfer.restyle_set(models[target], melodies[source], 1.0, sampling,
                                          structure=kind)
          figures = structure.summarize([structure.measure(r) for r in restyled])
          notes = figures['notes']
          rows['in_bars'].append((figures['in_bars'], notes))
          rows['written'].append((figures['written'], notes))
          rows['repeats'].append((figures['repeated_kept'], max(figures['repeated_bars'], 1)))
          rows['short'].append((figures['short_in_runs'], max(figures['short_notes'], 1)))
          rows['head'].append((coherence.duration_head_nll(models[target], restyled), notes))
          rows['ngram'].append((coherence.ngram_nll(ngrams[target], restyled), notes))
          rows['judged'].append((rhythm_judge.share_judged(restyled, target), 1))
          rows['pitch'].append((pitch_judge.share_judged(restyled, source), 1))
        cell = lambda key: pooled(*zip(*[(0.0 if np.isnan(v) else v, w)
                                         for v, w in rows[key]]))
        print(f'| {source} > {target}, T {temperature:g}, top-p {top_p:g}, {kind} | '
              f'{cell("in_bars"):.3f} | {cell("written"):.3f} | {cell("repeats"):.3f} | '
              f'{cell("short"):.3f} | '
              f'{cell("head"):.3f} | {cell("ngram"):.3f} | {cell("judged"):.3f} | '
              f'{cell("pitch"):.3f} |')

  temperature, top_p = (float(v) for v in f.settings[0].split(':'))
  if f.strengths == ['none']:
    return
  print('\n| direction | strength | judged target | pitches judged source | changed |')
  print('| --- | ---: | ---: | ---: | ---: |')
  for source, target in directions:
    for strength in f.strengths:
      restyled = transfer.restyle_set(models[target], melodies[source], float(strength),
                                      transfer.Sampling(temperature, top_p, 0))
      changed = structure.summarize([structure.measure(r) for r in restyled])['changed']
      print(f'| {source} > {target} | {float(strength):g} | '
            f'{rhythm_judge.share_judged(restyled, target):.3f} | '
            f'{pitch_judge.share_judged(restyled, source):.3f} | {changed:.3f} |')


if __name__ == '__main__':
  flags.mark_flag_as_required('data_dir')
  app.run(main)
