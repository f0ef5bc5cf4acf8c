"""The tune's form in a restyle: bars kept, onsets a score writes, repeated bars repeated.

Every note stays in the bar it had and starts where a score writes an onset
(stylexfer.tokens.beats); repeated bars come back with one rhythm.
"""

import dataclasses

import tensorflow as tf

from stylexfer.serving.sampling import checks
from stylexfer.tokens import beats
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary


_RESERVE = 0.25  # quarter notes kept for each note still to come in a bar, at most
EPS = checks.EPS  # quarter notes: onsets on the grid lie 1/24 apart


@dataclasses.dataclass(frozen=True, eq=False)
class Form:
  """The bars a restyle keeps: bars [B, N], bar_lengths [B, M], pickup [B], push.

  Each note's bar index (never decreasing), each bar's length in quarter notes, the first
  note's onset in its bar, and how far (quarter notes, at most checks.MAX_PUSH) the first
  note of a bar may start before its bar line.
  """
  bars: object
  bar_lengths: object
  pickup: object
  push: object = 0.0

  def as_tensors(self):
    return Form(tf.convert_to_tensor(self.bars, tf.int32),
                tf.convert_to_tensor(self.bar_lengths, tf.float32),
                tf.convert_to_tensor(self.pickup, tf.float32),
                tf.convert_to_tensor(self.push, tf.float32))


