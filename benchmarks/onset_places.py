"""Where in the beat real melodies and restyles put their onsets: places a score writes.

  python benchmarks/onset_places.py --data_dir=DATA --model=folk=EXPORTS/folk/1 \
      --model=jazz=EXPORTS/jazz/1 [--limit=50] [--seeds=0,1,2]

Every onset of the real test splits (whole) and of held-out melodies restyled to the other
genre (--limit per direction, once per seed, strength 1, temperature 1.0, top-p 0.9, bars
kept) is put in one class by its place after its beat (stylexfer.tokens.beats):
  written      on a 16th or 32nd, or on an 8th- or 16th-note triplet
  unwritten    on a 24th of a quarter between those (5/24, 7/24, 11/24, ...)
  off grid     on no 24th (quintuplets and other tuplets of real melodies)
and the share of beats that hold a 16th's place beside a triplet's is given too.
"""

import collections

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from stylexfer.evaluation import data
from stylexfer.evaluation import structure
from stylexfer.evaluation import transfer
from stylexfer.tokens import beats

flags.DEFINE_string('data_dir', None, 'TFDS data folder with melodies/folk and jazz built.')
flags.DEFINE_multi_string('model', [], 'GENRE=SAVED_MODEL_FOLDER, for folk and jazz.')
flags.DEFINE_integer('limit', 50, 'Held-out melodies restyled per direction.')
flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds (melody n draws with seed + n).')

GENRES = ('folk', 'jazz')


def counts(renditions):
  found = collections.Counter()
  for rendition in renditions:
    where, bars = structure.places_in_bars(rendition.durations, rendition.bars,
                                           rendition.bar_lengths, rendition.first_position)
    steps = where * beats.STEPS_PER_BEAT
    on_grid = np.abs(steps - np.round(steps)) < beats.TOLERANCE * beats.STEPS_PER_BEAT
    kinds = beats.place_kinds(where)
    found['notes'] += len(where)
    found['written'] += int(np.sum(kinds != beats.UNWRITTEN))
    found['unwritten'] += int(np.sum(on_grid & (kinds == beats.UNWRITTEN)))
    found['off grid'] += int(np.sum(~on_grid))
    # Beats: one bar's onsets with the same whole number of quarters after its bar line.
    beat_of = collections.defaultdict(int)
    for beat, kind in zip(zip(bars, np.floor(where + beats.TOLERANCE)), kinds):
      beat_of[beat] |= int(kind) if kind != beats.UNWRITTEN else 0
    found['beats'] += len(beat_of)
    found['mixed beats'] += sum(kind == beats.UNWRITTEN for kind in beat_of.values())
  return found


def row(label, found):
  share = lambda key, total='notes': f'{100 * found[key] / found[total]:.2f}%'
  return (f'| {label} | {found["notes"]:,} | {share("written")} | {share("unwritten")} | '
          f'{share("off grid")} | {share("mixed beats", "beats")} |')


def main(argv):
  del argv
  f = flags.FLAGS
  models = dict(item.split('=', 1) for item in f.model)
  models = {genre: tf.saved_model.load(path) for genre, path in models.items()}
  print('| set | notes | on a written place | on a 24th no score writes | off the 24th grid '
        '| beats mixing 16ths and triplets |')
  print('| --- | ---: | ---: | ---: | ---: | ---: |')
  for genre in GENRES:
    print(row(f'real {genre} (test split)', counts(data.load_renditions(genre, ('test',),
                                                                         f.data_dir))))
  melodies = {g: data.load_melodies(g, 'test', f.data_dir, limit=f.limit) for g in GENRES}
  for source, target in (('folk', 'jazz'), ('jazz', 'folk')):
    restyled = []
    for seed in f.seeds:
      restyled += transfer.restyle_set(models[target], melodies[source], 1.0,
                                       transfer.Sampling(1.0, 0.9, int(seed)))
    print(row(f'{source} restyled to {target} ({f.limit} melodies, seeds '
              f'{",".join(f.seeds)})', counts(restyled)))


if __name__ == '__main__':
  flags.mark_flag_as_required('data_dir')
  app.run(main)
