"""Does a new rhythm keep the tune's form? Notes in their bars, repeated bars, short notes.

Functions of plain data, so that a case can be worked out by hand:

  durations      the (new) inter-onset durations, quarter notes
  bars           each note's 0-based bar index in the input
  bar_lengths    quarter notes of every bar, by bar index
  first_position the first note's onset within its bar (a pickup)

Bar b starts at sum(bar_lengths[:b]); the first note starts at its bar's start plus
first_position and each later one `durations` after the one before.
"""

import fractions

import numpy as np

from stylexfer.tokens import beats
from stylexfer.tokens import vocabulary

# Onsets are summed in floats; this is far below the grid's 1/24 of a quarter.
_EPSILON = 1e-6
SIXTEENTH = fractions.Fraction(1, 4)


def onsets(durations, bars, first_position, bar_lengths):
  """Each note's onset (float quarter notes) from the start of bar 0."""
  starts = np.concatenate([[0.0], np.cumsum(np.asarray(bar_lengths, float))])
  first = starts[bars[0]] + float(first_position)
  return first + np.concatenate([[0.0], np.cumsum(np.asarray(durations, float))[:-1]])


def in_bars(durations, bars, bar_lengths, first_position):
  """Per note, whether its onset falls in [start, end) of the bar it had in the input."""
  bars = np.asarray(bars, int)
  lengths = np.asarray(bar_lengths, float)
  starts = np.concatenate([[0.0], np.cumsum(lengths)])
  times = onsets(durations, bars, first_position, bar_lengths)
  return (times >= starts[bars] - _EPSILON) & (times < starts[bars] + lengths[bars] - _EPSILON)


def notes_in_bars(durations, bars, bar_lengths, first_position):
  """Share of notes whose new onset falls inside the bar they had in the input.

  A note is in its bar when its onset lies in [bar start, bar end); 1.0 means the new
  rhythm keeps every bar line where it was.
  """
  if not len(durations):
    return float('nan')
  return float(np.mean(in_bars(durations, bars, bar_lengths, first_position)))


def repeated_bars(pitches, durations, bars, bar_lengths, first_position):
  """{bar index: the earlier bar it repeats} for bars whose notes repeat an earlier bar's.

  Two bars are the same when they hold the same pitches with the same durations at the
  same positions in the bar (a bar of the same notes shifted by a beat is another bar).
  """
  positions = _positions(durations, bars, bar_lengths, first_position)
  contents = {}
  for pitch, duration, bar, position in zip(pitches, durations, bars, positions):
    contents.setdefault(int(bar), []).append((int(pitch), fractions.Fraction(duration),
                                              position))
  first_of, repeats = {}, {}
  for bar in sorted(contents):
    key = tuple(contents[bar])
    if key in first_of:
      repeats[bar] = first_of[key]
    else:
      first_of[key] = bar
  return repeats


def repeated_bar_rhythms(pitches, input_durations, new_durations, bars, bar_lengths,
                         first_position):
  """(share, count): of the input's repeated bars, the share whose new rhythm repeats too.

  A repeated bar holds the same pitches and durations as an earlier bar of the input; its
  new rhythm repeats when its notes' onset positions within the bar and their new
  durations equal those of the earlier bar. Share is nan when no bar repeats.
  """
  repeats = repeated_bars(pitches, input_durations, bars, bar_lengths, first_position)
  if not repeats:
    return float('nan'), 0
  positions = _positions(new_durations, bars, bar_lengths, first_position)
  rhythm = {}
  for bar, position, duration in zip(bars, positions, new_durations):
    rhythm.setdefault(int(bar), []).append((position, fractions.Fraction(duration)))
  kept = sum(rhythm[bar] == rhythm[earlier] for bar, earlier in repeats.items())
  return kept / len(repeats), len(repeats)


def _positions(durations, bars, bar_lengths, first_position):
  """Each onset relative to the start of its input bar, rounded to compare as equal."""
  bars = np.asarray(bars, int)
  starts = np.concatenate([[0.0], np.cumsum(np.asarray(bar_lengths, float))])
  times = onsets(durations, bars, first_position, bar_lengths)
  return [round(float(t), 6) for t in times - starts[bars]]


