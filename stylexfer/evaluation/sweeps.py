"""The restyle sweep: both sides of the sampling trade-off at every setting asked for.

Held-out melodies of each genre are restyled to every other genre at each sampling
setting (temperature, top-p), structure ('bars' keeps every note in its bar, 'free' draws
the rhythm without them) and strength, once per seed; a row pools the seeds' restyles.
Each row gives the form kept (structure), how typical of the target genre the rhythm is
(nats per note under its duration head and its duration n-gram, a model of the genre
independent of ours) and what the judges call it, beside real held-out melodies of each
genre measured the same way: a setting that is judged the target genre more often but is
less coherent than the genre's own melodies shows in one row.
"""

import dataclasses

from stylexfer.evaluation import coherence
from stylexfer.evaluation import data
from stylexfer.evaluation import structure
from stylexfer.evaluation import transfer

# The settings studied when the programs' defaults were chosen (BUILD_NOTES.md, "restyles
# that keep the tune's form"): the default, a hotter and a cooler one.
SETTINGS = ((1.1, 0.95), (1.0, 0.9), (0.8, 0.9))
FIGURES = ('notes', 'in_bars', 'written', 'repeated_kept', 'short_in_runs', 'changed')


@dataclasses.dataclass
class Sweep:
  """What the sweep restyles: each of `settings` (temperature, top_p) by each structure
  and strength, `limit` held-out melodies per genre, once per seed (melody n with seed + n)."""
  settings: tuple = SETTINGS
  structures: tuple = ('bars', 'free')
  strengths: tuple = (1.0,)
  seeds: tuple = (0, 1, 2)
  limit: int = 50


def figures(renditions, source, target, saved_model, baseline, judges):
  """One row's figures of a set: structure (pooled by notes, repeated bars and short
  notes), nats per note under the target genre's duration head and n-gram `baseline`,
  and the shares the rhythm judge calls `target` and the pitch judge `source`."""
  summary = structure.summarize([structure.measure(r) for r in renditions])
  found = {name: summary[name] for name in FIGURES}
  found.update(restyles=len(renditions),
               head_nll=coherence.duration_head_nll(saved_model, renditions),
               ngram_nll=coherence.ngram_nll(baseline, renditions),
               judged_target=judges['rhythm'].share_judged(renditions, target),
               pitch_kept=judges['pitch'].share_judged(renditions, source))
  return found


def restyle_sweep(saved_models, melodies, judges, baselines, sweep, progress=None):
  """The sweep's rows for genre SavedModels {genre: model} and held-out Melodies {genre:
  [Melody]}: first each genre's real melodies, then one row per restyle direction,
  setting, structure and strength, in that order.

  `judges` are fitted GenreClassifiers {'rhythm', 'pitch'}, `baselines` fitted duration
  n-grams {genre: HeadBaseline}; `progress(description)` gives a progress bar. A row is
  {'source', 'target', 'temperature', 'top_p', 'structure', 'strength'} (None for real
  melodies) and its figures (see `figures`).
  """
  progress = progress or (lambda description: iter)
  genres = sorted(saved_models)
  rows = []
  for genre in genres:
    real = [data.rendition(m) for m in melodies[genre]]
    rows.append(dict(source=genre, target=genre, temperature=None, top_p=None,
                     structure=None, strength=None,
                     **figures(real, genre, genre, saved_models[genre], baselines[genre],
                               judges)))
  for source in genres:
    for target in (g for g in genres if g != source):
      for temperature, top_p in sweep.settings:
        for kind in sweep.structures:
          for strength in sweep.strengths:
            label = f'{source} to {target}, T {temperature:g}, top-p {top_p:g}, {kind}'
            restyled = [r for seed in sweep.seeds for r in transfer.restyle_set(
                saved_models[target], melodies[source], strength,
                transfer.Sampling(temperature, top_p, seed),
                progress(f'{label}, {strength:g}, seed {seed}'), structure=kind)]
            rows.append(dict(source=source, target=target, temperature=temperature,
                             top_p=top_p, structure=kind, strength=strength,
                             **figures(restyled, source, target, saved_models[target],
                                       baselines[target], judges)))
  return {'settings': dataclasses.asdict(sweep), 'rows': rows}
