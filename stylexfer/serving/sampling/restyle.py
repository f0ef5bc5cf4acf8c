"""Restyling: a melody's intervals kept, new durations drawn from a blend of two experts.

At every note the duration is drawn from a blend of the duration head's genre and the
melody's own duration: log p = s log p_genre + (1 - s) log q_own, s the strength. With a
form (form.Form) every note keeps its bar, on a place a score writes.
"""

import functools

import tensorflow as tf

from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import heads
from stylexfer.tokens import beats
from stylexfer.tokens import metre
from stylexfer.tokens import vocabulary


# Strength blends two experts at every note: log p = s log p_genre + (1 - s) log q_own.
_OWN_PENALTY = 4.0  # nats q_own takes for leaving the own duration at all
_OWN_SLOPE = 4.0    # and per octave further from it


def own_log_probs(own_ids, own_quarters, grid):
  """log q_own [B, V]: the melody's own rhythm as an expert, peaked on each own duration.

  0 on the own duration's id (worth the note's own length, on the grid or not);
  elsewhere a penalty for leaving it plus a slope per octave of distance, so that at
  middling strengths the genre pulls towards near values first.
  """
  grid, own_quarters = tf.cast(grid, tf.float32), tf.cast(own_quarters, tf.float32)
  safe = tf.maximum(grid, 1e-6)[None]
  octaves = tf.abs(tf.math.log(safe / own_quarters[:, None])) / tf.math.log(2.0)
  same = tf.range(tf.shape(grid)[0])[None] == own_ids[:, None]
  return tf.where(same, 0.0, -(_OWN_PENALTY + _OWN_SLOPE * octaves))


def note_values(grid, own_ids, own_quarters):
  """Each id's length in quarter notes for one note [B, V]: the grid's, but the note's
  own id worth its own length, which may lie off the grid or past its longest value (a
  held note): a note that keeps its duration keeps its length, and its bar its form."""
  own = tf.range(tf.shape(grid)[0])[None] == own_ids[:, None]
  return tf.where(own, own_quarters[:, None], grid[None])


def listen(duration_head, intervals, durations, heard_condition):
  """The duration head's state after hearing a melody, and that melody's last duration.

  The head reads the melody teacher forced, as in training. Restyling from this state
  instead of silence carries the melody's rhythmic habits into the new rhythm: the way to
  restyle "like" one particular target melody rather than like the genre as a whole.
  Every input is known, so layer 0's input projection is summed for all notes at once;
  `heard_condition` is heads.condition of the style and tempo asked for.
  """
  batch_size, length = tf.shape(durations)[0], tf.shape(durations)[1]
  start = tf.fill([batch_size, 1], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start, intervals], axis=1))
  previous = tf.transpose(tf.concat([start, durations[:, :-1]], axis=1))
  tables = duration_head.tables()
  no_metre = tf.zeros_like(previous)
  heard = ((heads.known_inputs(tables, next_intervals, no_metre, no_metre) + heard_condition)
           + heads.drawn_inputs(tables, previous, no_metre))

  def body(t, state):
    return t + 1, duration_head.cell(heard[t], state)[1]

  _, state = tf.while_loop(
      lambda t, _: t < length, body,
      (tf.constant(0), tf.zeros([batch_size, duration_head.state_size])),
      maximum_iterations=checks.MAX_LENGTH)
  return state, durations[:, -1]


