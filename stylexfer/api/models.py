"""A model as the front door gives it: `load` a genre or a SavedModel folder, then restyle,
generate and score melodies with it.

Every request goes through stylexfer.serving.client (the one place that assembles a
signature's inputs), with the defaults of stylexfer.serving.controls, so the API, the
programs, the notebook and the evaluation give one melody for one request.
"""

import dataclasses
import os

import numpy as np

from stylexfer.api import melodies
from stylexfer.serving import client
from stylexfer.serving import controls
from stylexfer.serving import loading
from stylexfer.serving import signatures
from stylexfer.tokens import vocabulary

STRUCTURES = ('bars', 'free')
# The signatures a Model calls, served by every export of this version (a genre's or a
# merge's) with the arguments of stylexfer.serving.signatures.MelodyModule.
_CALLED = ('traits', 'restyle_notes', 'restyle_notes_like', 'restyle_notes_free',
           'generate_notes')


@dataclasses.dataclass(frozen=True)
class Scores:
  """Each note's log-probability (nats) under a model: the higher, the more typical.

  `pitch[i]` scores the interval from note i to note i + 1 (n - 1 values), `rhythm[i]`
  note i's duration (n values).
  """
  pitch: np.ndarray
  rhythm: np.ndarray


def load(name_or_path, models_dir=None):
  """A Model: a genre's name (the shipped ones, or one under `models_dir`), a merge's
  name ('folk_jazz'), or a SavedModel folder (a version folder or a folder of versions,
  the newest taken)."""
  name_or_path = os.fspath(name_or_path)
  path = loading.latest_version(name_or_path) if os.path.isdir(name_or_path) else None
  if path is None:
    if os.sep in name_or_path or os.path.exists(name_or_path):
      raise loading.ModelNotFoundError(f'{name_or_path} holds no SavedModel '
                                       '(<version>/saved_model.pb)')
    loading.check_genre(name_or_path, models_dir)
    path = loading.find_model(name_or_path, models_dir)
  return Model(loading.load(path), path)


def check_arguments(saved_model, path=None):
  """Raises loading.BrokenModelError where a signature a Model calls takes other arguments
  than ours: a SavedModel of another program (or of an old stylexfer) would otherwise
  fail with TensorFlow's TypeError at the first request."""
  for name in _CALLED:
    if name not in saved_model.signatures:
      continue  # asked for, it is a MissingSignatureError that says so
    ours = sorted(spec.name for spec in getattr(signatures.MelodyModule, name).input_signature)
    theirs = sorted(saved_model.signatures[name].structured_input_signature[1])
    if theirs != ours:
      raise loading.BrokenModelError(
          f'the model folder {path or "(a SavedModel)"} is not a stylexfer export of this '
          f'version: its {name} signature takes ({", ".join(theirs)}) where ours takes '
          f'({", ".join(ours)}); export the model again or pass another --models_dir')