def plan_form(relative_pitches, durations, own_quarters, form):
  """What the restyle loop needs to keep the tune's form, per note [B, N].

  `own_quarters` are the melody's own lengths, which may be off the grid or longer than
  its longest value (a held note). Returns a dict: `bar_start`, `bar_end` (quarter notes
  from the start of the first bar), `own_onset`, `own_end` (where the note starts and
  ends in the input), `earliest`, `latest` (where the note may start: inside its bar,
  leaving room for the bar's notes after it, its own onset always included), `first`
  (first note of its bar), `length_ids`, `left_ids` (stylexfer.tokens.metre ids) and
  `copy_from` (the note of an earlier identical bar this note repeats, or -1). `allowed`
  also reads `kept`, the notes a strength below 1 keeps, which restyle.choose_changes adds.
  """
  bars, bar_lengths, pickup, push = form.bars, form.bar_lengths, form.pickup, form.push
  batch, notes = tf.shape(durations)[0], tf.shape(durations)[1]
  num_bars = tf.shape(bar_lengths)[1]
  # Quarter notes in float64: onsets summed over thousands of notes stay exact enough
  # to tell a note on a bar line from one a 24th before it.
  bar_lengths, pickup = tf.cast(bar_lengths, tf.float64), tf.cast(pickup, tf.float64)
  own_quarters = tf.cast(own_quarters, tf.float64)
  starts = tf.concat([tf.zeros([batch, 1], tf.float64), tf.cumsum(bar_lengths, axis=1)], 1)
  bar_start = tf.gather(starts, bars, batch_dims=1)
  bar_end = tf.gather(starts, bars + 1, batch_dims=1)
  left = metre.notes_left(bars)
  first = tf.concat([tf.ones([batch, 1], tf.bool), bars[:, 1:] != bars[:, :-1]], 1)
  # One segment per (melody, bar), for per-bar sums and minima.
  segments = tf.reshape(bars + num_bars * tf.range(batch)[:, None], [-1])
  num_segments = batch * num_bars
  per_bar = lambda op, x: tf.reshape(op(tf.reshape(x, [-1]), segments, num_segments),
                                     [batch, num_bars])
  shortest_value = float(vocabulary.MIN_DURATION)
  # The first note starts `pickup` into its bar, which need not be bar 0.
  own_onsets = (bar_start[:, :1] + pickup[:, None]
                + tf.cumsum(own_quarters, axis=1, exclusive=True))
  # Room kept for each note still to come: the bar's shortest own note, at most a 16th,
  # so the input's own rhythm always fits and a bar never has to end in a rush; at least
  # the grid's shortest value, and no more than lets the bar's notes all fit in it where
  # their own onsets lie elsewhere (room from the pickup on in the first note's bar).
  counts = per_bar(tf.math.unsorted_segment_sum, tf.ones_like(bars))
  room = bar_lengths - tf.one_hot(bars[:, 0], num_bars, dtype=tf.float64) * pickup[:, None]
  most = (room - shortest_value) / tf.cast(tf.maximum(counts - 1, 1), tf.float64)
  shortest = per_bar(tf.math.unsorted_segment_min, own_quarters)
  reserve = tf.gather(tf.minimum(tf.clip_by_value(shortest, shortest_value, _RESERVE), most),
                      bars, batch_dims=1)
  earliest = bar_start - tf.cast(push, tf.float64) * tf.cast(first, tf.float64)
  latest = bar_end - tf.cast(left - 1, tf.float64) * reserve - shortest_value
  # A note whose own onset lies in its bar may always start there (own notes shorter than
  # the grid's shortest value would not fit otherwise).
  own_in_bar = (own_onsets >= bar_start - EPS) & (own_onsets < bar_end - EPS)
  latest = tf.where(own_in_bar, tf.maximum(latest, own_onsets), latest)

  # Repeated bars: an earlier bar with the same notes (pitches relative to the first
  # note, durations, onsets in the bar) and the same length.
  index = tf.broadcast_to(tf.range(notes)[None], [batch, notes])
  first_index = per_bar(tf.math.unsorted_segment_min, index)
  in_bar = tf.cast(index - tf.gather(first_index, bars, batch_dims=1), tf.int64)
  steps = tf.cast(tf.round((own_onsets - bar_start) * 24), tf.int64) % 4096
  key = (tf.cast(relative_pitches, tf.int64) % 1024 + 1024 * (
      tf.cast(durations, tf.int64) + 64 * (steps + 4096 * in_bar)))
  source = earliest_twins(batch, num_bars, counts, [
      per_bar(tf.math.unsorted_segment_sum, key),
      per_bar(tf.math.unsorted_segment_sum, (key % 1_000_003) ** 2),
      tf.cast(counts, tf.int64), tf.cast(tf.round(bar_lengths * 96), tf.int64)])
  note_source = tf.gather(source, bars, batch_dims=1)
  copy_from = tf.where(
      note_source >= 0,
      tf.gather(first_index, tf.maximum(note_source, 0), batch_dims=1)
      + tf.cast(in_bar, tf.int32), -1)
  # Where each note must start: its twin's onset in a repeated bar; for a bar's first note,
  # the first onset of the earliest bar of its class (see first_onset_classes).
  leader = tf.gather(first_onset_classes(source, counts, steps_by_bar(steps, bars, first,
                                                                      num_bars)),
                     bars, batch_dims=1)
  leader_note = tf.gather(first_index, leader, batch_dims=1)
  aim_from = tf.where(first, tf.where(leader < bars, leader_note, -1), copy_from)
  return {
      'bar_start': bar_start, 'bar_end': bar_end, 'earliest': earliest, 'latest': latest,
      'first': first, 'copy_from': copy_from, 'aim_from': aim_from, 'own_onset': own_onsets,
      'own_end': own_onsets + own_quarters,
      'length_ids': metre.bar_length_ids(tf.gather(bar_lengths, bars, batch_dims=1)),
      'left_ids': metre.notes_left_ids(left),
  }


def earliest_twins(batch, num_bars, counts, fingerprints):
  """For every bar [B, M], the earliest bar of its melody with the same `fingerprints`
  (int64 [B, M] each), -1 if none is earlier or it has no notes.

  Rows of equal fingerprints are found with one unique over the (melody, bar) rows, so
  memory grows with the bars, not with their square.
  """
  rows = tf.broadcast_to(tf.range(batch, dtype=tf.int64)[:, None], [batch, num_bars])
  table = tf.reshape(tf.stack([rows] + fingerprints, -1), [-1, 1 + len(fingerprints)])
  _, group = tf.raw_ops.UniqueV2(x=table, axis=tf.constant([0], tf.int64))
  index = tf.range(batch * num_bars)
  earliest = tf.gather(tf.math.unsorted_segment_min(index, group, batch * num_bars), group)
  earliest = tf.reshape(earliest, [batch, num_bars])
  index = tf.reshape(index, [batch, num_bars])
  return tf.where((earliest < index) & (counts > 0),
                  earliest - num_bars * tf.range(batch)[:, None], -1)