def restyle(duration_head, intervals, durations, controls, interval_values, duration_values,
            form=None, like=None, compiled=False, calibration=None, lengths=None,
            guidance=0.0):
  """New durations for fixed intervals [B, N-1] from a duration head: (ids [B, N], their
  lengths [B, N] in quarter notes, float64).

  A note that changes draws its duration from the head's genre; another from a blend of
  the genre and its own duration in `durations` [B, N] (below); strength 0 gives the
  melody back (with a form, each note whose own length keeps the next note in its bar),
  1 the genre's rhythm. The head hears what was chosen, and the style and tempo of
  `controls`. With `form` (a form.Form) every
  note stays in its bar (the first note of a bar may start up to `form.push` quarter
  notes early) on a place a score writes where one fits (stylexfer.tokens.beats), held
  where no value of the grid fits (form.allowed), the head hears each note's metre, and bars
  that repeat an earlier bar take its rhythm. Without it the rhythm is drawn free, as from
  a head that hears no bars. With a target melody (`like`: intervals [B, C-1], durations
  [B, C]) the head first listens to it. `compiled` runs the loop under XLA. `lengths`
  [B, N] are the notes' own lengths (default: their ids' values), which a note keeps
  with its own id: off the grid, or held past its longest value.

  Strength has two parts, which a genre's `calibration` (strength_map, blend_map: values
  at evenly spaced strengths 0 .. 1, stylexfer.tokens.traits) sets: the share of bars (of
  notes without a form) that take the genre's rhythm, spread evenly over the tune by a
  low-discrepancy sequence that the seed shifts, the bars chosen at a strength being among
  those chosen at every higher one; and the weight of the genre in the other notes' blend
  with their own durations (0: their own duration, wherever it fits). Without a
  calibration the share is the strength and the other notes keep their own.

  `guidance` (the genre's, stylexfer.tokens.traits) pushes the rhythm of a style asked
  for away from the head's rhythm of any style (heads.guided); 0 leaves the head's own.
  """
  intervals = tf.convert_to_tensor(intervals, tf.int32)
  durations = tf.convert_to_tensor(durations, tf.int32)
  strength = tf.convert_to_tensor(controls.strength, tf.float32)
  request = (checks.check_controls(controls.temperature, controls.top_p)
             + checks.check_strength(strength) + checks.check_melody(intervals, durations))
  # Every input behind the checks, made once: a request's graph holds each assertion once.
  grid = tf.cast(duration_values, tf.float64)
  if lengths is None:
    # Clipped: the ids are checked after this, and refused there if out of range.
    lengths = tf.gather(grid, tf.clip_by_value(durations, 0, tf.shape(grid)[0] - 1))
  gated = {'intervals': intervals, 'durations': durations,
           'lengths': tf.cast(lengths, tf.float64)}
  if form is not None:
    form = form.as_tensors()
    gated.update(bars=form.bars, bar_lengths=form.bar_lengths, pickup=form.pickup)
    request += checks.check_form(durations, form)
  if like is not None:
    gated.update(like_intervals=tf.convert_to_tensor(like[0], tf.int32),
                 like_durations=tf.convert_to_tensor(like[1], tf.int32))
    request += checks.check_like(durations, gated['like_intervals'], gated['like_durations'])
  gated = dict(zip(gated, checks.after(request, *gated.values())))
  intervals, durations = gated['intervals'], gated['durations']
  batch_size = tf.shape(durations)[0]
  own_quarters = gated['lengths']
  plan = None
  onset = tf.zeros([batch_size], tf.float64)
  if form is not None:
    plan = form_lib.plan_form(
        relative_pitches(intervals, interval_values), durations, own_quarters,
        form_lib.Form(gated['bars'], gated['bar_lengths'], gated['pickup'], form.push))
    onset = plan['own_onset'][:, 0]
  start = tf.fill([batch_size], vocabulary.START)
  tables = duration_head.tables()
  heard_condition = heads.request_condition(tables, controls)
  if like is None:
    state, previous = tf.zeros([batch_size, duration_head.state_size]), start
  else:
    state, previous = listen(duration_head, gated['like_intervals'], gated['like_durations'],
                             heard_condition)
  known_inputs = _known(tables, intervals, plan)
  known = known_inputs + heard_condition
  guide = None
  if guidance:
    # A second stream of the head, hearing any style: rows B.. of the state.
    unstyled = heads.unstyled_condition(tables, controls)
    weight = heads.guidance_weight(guidance, controls)
    guide = (known_inputs + unstyled, weight)
    unstyled_state = state
    if like is not None:
      # Heard again without the style only where a style is asked: for any style the
      # second stream is never stepped (heads.guided), and would have heard the same.
      unstyled_state = tf.cond(weight > 0, lambda: listen(
          duration_head, gated['like_intervals'], gated['like_durations'], unstyled)[0],
                               lambda: state)
    state = tf.concat([state, unstyled_state], 0)
  loop = _compiled_restyle_loop if compiled else _restyle_loop
  key = draws.seed_key(controls.seed)
  strength_map, blend_map = calibration or ((0.0, 1.0), (0.0, 0.0))
  plan, changed = choose_changes(calibrated(strength, strength_map), durations,
                                 gated.get('bars'), plan, key)
  draw = (strength, calibrated(strength, blend_map), changed, controls.temperature,
          controls.top_p, key)
  chosen, quarters = loop(duration_head.cell, tables, known, plan,
                          (grid, durations, own_quarters), draw, (onset, previous, state),
                          guide)
  return tf.transpose(chosen), tf.transpose(quarters)