class Model:
  """An exported stylexfer SavedModel: a genre, or a merge of one genre's tones with
  another's rhythm."""

  def __init__(self, saved_model, path=None):
    self.saved_model = saved_model
    self.path = path
    self.genre = _text(saved_model, 'genre') or os.path.basename(
        os.path.dirname(path or '')) or 'melodies'
    # The genre whose rhythm it writes (a merge's second genre), which sets its swing.
    self.rhythm_genre = _text(saved_model, 'rhythm_genre') or self.genre
    self.pitch_genre = _text(saved_model, 'pitch_genre') or self.genre
    # A merge of two genres (stylexfer-merge): its own generate keeps the bars.
    self.merged = _text(saved_model, 'rhythm_genre') is not None
    check_arguments(saved_model, path)
    # What its genre needs at run time: first pitch, swing, compound time.
    self.traits = client.traits_of(saved_model)

  def __repr__(self):
    return f'Model({self.genre!r}, {self.path!r})'

  @property
  def signatures(self):
    """The names of the SavedModel's signatures (as TF Serving serves them)."""
    return sorted(self.saved_model.signatures)

  @property
  def styles(self):
    """The styles a restyle or a generation may ask for (a folk tune's type, a jazz
    solo's feel): the labels its rhythm was trained to tell apart."""
    return self.traits.styles

  def _heard(self, style, tempo, melody=None):
    """(style, tempo) as the signatures take them: '' for any style; the tempo asked for,
    else the melody's own, else 0 (unknown). A style the model lacks is a RequestError."""
    controls.check(tempo=tempo)
    style = '' if style is None else str(style).strip().lower()
    try:
      found = self.traits.style_set.request_id(style)
    except ValueError as error:
      raise controls.RequestError(f'{self.rhythm_genre}: {error}') from None
    style = self.traits.styles[found - 1] if found else ''  # funk is played as latin
    if tempo is None and melody is not None and melody.tempo:
      tempo = min(max(melody.tempo, controls.TEMPO_RANGE[0]), controls.TEMPO_RANGE[1])
    return style, float(tempo or 0.0)

  @property
  def swing(self):
    """The long-short ratio its rhythm's eighth pairs are played with."""
    return self.traits.swing_ratio

  def restyle(self, melody, strength=controls.STRENGTH, like=None, push=controls.PUSH,
              structure='bars', swing=None, temperature=controls.TEMPERATURE,
              top_p=controls.TOP_P, seed=controls.SEED, title=None, style=None, tempo=None):
    """The melody's tones with this model's rhythm: a new Melody.

    `strength` in [0, 1] (0 keeps the rhythm), `like` a Melody whose own rhythm to lean
    towards, `push` quarter notes a bar's first note may anticipate, `structure` 'bars'
    (every note in its bar, repeated bars one rhythm) or 'free', `swing` how its eighths
    are played (default: the genre's), `style` one of `styles` (default: any), `tempo`
    in quarter notes a minute the rhythm is drawn for and the melody played at (default:
    the melody's own). The title is the melody's with the genre and style after it.
    """
    melody = melodies.Melody.of(melody)
    if structure not in STRUCTURES:
      raise controls.RequestError(f'structure must be one of {", ".join(STRUCTURES)}, '
                                  f'got {structure!r}')
    controls.check(strength=strength, push=push, swing=swing, temperature=temperature,
                   top_p=top_p, seed=seed)
    style, heard_tempo = self._heard(style, tempo, melody)
    original = melody.durations()
    like_notes = None if like is None else (like.pitches, like.durations())
    durations, sounding = client.restyle_durations(
        self.saved_model, melody.pitches, original, strength, temperature, top_p, seed,
        like=like_notes, form=melody.form() if structure == 'bars' else None, push=push,
        style=style, tempo=heard_tempo)
    # A note that kept its duration keeps its own articulation; a new one sounds as the
    # genre plays that duration.
    own = [min(length, d) for length, d in zip(melody.lengths, original)]
    sounding = [mine if new == old else genre for mine, new, old, genre
                in zip(own, durations, original, sounding)]
    if title is None:
      title = f'{melody.title or "Melody"} ({", ".join(filter(None, (self.rhythm_genre, style)))})'
    restyled = melody.with_rhythm(durations, sounding, title)
    restyled.swing = self.traits.swing_for(style, heard_tempo) if swing is None else swing
    if tempo is not None:
      restyled.tempo = tempo
    return restyled

  def generate(self, count=1, length=controls.LENGTH, rhythm=None, first_pitch=None,
               time_signature=None, swing=None, temperature=controls.TEMPERATURE,
               top_p=controls.TOP_P, seed=controls.SEED, title=None, style=None, tempo=None):
    """`count` new Melodies: this model's tones, the rhythm of `rhythm` (another Model;
    default this one, or a merge's rhythm genre) redrawn within the bars the tones' own
    rhythm lays out.

    Melody n is drawn with seed + n. `first_pitch` is a MIDI pitch (default the genre's
    middle), `time_signature` e.g. '3/4' (default: chosen from the drawn rhythm),
    `style` one of the rhythm's `styles` (default: any), `tempo` in quarter notes a minute
    the melodies are drawn for and played at (default: unknown to the model, played at
    120).
    """
    rhythm = rhythm or self
    controls.check(count=count, length=length, first_pitch=first_pitch, swing=swing,
                   temperature=temperature, top_p=top_p, seed=seed)
    controls.check_time_signature(time_signature)
    style, heard_tempo = rhythm._heard(style, tempo)  # pylint: disable=protected-access
    if first_pitch is None:
      first_pitch = self.traits.first_pitch
    if title is None:
      title = (self.pitch_genre if rhythm.rhythm_genre == self.pitch_genre else
               f'{self.pitch_genre} with {rhythm.rhythm_genre} rhythm').capitalize()
      title += f' ({style})' if style else ''
    if self.merged and rhythm is self:
      if time_signature is not None:
        raise controls.RequestError(
            'a merged model chooses its own time signature: for another, generate with '
            f'the two genres\' models (load({self.pitch_genre!r}).generate(rhythm='
            f'load({self.rhythm_genre!r}), time_signature={time_signature!r}))')
      # In the merged model's graph, the same melodies as the two genres' models give.
      generated = client.generated_in_bars(self.saved_model, count, length, first_pitch,
                                           temperature, top_p, seed, title, style,
                                           heard_tempo)
    else:
      generated = client.generate_melodies(
          self.saved_model, rhythm.saved_model, count, length, first_pitch, temperature,
          top_p, seed, time_signature, title, style, heard_tempo)
    for melody in generated:
      melody.swing = rhythm.traits.swing_for(style, heard_tempo) if swing is None else swing
      if tempo is not None:
        melody.tempo = tempo
    return [melodies.Melody.of(melody) for melody in generated]

  def score(self, melody):
    """Scores: each note's log-probability under the pitch and duration heads, the
    rhythm heard in the melody's bars."""
    melody = melodies.Melody.of(melody)
    pitch, rhythm = client.note_log_probs(self.saved_model, melody.pitches,
                                          melody.durations(), melody.form())
    return Scores(pitch, rhythm)


