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
  as stylexfer-generate writes them: the pitch genre's model draws, and the rhythm genre's
  model (the same one, or another) redraws every duration within the drawn bars. Each
  keeps the drawn bars to be measured against and the Melody written (`written`).
  """
  first_pitch = client.FIRST_PITCH.get(pitch_genre, 67)
  if merged is not None:
    notes = generate_notes(merged, count, length, first_pitch, sampling)
    renditions = []
    for n, (pitches, durations) in enumerate(progress(notes)):
      signature = client.choose_time_signature(rhythm_genre,
                                               [data.exact(d) for d in durations])
      melody = data.melody_of_notes(pitches, durations, signature,
                                    f'{pitch_genre}-{rhythm_genre}-{sampling.seed}-{n + 1}')
      renditions.append(dataclasses.replace(data.rendition(melody), written=melody))
    return renditions
  drawn = client.drawn_melodies(models[pitch_genre], count, length, first_pitch, rhythm_genre,
                                sampling.temperature, sampling.top_p, sampling.seed)
  renditions = []
  for n, melody in enumerate(progress(drawn)):
    melody.tune_id = f'{pitch_genre}-{rhythm_genre}-{sampling.seed}-{n + 1}'
    written, = client.rhythm_in_bars(models[rhythm_genre], [melody], sampling.temperature,
                                     sampling.top_p, sampling.seed + n)
    renditions.append(dataclasses.replace(data.rendition(melody, written.durations()),
                                          written=written))
  return renditions


def restyle_set(saved_model, melodies, strength=1.0, sampling=Sampling(), progress=iter,
                structure='bars'):
  """Renditions of held-out Melodies restyled by a model (seed + n for melody n), each
  with the Melody written (`written`)."""
  renditions = []
  for n, melody in enumerate(progress(melodies)):
    new, sounding = client.restyle_durations(
        saved_model, melody.pitches, melody.durations(), strength, sampling.temperature,
        sampling.top_p, sampling.seed + n,
        form=melody.form() if structure == 'bars' else None)
    renditions.append(dataclasses.replace(data.rendition(melody, new),
                                          written=melody.with_rhythm(new, sounding)))
  return renditions
