"""Calling exported SavedModels from Python: a melody in, its new rhythm out.

The restyle and generate programs, the evaluation and the notebook all ask the models
through these functions, so the signatures' inputs are assembled in one place. Durations
come back as Fractions on the vocabulary's grid, or the melody's own where a note kept a
length the grid lacks (a held note); sounding lengths as Fractions of 1/48.
"""

import fractions

import numpy as np
import tensorflow as tf

from stylexfer.dataset import windows
from stylexfer.reading import lead_sheet
from stylexfer.reading import melody as melody_lib
from stylexfer.tokens import metre
from stylexfer.tokens import traits as traits_lib
from stylexfer.tokens import vocabulary

# Where generated pitches are folded by octaves: an untrained model can wander out of
# the range an instrument plays.
LOWEST, HIGHEST = 36, 96


class MissingSignatureError(ValueError):
  """A SavedModel exported by an older stylexfer, without the signature asked for."""


def _notes(pitches, durations):
  return (tf.constant([list(pitches)], tf.int32),
          tf.constant([[float(q) for q in durations]], tf.float32))


def _heard(style, tempo):
  """The style and tempo inputs of a signature that draws ('' any style, 0 unknown tempo)."""
  return dict(style=tf.constant(style, tf.string), tempo=tf.constant(tempo, tf.float32))


def _sounding(quarter_lengths):
  return [fractions.Fraction(float(q)).limit_denominator(48) for q in quarter_lengths]


def restyle_durations(saved_model, pitches, durations, strength=1.0, temperature=1.0,
                      top_p=1.0, seed=0, like=None, form=None, push=0.0, style='',
                      tempo=0.0):
  """New inter-onset durations (Fractions) and sounding lengths from a model.

  `form` is (bars, bar_lengths, pickup) as `Melody.form()` gives it: every note stays in its
  bar and repeated bars keep one rhythm; without it the rhythm is drawn free. With
  `like`, a (pitches, durations) melody, the model listens to it first, so the new
  rhythm leans towards that melody's own. `style` is one of the model's styles ('' any)
  and `tempo` the tempo in quarter notes a minute (0 unknown) the rhythm is drawn for.
  """
  pitches, quarter_lengths = _notes(pitches, durations)
  inputs = dict(pitches=pitches, quarter_lengths=quarter_lengths,
                strength=tf.constant(strength, tf.float32),
                temperature=tf.constant(temperature, tf.float32),
                top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64),
                **_heard(style, tempo))
  name = 'restyle_notes'
  if form is not None:
    bars, bar_lengths, pickup = form
    inputs.update(bars=tf.constant([bars], tf.int32),
                  bar_lengths=tf.constant([bar_lengths], tf.float32),
                  pickup=tf.constant([pickup], tf.float32),
                  push=tf.constant(push, tf.float32))
  if like is not None:
    name += '_like'
    inputs['like_pitches'], inputs['like_quarter_lengths'] = _notes(*like)
  if form is None:
    name += '_free'
  if name not in saved_model.signatures:
    raise MissingSignatureError(f'the model has no {name} signature (export it again '
                                'with this version of stylexfer)')
  outputs = saved_model.signatures[name](**inputs)
  own = quarter_lengths[0].numpy()
  return ([_duration(new, old, mine) for new, old, mine
           in zip(outputs['quarter_lengths'][0].numpy(), durations, own)],
          _sounding(outputs['sounding_lengths'][0].numpy()))


def _duration(new, old, mine):
  """A restyled length as a Fraction: the note's own where it kept it (a held note's, a
  quintuplet's), else on 24ths of a quarter, the grid's and a hold's (a note held to
  where the next one started, past the grid's longest value) alike."""
  if new == mine:
    return melody_lib.fraction(old)
  return fractions.Fraction(int(round(float(new) * 24)), 24)


def fold_pitches(pitches, lowest=LOWEST, highest=HIGHEST):
  """Pitches moved by octaves into [lowest, highest]."""
  folded = []
  for pitch in pitches:
    pitch = int(pitch)
    while pitch < lowest:
      pitch += 12
    while pitch > highest:
      pitch -= 12
    folded.append(pitch)
  return folded


def generated_arrays(saved_model, count, length, first_pitch, temperature=1.0, top_p=1.0,
                     seed=0, style='', tempo=0.0):
  """A model's generate_notes outputs as NumPy arrays [count, length]: `pitches`,
  `quarter_lengths`, `sounding_lengths`, as the signature gives them."""
  outputs = saved_model.signatures['generate_notes'](
      batch_size=tf.constant(count, tf.int32), length=tf.constant(length, tf.int32),
      first_pitch=tf.constant(first_pitch, tf.int32),
      temperature=tf.constant(temperature, tf.float32),
      top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64),
      **_heard(style, tempo))
  return {name: value.numpy() for name, value in outputs.items()}