def changed_durations(before, after):
  """How many notes of a restyle have another duration than before (on the grid)."""
  return sum(vocabulary.snap_duration(old) != vocabulary.snap_duration(new)
             for old, new in zip(before.durations(), after.durations()))


def rhythm_report(source, target, before, after):
  """Lines saying how far a restyle moved the rhythm from `source`'s genre to `target`'s.

  Each rhythm's nats per note under both genres' duration heads and their difference:
  positive where the target's head finds the rhythm the likelier, which is how the
  rhythm is heard.
  """
  genres = (source.rhythm_genre, target.rhythm_genre)
  lines = ["rhythm, mean log-probability per note under each genre's duration head "
           '(nats; higher: likelier):',
           f'          {genres[0]:>10}{genres[1]:>10}{f"{genres[1]} - {genres[0]}":>16}']
  for label, melody in (('before', before), ('after', after)):
    values = [float(np.mean(model.score(melody).rhythm)) for model in (source, target)]
    heard = genres[values[1] > values[0]]
    lines.append(f'  {label:<8}{values[0]:>10.3f}{values[1]:>10.3f}'
                 f'{values[1] - values[0]:>+16.3f}   heard as {heard}')
  lines += ['A rhythm is heard as the genre whose head finds it likelier (the last column). '
            'Compare within a row:',
            f'a plain rhythm is likely under every head, so a busy {genres[1]} rhythm can '
            f'score lower than a plain one even under the {genres[1]} head.']
  return lines


def _text(saved_model, name):
  value = getattr(saved_model, name, None)
  return value.numpy().decode() if value is not None else None