# The golden ratio's fractional part: k * _GOLDEN mod 1 spreads any run of k evenly over
# [0, 1), so every stretch of a tune gets close to the tune's share of changed bars.
_GOLDEN = 0.6180339887498949


def choose_changes(share, durations, bars, plan, key):
  """The notes that take the genre's rhythm at `share`: (the plan with its `kept` notes,
  None without a form; the notes that change [N, B]).

  The units chosen are bars, a repeated bar going with the bar it repeats, or notes
  without a form.
  """
  if plan is None:
    units = tf.broadcast_to(tf.range(tf.shape(durations)[1])[None], tf.shape(durations))
  else:
    twin = plan['copy_from']
    units = tf.where(twin >= 0, tf.gather(bars, tf.maximum(twin, 0), batch_dims=1), bars)
  changing = changed_notes(share, units, key)
  if plan is not None:
    plan = dict(plan, kept=~changing)
  return plan, tf.transpose(changing)


def changed_notes(share, units, key):
  """Which notes [B, N] (bool) take the genre's rhythm at this share of the units.

  `units` [B, N] is each note's bar (or its own index): unit u changes when
  (offset + (u + 1) * golden ratio) mod 1 < share, the offset a draw of the request's seed
  (one per melody), so a share of 0 changes nothing, 1 everything, and a unit changed at
  one share is changed at every higher one.
  """
  batch_size = tf.shape(units)[0]
  offset = tf.random.stateless_uniform([batch_size], draws.note_seed(None, 0, draws.KEEP, key),
                                       dtype=tf.float64, alg=draws.ALG)
  phase = tf.math.floormod(offset[:, None] + tf.cast(units + 1, tf.float64) * _GOLDEN, 1.0)
  return phase < tf.cast(share, tf.float64)


def calibrated(strength, points):
  """A part of the strength: `points` (values at evenly spaced strengths 0 .. 1) read
  between."""
  steps = len(points) - 1
  points = tf.constant(points, tf.float32)
  place = tf.clip_by_value(strength, 0.0, 1.0) * steps
  low = tf.minimum(tf.cast(tf.floor(place), tf.int32), steps - 1)
  part = place - tf.cast(low, tf.float32)
  return points[low] * (1.0 - part) + points[low + 1] * part


def relative_pitches(intervals, interval_values):
  """Each note's pitch [B, N] in semitones from the melody's first note."""
  batch_size = tf.shape(intervals)[0]
  return tf.concat([tf.zeros([batch_size, 1], tf.int32), tf.cumsum(
      tf.gather(interval_values, intervals), axis=1)], 1)


def _known(tables, intervals, plan):
  """What the head hears of every note that is known before the loop (its interval, its
  bar's length and notes left), summed for all notes at once: [N, B, G]."""
  start = tf.fill([tf.shape(intervals)[0], 1], vocabulary.START)
  next_intervals = tf.transpose(tf.concat([start, intervals], axis=1))
  if plan is None:
    return heads.known_inputs(tables, next_intervals, tf.zeros_like(next_intervals),
                              tf.zeros_like(next_intervals))
  return heads.known_inputs(tables, next_intervals, tf.transpose(plan['length_ids']),
                            tf.transpose(plan['left_ids']))


def _restyle_loop(cell, tables, known, plan, own, draw, start, guide=None, compiled=False):
  """restyle's loop: the durations [N, B] and their lengths [N, B].

  `own` is (grid, the melody's duration ids, their quarter notes), `draw` (strength, the
  other notes' blend weight, the notes that change [N, B], temperature, top_p, the
  request's seed_key), `start` (onset, previous duration, state), `guide` None or (what
  the head knows of each note hearing any style [N, B, G], the guidance weight), the
  state then holding both streams (heads.guided).
  """
  length, batch_size = tf.shape(own[1])[1], tf.shape(own[1])[0]

  def step(t, previous, metre_ids, state):
    drawn = heads.drawn_inputs(tables, previous, metre_ids[:, 0])
    if guide is None:
      return cell(known[t] + drawn, state)
    unstyled, weight = guide
    return heads.guided(cell, known[t] + drawn, unstyled[t] + drawn, weight, state)

  def body(t, *carried):
    return (t + 1,) + restyle_step(step, plan, own, draw, t, carried, compiled)

  loop = tf.while_loop(
      lambda t, *_: t < length, body,
      (tf.constant(0), *start, tf.zeros([length, batch_size], tf.int32),
       tf.zeros([length, batch_size], tf.float64), tf.zeros([batch_size], tf.int32),
       tf.zeros([length, batch_size], tf.float64)),
      maximum_iterations=checks.MAX_LENGTH)
  return loop[4], loop[7]