def steps_by_bar(steps, bars, first, num_bars):
  """The first note's onset in its bar (24ths) of every bar [B, M]; -1 for an empty bar."""
  batch = tf.shape(bars)[0]
  rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(bars))
  where = tf.boolean_mask(tf.stack([rows, bars], -1), first)
  return tf.tensor_scatter_nd_update(tf.fill([batch, num_bars], tf.constant(-1, tf.int64)),
                                     where, tf.boolean_mask(steps, first))


def first_onset_classes(source, counts, first_steps):
  """For every bar [B, M], the earliest bar whose first onset it must share.

  A repeated bar keeps its twin's rhythm only if it starts where the twin started (its
  twin is in its class) and if the bar after it starts where the bar after the twin did
  (the last note's duration is part of the rhythm): so bar b + 1 and bar source[b] + 1 are
  in one class too. Classes join along both links until nothing changes; a bar without
  notes, or whose first onset in the input differs, stays out.
  """
  batch, num_bars = tf.shape(source)[0], tf.shape(source)[1]
  bars = tf.broadcast_to(tf.range(num_bars)[None], [batch, num_bars])
  rows = tf.broadcast_to(tf.range(batch)[:, None], [batch, num_bars])
  has = source >= 0
  twin = tf.maximum(source, 0)
  after = tf.minimum(bars + 1, num_bars - 1)
  after_twin = tf.minimum(twin + 1, num_bars - 1)
  linked_after = has & (bars + 1 < num_bars) & (twin + 1 < num_bars)
  left = tf.concat([bars, after], 1)
  right = tf.concat([twin, after_twin], 1)
  valid = tf.concat([has, linked_after], 1)
  rows2 = tf.concat([rows, rows], 1)
  notes_in = lambda b: tf.gather(counts, b, batch_dims=1) > 0
  onset_of = lambda b: tf.gather(first_steps, b, batch_dims=1)
  valid &= notes_in(left) & notes_in(right) & tf.equal(onset_of(left), onset_of(right))

  def join(label, _):
    lowest = tf.minimum(tf.gather(label, left, batch_dims=1),
                        tf.gather(label, right, batch_dims=1))
    lowest = tf.where(valid, lowest, num_bars)
    at = lambda b: tf.reshape(tf.stack([rows2, b], -1), [-1, 2])
    joined = tf.tensor_scatter_nd_min(label, at(left), tf.reshape(lowest, [-1]))
    joined = tf.tensor_scatter_nd_min(joined, at(right), tf.reshape(lowest, [-1]))
    return joined, tf.reduce_any(joined != label)

  label, _ = tf.while_loop(lambda _, changed: changed, join, (bars, tf.constant(True)),
                           maximum_iterations=checks.MAX_LENGTH)
  return label


def place_kinds(places):
  """stylexfer.tokens.beats kinds (int32) of onsets `places` quarter notes (float64) after
  their bar lines: beats.place_kinds in the graph, with the loop's tolerance."""
  steps = places * beats.STEPS_PER_BEAT
  rounded = tf.round(steps)
  kinds = tf.gather(tf.constant(beats.KINDS, tf.int32), tf.cast(
      tf.math.floormod(rounded, beats.STEPS_PER_BEAT), tf.int32))
  return tf.where(tf.abs(steps - rounded) < EPS * beats.STEPS_PER_BEAT, kinds,
                  beats.UNWRITTEN)


