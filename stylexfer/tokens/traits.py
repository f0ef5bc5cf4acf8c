"""What a genre needs at run time besides its weights: its tunes' middle pitch, its swing,
whether it writes compound time.

Measured on the training split when a model is trained (`traits.json` in the run folder,
beside articulation.json) and stored in the exported SavedModel (its `traits` signature),
so a model trained on one's own corpus generates and plays like the shipped ones with no
code that names it.
"""

import dataclasses
import json
import os

import numpy as np

from stylexfer.tokens import conditions

FILE = 'traits.json'
# A genre writes compound time (6/8, 9/8, 12/8) when at least this share of its tunes do:
# folk's jigs (about a third of the folk corpus), no solo of WJazzD.
COMPOUND_SHARE = 0.1
# How far a style asked for is pushed from any style's rhythm (heads.guided). With the
# style embedding alone, judges of real music heard a jazz feel in folk tunes restyled to
# jazz 15 points more often when it was asked than when the other feel was; guidance 2, 4
# and 8 made it 28, 34 and 50 points, the rhythm as typical of jazz as before (BUILD_NOTES.md,
# "What the controls do").
STYLE_GUIDANCE = 8.0


@dataclasses.dataclass(frozen=True)
class Traits:
  """first_pitch: the MIDI pitch a generated melody starts on (the middle of the genre's
  first notes); swing_ratio: the long-short ratio its eighth pairs are played with (1.0
  straight); compound_meter: whether its generated melodies may be written in 6/8;
  strength_map, blend_map: how a restyle to it turns a strength into its two parts
  (stylexfer.serving.sampling.restyle): the share of bars that take the genre's rhythm,
  and how far the other bars' notes lean to it, each given at strengths 0, 1/(K-1), ... 1
  and read between; measured so that strength 0.5 sounds half way. By default half the
  bars change at 0.5 and the others keep their own rhythm. styles, style_field,
  style_aliases: the styles its model hears (stylexfer.tokens.conditions.Styles).
  style_swing: the swing ratio of each style (in the order of `styles`; empty: the
  genre's for all); tempo_swing: (highest tempo, ratio) pairs, rising, the ratio of a
  melody at or under that tempo in quarter notes a minute (see swing_for).
  style_guidance: how far the rhythm of a style asked for is pushed away from the
  rhythm of any style (stylexfer.serving.sampling.heads.guided; 0 not at all)."""
  first_pitch: int = 67
  swing_ratio: float = 1.0
  compound_meter: bool = True
  strength_map: tuple = (0.0, 1.0)
  blend_map: tuple = (0.0, 0.0)
  styles: tuple = ()
  style_field: str = 'style'
  style_aliases: tuple = ()
  style_swing: tuple = ()
  tempo_swing: tuple = ()
  style_guidance: float = STYLE_GUIDANCE

  def __post_init__(self):
    for name, last in (('strength_map', (1.0,)), ('blend_map', (0.0, 1.0))):
      given = getattr(self, name)
      points = tuple(float(v) for v in given)
      if (len(points) < 2 or points[0] != 0.0 or points[-1] not in last
          or any(b < a for a, b in zip(points, points[1:]))):
        raise ValueError(f'a {name} rises from 0 to {" or ".join(map(str, last))}, '
                         f'got {given}')
      object.__setattr__(self, name, points)
    found = self.style_set  # checks them
    object.__setattr__(self, 'styles', found.names)
    object.__setattr__(self, 'style_aliases', found.aliases)
    object.__setattr__(self, 'style_swing', tuple(float(r) for r in self.style_swing))
    object.__setattr__(self, 'tempo_swing',
                       tuple((float(t), float(r)) for t, r in self.tempo_swing))
    object.__setattr__(self, 'style_guidance', float(self.style_guidance))
    if self.style_guidance < 0:
      raise ValueError(f'style_guidance must be >= 0, got {self.style_guidance}')
    if self.style_swing and len(self.style_swing) != len(self.styles):
      raise ValueError(f'style_swing needs one ratio per style {self.styles}, got '
                       f'{self.style_swing}')
    if [t for t, _ in self.tempo_swing] != sorted(t for t, _ in self.tempo_swing):
      raise ValueError(f'tempo_swing must rise by tempo, got {self.tempo_swing}')

  def swing_for(self, style='', tempo=0.0):
    """How eighths are played in `style` at `tempo` (quarters a minute; 0 unknown): the
    style's own ratio where it has one, else the ratio of the tempo's band, else the
    genre's. Measured on WJazzD by feel and by tempo, one at a time (BUILD_NOTES.md)."""
    if style in self.styles and self.style_swing:
      return self.style_swing[self.styles.index(style)]
    for highest, ratio in self.tempo_swing:
      if 0 < tempo <= highest:
        return ratio
    if tempo > 0 and self.tempo_swing:
      return self.tempo_swing[-1][1]
    return self.swing_ratio

  @property
  def guidance(self):
    """The style_guidance the sampler applies: none for a model that hears no styles."""
    return self.style_guidance if self.styles else 0.0

  @property
  def style_set(self):
    """The styles as a stylexfer.tokens.conditions.Styles."""
    return conditions.Styles(self.style_field, self.styles, self.style_aliases)


def from_melodies(melodies, swing_ratio=1.0, styles=None):
  """The traits of melody records (dicts with `first_pitch` and `time_signature`), whose
  model hears `styles` (a conditions.Styles)."""
  first_pitches, compound = [], []
  for melody in melodies:
    first_pitches.append(int(melody['first_pitch']))
    signature = melody['time_signature']
    signature = signature.decode() if isinstance(signature, bytes) else signature
    compound.append(is_compound(signature))
  heard = {} if styles is None else dict(styles=styles.names, style_field=styles.field,
                                         style_aliases=styles.aliases)
  if not first_pitches:
    return Traits(swing_ratio=swing_ratio, **heard)
  return Traits(int(round(float(np.median(first_pitches)))), float(swing_ratio),
                bool(np.mean(compound) >= COMPOUND_SHARE), **heard)


def is_compound(time_signature):
  """6/8, 9/8, 12/8 (beats of three eighths); '' or anything else is not."""
  top, _, bottom = time_signature.partition('/')
  return bottom == '8' and top in ('6', '9', '12')


def save(run_dir, traits):
  with open(os.path.join(run_dir, FILE), 'w', encoding='utf-8') as f:
    json.dump(dataclasses.asdict(traits), f)


def load(run_dir):
  """The traits saved in a training folder, or the defaults when there are none."""
  path = os.path.join(run_dir, FILE)
  if not os.path.isfile(path):
    return Traits()
  with open(path, encoding='utf-8') as f:
    return Traits(**json.load(f))