_compiled_restyle_loop = tf.function(functools.partial(_restyle_loop, compiled=True),
                                     jit_compile=True)


def restyle_step(step, plan, own, draw, t, carried, compiled=False):
  """One note of `restyle`: (onset, previous, state, chosen, positions, beat_kind,
  lengths) -> the same, next.

  `step(t, previous_duration, metre_ids, state)` -> (logits, state) is the duration head
  at note t, which knows the note's interval. `beat_kind` is the stylexfer.tokens.beats kind
  of the notes before t in the beat note t starts in.
  """
  onset, previous, state, chosen, positions, beat_kind, lengths = carried
  grid, own_ids, own_quarters = own
  strength, blend, changed, temperature, top_p, key = draw
  batch_size = tf.shape(onset)[0]
  length = tf.shape(own_ids)[1]
  if plan is None:
    position = onset
    metre_ids = heads.unknown_metre(batch_size)
  else:
    position = onset - plan['bar_start'][:, t]
    metre_ids = tf.stack([metre.position_ids(position), plan['length_ids'][:, t],
                          plan['left_ids'][:, t]], 1)
  logits, state = step(t, previous, metre_ids, state)
  # A changing note draws from the genre; another from the blend of the genre and its own
  # duration's expert (with no genre in it, its own duration or, under the bars' mask, the
  # nearest that fits).
  genre = tf.nn.log_softmax(logits)
  own = own_log_probs(own_ids[:, t], own_quarters[:, t], grid)
  blended = tf.where(changed[t][:, None], genre, blend * genre + (1.0 - blend) * own)
  values = note_values(grid, own_ids[:, t], own_quarters[:, t])
  allowed = None
  if plan is not None:
    beat_kind = beat_kind | form_lib.place_kinds(position)
    beat = plan['bar_start'][:, t] + tf.floor(position + form_lib.EPS)
    fit = form_lib.allowed(plan, grid, values, onset, t, length, positions, beat, beat_kind)
    allowed = fit['allowed']
  seed = draws.note_seed(None, t, draws.DURATION, key)
  drawn = draws.sample(blended, temperature, top_p, seed, allowed, compiled)
  duration = drawn
  if plan is not None:
    # The last note of a repeated bar (no aim for the note after it) takes the duration
    # its twin took, where that fits.
    source = plan['copy_from'][:, t]
    copied = form_lib.row_gather(chosen, tf.maximum(source, 0))
    fits = tf.gather(allowed, copied, batch_dims=1)
    duration = tf.where((source >= 0) & fits, copied, duration)
  quarters = tf.gather(values, duration, batch_dims=1)
  # Strength 0 gives the input back, each note as it was where that keeps the form: all
  # of a melody whose own onsets lie in its bars.
  keep = tf.fill([batch_size], strength <= 0.0)
  if plan is not None:
    # Nothing fitted: the note is held (form.allowed).
    quarters = tf.where(fit['stuck'], fit['hold'], quarters)
    own_end = onset + own_quarters[:, t]
    keep &= ((t + 1 >= length)
             | ((own_end >= fit['low'] - form_lib.EPS) & (own_end <= fit['high'] + form_lib.EPS)))
  duration = tf.where(keep, own_ids[:, t], duration)
  quarters = tf.where(keep, own_quarters[:, t], quarters)
  chosen = tf.tensor_scatter_nd_update(chosen, [[t]], duration[None])
  positions = tf.tensor_scatter_nd_update(positions, [[t]], position[None])
  lengths = tf.tensor_scatter_nd_update(lengths, [[t]], quarters[None])
  onset = onset + quarters
  if plan is not None:
    following = tf.minimum(t + 1, length - 1)
    next_beat = plan['bar_start'][:, following] + tf.floor(
        onset - plan['bar_start'][:, following] + form_lib.EPS)
    beat_kind = tf.where(tf.abs(next_beat - beat) < form_lib.EPS, beat_kind, beats.BOTH)
  return onset, duration, state, chosen, positions, beat_kind, lengths