def generate_notes(saved_model, count, length, first_pitch, temperature=1.0, top_p=1.0,
                   seed=0, style='', tempo=0.0):
  """`count` melodies from a model's generate_notes: [(pitches, durations, sounding)].

  Pitches are folded into LOWEST..HIGHEST, durations are Fractions on the grid.
  """
  outputs = generated_arrays(saved_model, count, length, first_pitch, temperature, top_p,
                             seed, style, tempo)
  return [(fold_pitches(outputs['pitches'][n]),
           [vocabulary.snap_duration(q) for q in outputs['quarter_lengths'][n]],
           _sounding(outputs['sounding_lengths'][n])) for n in range(count)]


def drawn_melodies(pitch_model, count, length, first_pitch, compound_meter, temperature=1.0,
                   top_p=1.0, seed=0, time_signature=None, tempo=0.0):
  """`count` Melodies as a model's generate_notes draws them (of any style, at `tempo`),
  laid into bars.

  The time signature is `time_signature`, else chosen from the drawn rhythm for
  `compound_meter` (choose_time_signature); a tune starts on a downbeat and ends at a bar
  line (its last bar whole).
  """
  melodies = []
  for pitches, durations, _ in generate_notes(pitch_model, count, length, first_pitch,
                                              temperature, top_p, seed, tempo=tempo):
    signature = time_signature or choose_time_signature(compound_meter, durations)
    drawn = melody_lib.Melody.from_durations(pitches, durations, signature)
    bar = melody_lib.signature_length(signature)
    drawn.end = -(-drawn.end // bar) * bar
    melodies.append(drawn)
  return melodies


def rhythm_in_bars(rhythm_model, drawn, temperature=1.0, top_p=1.0, seed=0, title='',
                   style='', tempo=0.0):
  """Drawn melodies with every duration redrawn by a rhythm model in their bars.

  Strength 1, seed + n for melody n, as a restyle: every note keeps the bar the drawn
  rhythm put it in and starts where a score writes an onset. Melody n is titled
  '<title> <seed>-<n + 1>'. The rhythm is drawn in `style` at `tempo`.
  """
  melodies = []
  for n, melody in enumerate(drawn):
    new, sounding = restyle_durations(rhythm_model, melody.pitches, melody.durations(), 1.0,
                                      temperature, top_p, seed + n, form=melody.form(),
                                      style=style, tempo=tempo)
    written = melody.with_rhythm(new, sounding, title=f'{title} {seed}-{n + 1}'.strip())
    # The key signature is chosen from the melody as written, as for a merged model's
    # melodies (generated_in_bars), whose drawn rhythm never leaves the graph.
    written.key = lead_sheet.key_for(written.pitches, written.durations())
    melodies.append(written)
  return melodies


def generated_in_bars(merged_model, count, length, first_pitch, temperature=1.0, top_p=1.0,
                      seed=0, title='', style='', tempo=0.0):
  """`count` Melodies from a merged SavedModel's generate_notes, which draws them in its
  graph as generate_melodies does with the two genres' models: the same melodies for
  the same seed."""
  outputs = merged_model.signatures['generate_notes'](
      batch_size=tf.constant(count, tf.int32), length=tf.constant(length, tf.int32),
      first_pitch=tf.constant(first_pitch, tf.int32),
      temperature=tf.constant(temperature, tf.float32),
      top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64),
      **_heard(style, tempo))
  melodies = []
  for n in range(count):
    melody = melody_lib.Melody.from_durations(
        outputs['pitches'][n].numpy(),
        # On the grid but the last, which lasts to the bar line.
        [melody_lib.fraction(q) for q in outputs['quarter_lengths'][n].numpy()],
        outputs['time_signatures'][n].numpy().decode(), title=f'{title} {seed}-{n + 1}'.strip(),
        sounding=_sounding(outputs['sounding_lengths'][n].numpy()))
    melody.key = lead_sheet.key_for(melody.pitches, melody.durations())
    melodies.append(melody)
  return melodies


def generate_melodies(pitch_model, rhythm_model, count, length, first_pitch=None,
                      temperature=1.0, top_p=1.0, seed=0, time_signature=None, title='',
                      style='', tempo=0.0):
  """`count` new Melodies: the pitch model's tones, the rhythm model's rhythm, in bars.

  The pitch model draws tones and a rhythm (drawn_melodies), from `first_pitch` (default
  its genre's); the rhythm model, the same or another genre's, redraws the rhythm within
  the drawn bars (rhythm_in_bars), in the time signatures its genre writes, in `style`
  (one of the rhythm model's; '' any) at `tempo` (quarter notes a minute; 0 unknown).
  """
  if first_pitch is None:
    first_pitch = traits_of(pitch_model).first_pitch
  drawn = drawn_melodies(pitch_model, count, length, first_pitch,
                         traits_of(rhythm_model).compound_meter, temperature, top_p, seed,
                         time_signature, tempo)
  return rhythm_in_bars(rhythm_model, drawn, temperature, top_p, seed, title, style, tempo)