def short_note_runs(durations, shorter_than=SIXTEENTH, min_run=3):
  """(share, count): of the notes shorter than `shorter_than`, the share in runs of min_run+.

  Real players play 32nds and quick triplets in runs; a lone very short note between
  longer ones is a stumble. Share is nan when no note is that short.
  """
  short = np.array([fractions.Fraction(d) < shorter_than for d in durations], bool)
  count = int(short.sum())
  if not count:
    return float('nan'), 0
  in_runs, run = 0, 0
  for is_short in list(short) + [False]:
    if is_short:
      run += 1
    else:
      in_runs += run if run >= min_run else 0
      run = 0
  return in_runs / count, count


def places_in_bars(durations, bars, bar_lengths, first_position):
  """(place, bar) of every onset [N]: quarter notes after the line of the bar it falls in
  under this rhythm, and that bar's index. Past the input's last bar, bars of the last
  bar's length go on."""
  times = onsets(durations, bars, first_position, bar_lengths)
  lengths = np.asarray(bar_lengths, float)
  extra = max(0, int(np.ceil((times[-1] + _EPSILON - lengths.sum()) / lengths[-1])) + 1)
  starts = np.concatenate([[0.0], np.cumsum(np.concatenate([lengths,
                                                            np.full(extra, lengths[-1])]))])
  index = np.searchsorted(starts, times + _EPSILON, side='right') - 1
  return times - starts[index], index


def written_onsets(durations, bars, bar_lengths, first_position):
  """Share of notes whose onset a score writes (stylexfer.tokens.beats.written), each in
  the bar it falls in (places_in_bars); nan for no notes."""
  if not len(durations):
    return float('nan')
  return float(np.mean(beats.written(*places_in_bars(durations, bars, bar_lengths,
                                                     first_position))))


def changed_durations(input_durations, new_durations):
  """Share of notes whose duration differs from the input's, both snapped to the grid."""
  if not len(input_durations):
    return float('nan')
  snap = vocabulary.snap_duration
  return float(np.mean([snap(a) != snap(b) for a, b in zip(input_durations, new_durations)]))


def changed_by_quarter(input_durations, new_durations):
  """Share of changed durations in each quarter of the tune (by note count): whether a
  restyle spreads its changes or rewrites some stretch and keeps the rest."""
  snap = vocabulary.snap_duration
  changed = np.array([snap(a) != snap(b) for a, b in zip(input_durations, new_durations)])
  return [float(part.mean()) if len(part) else float('nan')
          for part in np.array_split(changed, 4)]


def measure(rendition):
  """Structure figures of one Rendition, against its `original` rhythm where it has one.

  {'notes', 'in_bars', 'repeated_bars', 'repeated_kept', 'short_notes', 'short_in_runs',
  'written', 'changed'}; shares are nan where they do not apply (a real melody changes
  nothing).
  """
  layout = (rendition.bars, rendition.bar_lengths, rendition.first_position)
  original = rendition.durations if rendition.original is None else rendition.original
  repeated_kept, repeated = repeated_bar_rhythms(
      rendition.pitches, original, rendition.durations, *layout)
  short_in_runs, short = short_note_runs(rendition.durations)
  return {'notes': len(rendition), 'in_bars': notes_in_bars(rendition.durations, *layout),
          'repeated_bars': repeated, 'repeated_kept': repeated_kept,
          'short_notes': short, 'short_in_runs': short_in_runs,
          'written': written_onsets(rendition.durations, *layout),
          'changed': (float('nan') if rendition.original is None else
                      changed_durations(rendition.original, rendition.durations))}


def summarize(measures):
  """Figures of many renditions pooled: note-, bar- and short-note-weighted shares."""
  def pooled(share, weight):
    total = sum(m[weight] for m in measures if m[weight] and not np.isnan(m[share]))
    if not total:
      return float('nan')
    return sum(m[share] * m[weight] for m in measures
               if m[weight] and not np.isnan(m[share])) / total

  return {'melodies': len(measures), 'notes': sum(m['notes'] for m in measures),
          'in_bars': pooled('in_bars', 'notes'), 'written': pooled('written', 'notes'),
          'changed': pooled('changed', 'notes'),
          'repeated_bars': sum(m['repeated_bars'] for m in measures),
          'repeated_kept': pooled('repeated_kept', 'repeated_bars'),
          'short_notes': sum(m['short_notes'] for m in measures),
          'short_in_runs': pooled('short_in_runs', 'short_notes')}
