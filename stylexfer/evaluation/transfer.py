"""The melodies under evaluation: the four combinations generated, held-out ones restyled.

Everything goes through the front door (stylexfer.api), as the shipped programs do, so
the figures are theirs.
"""

import dataclasses

from stylexfer.api import models as models_lib
from stylexfer.serving import controls
from stylexfer.evaluation import data


@dataclasses.dataclass
class Sampling:
  """Sampling controls shared by every draw (the programs' defaults)."""
  temperature: float = controls.TEMPERATURE
  top_p: float = controls.TOP_P
  seed: int = controls.SEED


def _model(saved_model):
  return saved_model if isinstance(saved_model, models_lib.Model) else models_lib.Model(
      saved_model)


def combination(pitch_genre, rhythm_genre, models, count=100, length=128,
                sampling=Sampling(), merged=None, progress=iter):
  """Renditions of `count` generated melodies: pitch_genre's tones, rhythm_genre's rhythm.

  As stylexfer-generate writes them: the pitch genre's model draws, and the rhythm
  genre's model (the same one, or another) redraws every duration within the drawn
  bars; with `merged` (a SavedModel of the two genres) its own generate does both in its
  graph. Each keeps the Melody written (`written`).
  """
  controls_ = dict(temperature=sampling.temperature, top_p=sampling.top_p,
                   seed=sampling.seed)
  if merged is not None:
    written = _model(merged).generate(count, length, **controls_)
  else:
    written = _model(models[pitch_genre]).generate(
        count, length, rhythm=_model(models[rhythm_genre]), **controls_)
  renditions = []
  for n, melody in enumerate(progress(written)):
    melody.tune_id = f'{pitch_genre}-{rhythm_genre}-{sampling.seed}-{n + 1}'
    renditions.append(dataclasses.replace(data.rendition(melody), written=melody))
  return renditions


def restyle_set(saved_model, melodies, strength=1.0, sampling=Sampling(), progress=iter,
                structure='bars', likes=None):
  """Renditions of held-out Melodies restyled by a model (seed + n for melody n), each
  with the Melody written (`written`); with `likes`, a Melody for each whose rhythm the
  model hears first (the restyle's `like`)."""
  model = _model(saved_model)
  renditions = []
  for n, melody in enumerate(progress(melodies)):
    written = model.restyle(melody, strength, like=None if likes is None else likes[n],
                            structure=structure,
                            temperature=sampling.temperature, top_p=sampling.top_p,
                            seed=sampling.seed + n, title=melody.title)
    renditions.append(dataclasses.replace(data.rendition(melody, written.durations()),
                                          written=written))
  return renditions