def choose_time_signature(compound_meter, durations):
  """'4/4' for a genre that writes no compound time; else '6/8' or '4/4' by the onsets.

  6/8 when the notes' onsets, weighted by their lengths (and scaled by the beat's
  length), fall on dotted-quarter beats clearly (by a quarter) more than on quarter
  beats, else 4/4. A merged SavedModel makes the same choice in its graph
  (stylexfer.serving.merged).
  """
  if not compound_meter:
    return '4/4'
  onsets, position = [], fractions.Fraction(0)
  for d in durations:
    onsets.append((position, fractions.Fraction(d)))
    position += fractions.Fraction(d)

  def on_beat(beat):
    return sum((d for onset, d in onsets if onset % beat == 0), fractions.Fraction(0))

  # Each share scaled by its beat's length, so that evenly running notes score the same
  # on both grids; a clear margin (a quarter) keeps evenly running eighths in 4/4:
  # 1.5 * on_beat(3/2) > 1.25 * on_beat(1), in whole numbers.
  return '6/8' if 6 * on_beat(fractions.Fraction(3, 2)) > 5 * on_beat(1) else '4/4'


def traits_of(saved_model):
  """A SavedModel's traits (stylexfer.tokens.traits); the defaults for an export made
  before it served them."""
  if 'traits' not in saved_model.signatures:
    return traits_lib.Traits(style_guidance=0.0)
  served = saved_model.signatures['traits']()
  # Served as float32: rounded back to the decimals they were written with.
  maps = {name: tuple(round(v, 6) for v in served[name].numpy().tolist())
          for name in ('strength_map', 'blend_map') if name in served}
  heard = {}
  if 'styles' in served:
    heard = dict(styles=[s.decode() for s in served['styles'].numpy().tolist()],
                 style_field=served['style_field'].numpy().decode(),
                 style_aliases=[[s.decode() for s in pair]
                                for pair in served['style_aliases'].numpy().tolist()],
                 style_swing=[round(v, 6) for v in served['style_swing'].numpy().tolist()],
                 tempo_swing=[[round(v, 6) for v in pair]
                              for pair in served['tempo_swing'].numpy().tolist()])
  # An export made before guidance samples without it.
  heard['style_guidance'] = round(float(served.get('style_guidance', 0.0)), 6)
  return traits_lib.Traits(int(served['first_pitch']), round(float(served['swing_ratio']), 6),
                           bool(served['compound_meter']), **maps, **heard)


def note_log_probs(saved_model, pitches, durations, form=None):
  """Each note's log-probability (nats) under a model's heads: (pitch [n - 1], rhythm [n]).

  `pitch[i]` is that of note i + 1's interval from note i under the pitch head,
  `rhythm[i]` that of note i's duration under the duration head. Uses the
  `serving_default` signature on the tokens the models were trained on, with the metre
  of the rhythm laid on the bars of `form` ((bars, bar_lengths, pickup); the heads hear
  no metre without it). Raises MissingSignatureError when the SavedModel has no such
  signature.
  """
  if 'serving_default' not in saved_model.signatures:
    raise MissingSignatureError('the model has no serving_default signature to score with')
  encoding = vocabulary.encode(list(pitches), list(durations))
  ids = None if form is None else metre.rhythm_ids(
      [float(d) for d in durations], form[1], form[2])
  framed = windows.frame(encoding.intervals, encoding.durations, ids)
  try:
    outputs = saved_model.signatures['serving_default'](
        **{name: framed[name][None] for name in windows.FEATURES})
  except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
    raise MissingSignatureError('the model\'s serving_default signature does not score '
                                'melodies') from error
  intervals, notes = np.array(encoding.intervals), len(encoding.durations)
  pitch = outputs['pitch_log_probs'][0].numpy()[1:notes]
  rhythm = outputs['duration_log_probs'][0].numpy()[:notes]
  return (pitch[np.arange(len(intervals)), intervals],
          rhythm[np.arange(notes), np.array(encoding.durations)])


def rhythm_log_likelihood(saved_model, pitches, durations, form=None):
  """Mean log-probability (nats per note) of the durations under a model's duration head,
  or None when the SavedModel cannot score melodies (see note_log_probs)."""
  try:
    _, rhythm = note_log_probs(saved_model, pitches, durations, form)
  except MissingSignatureError:
    return None
  return float(np.mean(rhythm))


def likelihood_table(saved_models, before, after, form=None):
  """Lines comparing the rhythm's log-likelihood before and after, under each genre."""
  genres = list(saved_models)
  rows = {label: [rhythm_log_likelihood(saved_models[g], *notes, form=form) for g in genres]
          for label, notes in (('before', before), ('after', after))}
  if any(value is None for values in rows.values() for value in values):
    return ['(rhythm log-likelihood skipped: a model has no serving_default signature)']
  lines = ['rhythm log-likelihood, nats per note (higher is more typical):',
           '          ' + ''.join(f'{g:>10}' for g in genres)]
  for label, values in rows.items():
    lines.append(f'  {label:<8}' + ''.join(f'{v:>10.3f}' for v in values))
  return lines
