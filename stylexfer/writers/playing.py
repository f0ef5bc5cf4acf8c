"""A laid-out tune as played: its bars in the order the repeats and endings say, with swing."""

import fractions
import math

from stylexfer.writers import notation

Fraction = fractions.Fraction


def play_order(marks, count):
  """Bar indices in the order they are played: repeats taken once, endings by pass.

  A right repeat sign sends the music back to the last left repeat sign (or the start)
  once; on the second pass the bars of ending 1 are skipped and ending 2 is played.
  """
  order, index, repeat_from, repeated = [], 0, 0, set()
  second_pass = False
  while index < count:
    mark = marks.get(index, {})
    if mark.get('left') == 'repeat' and not second_pass:
      repeat_from = index
    ending = mark.get('ending')
    if ending and second_pass and '1' in ending.split(','):
      index += 1
      continue
    if ending and not second_pass and '1' not in ending.split(','):
      index += 1
      continue
    order.append(index)
    if mark.get('right') == 'repeat' and index not in repeated:
      repeated.add(index)
      index, second_pass = repeat_from, True
      continue
    if mark.get('right') == 'repeat' or (mark.get('right') in ('double', 'final')):
      second_pass = False
      repeat_from = index + 1
    index += 1
  return order


def swing_time(quarters, ratio):
  """Where an onset at `quarters` is played when eighth pairs swing long-short by `ratio`.

  Each beat's first half is stretched to ratio / (1 + ratio) of the beat and its second
  half squeezed to the rest, so straight eighths become long-short pairs and finer values
  move with them.
  """
  if ratio == 1:
    return float(quarters)
  beat = math.floor(quarters)
  into = float(quarters) - beat
  long = ratio / (1.0 + ratio)
  return beat + (into * 2 * long if into <= 0.5 else long + (into - 0.5) * 2 * (1 - long))


def performance(tune):
  """The notes as played: (onset, length, pitch) in quarter notes, repeats and swing in.

  Onsets count from the first note; a repeated bar is played again with its notes.
  """
  onsets, position = [], tune.pickup
  for quarters in tune.durations:
    onsets.append(position)
    position += quarters
  starts = tune.bar_starts(position)
  by_bar = {}
  for onset, sounding, pitch_value in zip(onsets, tune.sounding, tune.pitches):
    index = notation.bar_index(starts, onset)
    by_bar.setdefault(index, []).append((onset - starts[index], sounding, pitch_value))
  played, clock = [], Fraction(0)
  for index in play_order(tune.marks, len(starts) - 1):
    for into, sounding, pitch_value in by_bar.get(index, []):
      played.append((clock + into, sounding, pitch_value))
    clock += tune.bar_length_at(index)
  origin = swing_time(tune.pickup, tune.swing)
  notes = []
  for start, sounding, pitch_value in played:
    begin = swing_time(start, tune.swing)
    notes.append((begin - origin, swing_time(start + sounding, tune.swing) - begin,
                  pitch_value))
  return notes
