"""Where a genre rests: how long a note of each inter-onset duration sounds.

Durations are inter-onset intervals (vocabulary.py): a rest lengthens the note before
it. To write rests back, each genre keeps, per duration id, the sounding length its
melodies typically give a note of that duration: the median over the training split, on
a 16th-note grid. Where the median leaves at least a quarter note of silence, the note
sounds for that median and a rest follows; otherwise it is written legato (its whole
duration), as a lead sheet writes a detached quarter note as a quarter note. So jazz
phrases that end on a long inter-onset gap get a short note and a rest, as the soloists
of WJazzD play them, while a folk dotted quarter stays a dotted quarter.
"""

import json
import os

import numpy as np

from stylexfer.tokens import vocabulary

FILE = 'articulation.json'
MIN_NOTES = 20      # fewer notes of a duration than this: legato
_GRID = 0.25        # quarter notes: sounding lengths in 16ths
MIN_REST = 1.0      # quarter notes: shorter silences are written as part of the note


def sounding_values(melodies):
  """Sounding length (quarter notes) per duration id, from melody records.

  `melodies` yields dicts with `durations` (ids) and `lengths` (sounding lengths in
  quarter notes). The last note of each melody, which has no next onset, is left out.
  """
  values = vocabulary.duration_table().astype(np.float64)
  heard = [[] for _ in values]
  for melody in melodies:
    durations = np.asarray(melody['durations'])[:-1]
    lengths = np.asarray(melody['lengths'], np.float64)[:-1]
    for token, length in zip(durations, lengths):
      heard[token].append(min(length, values[token]))
  table = values.copy()
  for token, lengths in enumerate(heard):
    if len(lengths) < MIN_NOTES:
      continue
    sounding = max(_GRID, round(float(np.median(lengths)) / _GRID) * _GRID)
    if values[token] - sounding >= MIN_REST:
      table[token] = sounding
  return table.astype(np.float32)


def save(model_dir, table):
  with open(os.path.join(model_dir, FILE), 'w', encoding='utf-8') as f:
    json.dump([float(v) for v in table], f)


def load(model_dir):
  """The table saved in a training folder, or None (legato) when there is none."""
  path = os.path.join(model_dir, FILE)
  if not os.path.isfile(path):
    return None
  with open(path, encoding='utf-8') as f:
    table = np.asarray(json.load(f), np.float32)
  if table.shape != (vocabulary.NUM_DURATIONS,):
    raise ValueError(f'{path}: holds {table.size} values, not one per duration id '
                     f'({vocabulary.NUM_DURATIONS})')
  return table
