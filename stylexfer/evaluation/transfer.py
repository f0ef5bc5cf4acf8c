"""The melodies under evaluation: the four combinations generated, held-out ones restyled.

Everything goes through the SavedModels' own signatures and stylexfer.serving.client, as
the shipped programs do, so the figures are theirs.
"""

import dataclasses

from stylexfer.serving import client
from stylexfer.evaluation import data


@dataclasses.dataclass
class Sampling:
  """Sampling controls shared by every draw (the programs' defaults)."""
  temperature: float = 1.0
  top_p: float = 0.9
  seed: int = 0


def generate_notes(saved_model, count, length, first_pitch, sampling):
  """(pitches, durations) of `count` melodies from a model's generate_notes signature,
  as it gives them (the pitches unfolded, the durations as floats)."""
  outputs = client.generated_arrays(saved_model, count, length, first_pitch,
                                    sampling.temperature, sampling.top_p, sampling.seed)
  return [(outputs['pitches'][n].tolist(), outputs['quarter_lengths'][n].tolist())
          for n in range(count)]


def combination(pitch_genre, rhythm_genre, models, count=100, length=128,
                sampling=Sampling(), merged=None, progress=iter):
  """Renditions of `count` generated melodies: pitch_genre's tones, rhythm_genre's rhythm.

  With `merged` (a SavedModel of the two genres) its generate_notes writes them; otherwise
  the pitch genre's model generates and, for another rhythm genre, that genre's model
  restyles every note (strength 1, seed + n for melody n) within the bars the pitch
  model's rhythm laid out, as stylexfer-generate does.
  """
  first_pitch = client.FIRST_PITCH.get(pitch_genre, 67)
  source = merged if merged is not None else models[pitch_genre]
  notes = generate_notes(source, count, length, first_pitch, sampling)
  renditions = []
  for n, (pitches, durations) in enumerate(progress(notes)):
    tune_id = f'{pitch_genre}-{rhythm_genre}-{sampling.seed}-{n + 1}'
    own_rhythm = merged is not None or pitch_genre == rhythm_genre
    signature = client.choose_time_signature(
        rhythm_genre if own_rhythm else pitch_genre, [data.exact(d) for d in durations])
    melody = data.melody_of_notes(pitches, durations, signature, tune_id)
    if own_rhythm:
      renditions.append(data.rendition(melody))
    else:
      new = client.restyle_melody(models[rhythm_genre], melody, strength=1.0,
                                  temperature=sampling.temperature, top_p=sampling.top_p,
                                  seed=sampling.seed + n)
      renditions.append(data.rendition(melody, new))
  return renditions


def restyle_set(saved_model, melodies, strength=1.0, sampling=Sampling(), progress=iter,
                structure='bars'):
  """Renditions of held-out Melodies restyled by a model (seed + n for melody n)."""
  renditions = []
  for n, melody in enumerate(progress(melodies)):
    new = client.restyle_melody(saved_model, melody, strength=strength,
                                temperature=sampling.temperature, top_p=sampling.top_p,
                                seed=sampling.seed + n, structure=structure)
    renditions.append(data.rendition(melody, new))
  return renditions