def allowed(plan, grid, values, onset, t, length, positions, beat, beat_kind):
  """Durations [B, V] that keep the next note in its bar with room for the bar's rest and
  land it where a score writes an onset (stylexfer.tokens.beats), and the window they
  keep to: a dict of `allowed`, `low`, `high` (where note t may end, [B]), `stuck`
  (nothing fits [B]) and `hold` (how long note t lasts then, [B]).

  `values` [B, V] are note t's durations in quarter notes: the grid's, but its own id
  worth its own length. `beat` [B] is where the beat of note t starts, `beat_kind` the
  kind of its notes so far. Where nothing fits, the one duration allowed is the grid's
  nearest to the hold.
  """
  landing = onset[:, None] + values
  last = t + 1 >= length
  following = tf.minimum(t + 1, length - 1)
  # The last note ends inside its bar; any other lands the next one inside the next's.
  low = tf.where(last, onset, plan['earliest'][:, following])
  high = tf.where(last, plan['bar_end'][:, t], plan['latest'][:, following])
  real = grid > 0
  allowed = ((landing >= low[:, None] - EPS) & (landing <= high[:, None] + EPS)
             & real[None])
  # A kept bar after a changed one starts where it did, where it can.
  kept = ((~last) & (~plan['kept'][:, t]) & plan['kept'][:, following]
          & plan['first'][:, following])
  on_own = allowed & kept[:, None] & (
      tf.abs(landing - plan['own_onset'][:, following][:, None]) < EPS)
  allowed = tf.where(tf.reduce_any(on_own, -1, keepdims=True), on_own, allowed)
  # A note of a repeated bar starts where its twin started in the bar repeated, and the
  # first note of a bar where the first of its class started (plan_form).
  source = plan['aim_from'][:, following]
  aims = (~last) & (source >= 0)
  aim = plan['bar_start'][:, following] + row_gather(positions, tf.maximum(source, 0))
  on_aim = allowed & aims[:, None] & (tf.abs(landing - aim[:, None]) < EPS)
  allowed = tf.where(tf.reduce_any(on_aim, -1, keepdims=True), on_aim, allowed)
  # Long values lie on a coarser grid, so a twin's onset may be out of reach of the note
  # before it: one note ahead, land where that onset can be reached in one duration.
  after_next = tf.minimum(t + 2, length - 1)
  source = plan['aim_from'][:, after_next]
  aims = ((t + 2 < length) & (source >= 0) & (source <= t)
          & (plan['aim_from'][:, following] < 0))
  aim = plan['bar_start'][:, after_next] + row_gather(positions, tf.maximum(source, 0))
  needed = aim[:, None, None] - landing[:, :, None] - grid[None, None]
  reachable = tf.reduce_any((tf.abs(needed) < EPS) & real[None, None], -1)
  ready = allowed & aims[:, None] & reachable
  allowed = tf.where(tf.reduce_any(ready, -1, keepdims=True), ready, allowed)
  # Where a score writes the next onset: on a written place, and in a beat of one kind
  # with the notes of note t's beat before it. Where no landing that fits is written (a
  # bar of the input's 64ths, a twin's onset off the places), the bar comes first.
  bar_line = plan['bar_start'][:, following][:, None]
  lands_in_beat = tf.abs(bar_line + tf.floor(landing - bar_line + EPS)
                         - beat[:, None]) < EPS
  kinds = place_kinds(landing - bar_line) | tf.where(lands_in_beat, beat_kind[:, None],
                                                     beats.BOTH)
  writes = allowed & (kinds != beats.UNWRITTEN)
  allowed = tf.where(tf.reduce_any(writes, -1, keepdims=True), writes, allowed)
  # Nothing fits (the next note's bar is further than the grid's longest value, say):
  # note t is held to where it ended in the input, so that the next note starts where it
  # did, or else to the nearest end in the window; the head hears the value nearest to
  # the hold. The window always lies after the onset (the bars' room is checked,
  # checks.check_form), so the hold is positive.
  stuck = ~tf.reduce_any(allowed, -1)
  earliest_end = tf.maximum(low, onset + float(vocabulary.MIN_DURATION))
  hold = tf.minimum(tf.maximum(plan['own_end'][:, t], earliest_end), high) - onset
  gap = tf.where(real[None], tf.abs(hold[:, None] - grid[None]), tf.float64.max)
  nearest = tf.one_hot(tf.argmin(gap, -1, output_type=tf.int32), tf.shape(grid)[0],
                       on_value=True, off_value=False)
  return {'allowed': tf.where(stuck[:, None], nearest, allowed), 'low': low, 'high': high,
          'stuck': stuck, 'hold': hold}


def row_gather(buffer, rows):
  """buffer [N, B] at row rows[b] of each column b (rows >= 0)."""
  columns = tf.range(tf.shape(rows)[0])
  return tf.gather_nd(buffer, tf.stack([rows, columns], 1))
