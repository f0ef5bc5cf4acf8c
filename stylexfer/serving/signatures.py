"""What every exported SavedModel serves, written once: the vocabulary, restyle and notes.

A genre export (stylexfer.serving.genre) and a merge of two exports
(stylexfer.serving.merged) both subclass `MelodyModule` and supply only their own parts: the
duration head that restyles (`duration_head`, a stylexfer.serving.sampling.heads.Head),
their traits, how they generate tokens, and how they score. The restyle signatures, the
conversions between notes and tokens and the checks on requests live here, so a client
sees one set of inputs and one set of errors from either.

Restyle signatures (flat dicts of tensors, batch first; token ids int32, pitches int32,
quarter notes float32; strength, push, temperature, top_p, tempo float32 scalars; seed
int64; style a string scalar):
  restyle             intervals [B, N-1], durations [B, N], bars [B, N], bar_lengths [B, M],
                      pickup [B], strength, push, temperature, top_p, seed, style, tempo
                      -> durations [B, N]
  restyle_notes       pitches [B, N], quarter_lengths [B, N], bars, bar_lengths, pickup,
                      strength, push, temperature, top_p, seed, style, tempo
                      -> pitches, quarter_lengths, sounding_lengths [B, N]
  restyle_like, restyle_notes_like   as above, plus the target melody whose rhythm to
                      imitate: like_intervals, like_durations (or like_pitches,
                      like_quarter_lengths)
  restyle_free, restyle_notes_free   the rhythm drawn without bars: the inputs of
                      restyle / restyle_notes without bars, bar_lengths, pickup and push
`bars` is each note's bar index (from 0, never decreasing; a bar with no onset of its own
still has its length in `bar_lengths`), `pickup` the first note's onset in its bar; a bar
holds at most 24 notes a quarter note. Every note keeps its bar; `push` (at most
checks.MAX_PUSH quarter notes) lets the first note of a bar start that much early. A note
that keeps its duration keeps its own length in `quarter_lengths`, off the grid or held
past its longest value (8 quarters; the token signatures know only the grid's values):
strength 0 gives a melody whose onsets lie in its bars back as it came. Where no value of
the grid keeps the next note in its bar, a note is held to where the next one started.
`sounding_lengths` is how long each note sounds: shorter than its inter-onset duration
where the genre rests. `style` is one of the genre's styles ('' for any; the `traits`
signature lists them) and `tempo` the tempo the rhythm is drawn for, in quarter notes a
minute (0: unknown); every signature that draws takes both.

The genre's traits (stylexfer.tokens.traits), what it needs at run time besides weights:
  traits              () -> first_pitch (int32), swing_ratio (float32), compound_meter (bool),
                      strength_map [K], blend_map [L] (float32: a restyle's two parts of
                      its strength, stylexfer.tokens.traits), styles [S] (string: the
                      styles a request may ask for, besides '' for any), style_field
                      (string: the label they are, style or feel), style_aliases [A, 2]
                      (labels heard as one of the styles: funk as latin), style_guidance
                      (float32: how far a style asked for is pushed from any style's
                      rhythm), style_swing [S] and tempo_swing [T, 2] (float32: how it
                      swings by style and tempo)

Compiled signatures (the inputs and outputs of the signature they are named after):
  generate_compiled, restyle_compiled   the sampling loop compiled by XLA: the same
                      melody for the same seed as `generate` and `restyle` (the draws are
                      plain arithmetic on stateless random bits, see
                      stylexfer.serving.sampling.draws.categorical), the request's checks run
                      before it.
                      They need a runtime with XLA's CPU compiler: TensorFlow in Python
                      and saved_model_cli have it; TF Serving needs
                      --xla_cpu_compilation_enabled=true. The plain signatures run anywhere.
"""

import tensorflow as tf

from stylexfer.serving import controls as controls_lib
from stylexfer.serving import graph_tokens
from stylexfer.serving.sampling import checks
from stylexfer.serving.sampling import draws
from stylexfer.serving.sampling import form as form_lib
from stylexfer.serving.sampling import restyle as restyle_lib
from stylexfer.tokens import conditions

MIDI_RANGE = (0, 127)

_scalar = lambda dtype, name: tf.TensorSpec([], dtype, name=name)
_tokens = lambda name: tf.TensorSpec([None, None], tf.int32, name=name)
_floats = lambda name: tf.TensorSpec([None, None], tf.float32, name=name)
DRAW = [_scalar(tf.float32, 'temperature'), _scalar(tf.float32, 'top_p'),
        _scalar(tf.int64, 'seed')]
# What the heads hear of a request: the style by name, the tempo in quarters a minute.
CONDITIONS = [_scalar(tf.string, 'style'), _scalar(tf.float32, 'tempo')]
CONTROLS = DRAW + CONDITIONS
# The restyles' own functions take the style's id, looked up once by the signature.
_HEARD = DRAW + [_scalar(tf.int32, 'style_id'), _scalar(tf.float32, 'tempo')]
SIZE = [_scalar(tf.int32, 'batch_size'), _scalar(tf.int32, 'length')]
STRENGTH = [_scalar(tf.float32, 'strength')]
FORM = [_tokens('bars'), _floats('bar_lengths'),
        tf.TensorSpec([None], tf.float32, name='pickup')]
PUSH = [_scalar(tf.float32, 'push')]
NOTES = [_tokens('pitches'), _floats('quarter_lengths')]
LIKE_NOTES = [_tokens('like_pitches'), _floats('like_quarter_lengths')]
TOKENS = [_tokens('intervals'), _tokens('durations')]
LENGTHS = [_floats('quarter_lengths')]
LIKE_TOKENS = [_tokens('like_intervals'), _tokens('like_durations')]


class MelodyModule(tf.Module):
  """The vocabulary tables and every restyle signature over one duration head.

  Subclasses set `genre_traits` (a stylexfer.tokens.traits.Traits), `duration_head` (a
  stylexfer.serving.sampling.heads.Head),
  `_generate(batch_size, length, controls, compiled=False)` returning
  (intervals, durations), and the `generate` signature over it.
  """

  def __init__(self, interval_values, duration_values, sounding_values, name=None):
    super().__init__(name=name)
    self.interval_values = tf.Variable(interval_values, trainable=False,
                                       name='interval_values')
    self.duration_values = tf.Variable(duration_values, trainable=False,
                                       name='duration_values')
    # How long a note of each duration id sounds in this genre (its rests).
    self.sounding_values = tf.Variable(sounding_values, trainable=False,
                                       name='sounding_values')

  def notes_to_tokens(self, pitches, quarter_lengths, prefix=''):
    """Intervals [B, N-1] folded by octaves, durations [B, N] snapped to the grid."""
    return graph_tokens.notes_to_tokens(pitches, quarter_lengths, self.interval_values,
                                    self.duration_values, prefix)

  def tokens_to_notes(self, first_pitch, intervals, durations):
    """MIDI pitches [B, N] (kept in 0..127 by octaves) and quarter lengths [B, N]."""
    return graph_tokens.tokens_to_notes(first_pitch, intervals, durations, self.interval_values,
                                    self.duration_values)

  def _controls(self, temperature, top_p, seed, style, tempo, strength=1.0):
    """draws.Controls of a request: its style looked up among the genre's, and checked."""
    style_id, tempo = self._conditions(style, tempo)
    return draws.Controls(temperature, top_p, seed, strength, style_id, tempo)

  def _conditions(self, style, tempo):
    """(the style's id, the tempo) of a request, behind checks that name what is allowed."""
    styles = self.genre_traits.style_set
    lookup = {conditions.ANY: 0, **styles.lookup}
    matches = tf.equal(tf.constant(list(lookup), tf.string), style)
    style_id = tf.reduce_sum(tf.where(matches, tf.constant(list(lookup.values())), 0))
    low, high = controls_lib.TEMPO_RANGE
    # No brackets in the messages: a client reads the reason up to the first one.
    return checks.after([
        lambda: checks.require(tf.reduce_any(matches),
                               f'style must be empty (any) or a style of the model: '
                               f'{conditions.describe(styles.names, styles.field)}'),
        lambda: checks.require((tempo == 0) | ((tempo >= low) & (tempo <= high)),
                               f'tempo must be 0 (unknown) or from {low} to {high} quarter '
                               'notes a minute'),
    ], style_id, tf.convert_to_tensor(tempo, tf.float32))

  def _restyle(self, intervals, durations, controls, form=None, like=None, compiled=False,
               lengths=None):
    return restyle_lib.restyle(self.duration_head, intervals, durations, controls,
                               self.interval_values, self.duration_values, form, like,
                               compiled, (self.genre_traits.strength_map,
                                          self.genre_traits.blend_map), lengths,
                               self.genre_traits.guidance)

  def _restyled(self, intervals, durations, controls, form=None, like=None, lengths=None):
    durations, lengths = self._restyle(intervals, durations, controls, form, like,
                                       lengths=lengths)
    return {'durations': durations, 'quarter_lengths': tf.cast(lengths, tf.float32)}

  # The restyles on tokens and on notes share one graph of each loop, in these functions
  # that take the notes' own lengths and the style's id: a SavedModel loads in time by its
  # graph's size.

  @tf.function(input_signature=TOKENS + LENGTHS + FORM + STRENGTH + PUSH + _HEARD)
  def _restyle_lengths(self, intervals, durations, quarter_lengths, bars, bar_lengths, pickup,
                       strength, push, temperature, top_p, seed, style_id, tempo):
    return self._restyled(intervals, durations,
                          draws.Controls(temperature, top_p, seed, strength, style_id, tempo),
                          form_lib.Form(bars, bar_lengths, pickup, push),
                          lengths=quarter_lengths)

  @tf.function(input_signature=TOKENS + LENGTHS + LIKE_TOKENS + FORM + STRENGTH + PUSH
               + _HEARD)
  def _restyle_like_lengths(self, intervals, durations, quarter_lengths, like_intervals,
                            like_durations, bars, bar_lengths, pickup, strength, push,
                            temperature, top_p, seed, style_id, tempo):
    return self._restyled(intervals, durations,
                          draws.Controls(temperature, top_p, seed, strength, style_id, tempo),
                          form_lib.Form(bars, bar_lengths, pickup, push),
                          (like_intervals, like_durations), quarter_lengths)

  @tf.function(input_signature=TOKENS + LENGTHS + STRENGTH + _HEARD)
  def _restyle_free_lengths(self, intervals, durations, quarter_lengths, strength,
                            temperature, top_p, seed, style_id, tempo):
    return self._restyled(intervals, durations,
                          draws.Controls(temperature, top_p, seed, strength, style_id, tempo),
                          lengths=quarter_lengths)

  def _lengths(self, durations):
    """The values of duration ids; ids out of range are refused by the restyle's checks."""
    last = tf.shape(self.duration_values)[0] - 1
    return tf.gather(self.duration_values, tf.clip_by_value(durations, 0, last))

  def _restyle_notes(self, pitches, quarter_lengths, controls, form=None, like_notes=None):
    intervals, durations = self.notes_to_tokens(pitches, quarter_lengths)
    tokens = (intervals, durations, quarter_lengths)
    draw = (controls.temperature, controls.top_p, controls.seed, controls.style,
            controls.tempo)
    if form is not None:
      bars = (form.bars, form.bar_lengths, form.pickup)
      request = (*bars, controls.strength, form.push, *draw)
    if like_notes:
      like = self.notes_to_tokens(*like_notes, prefix='like: ')
      restyled = self._restyle_like_lengths(*tokens, *like, *request)
    elif form is not None:
      restyled = self._restyle_lengths(*tokens, *request)
    else:
      restyled = self._restyle_free_lengths(*tokens, controls.strength, *draw)
    durations, quarter_lengths = restyled['durations'], restyled['quarter_lengths']
    sounding = tf.minimum(tf.gather(self.sounding_values, durations), quarter_lengths)
    if form is not None:
      # After the restyle, whose checks the bars have passed by then.
      with tf.control_dependencies([durations]):
        bars = [tf.identity(x) for x in bars]
      sounding = rests_on_eighths(sounding, quarter_lengths, *bars)
    return {'pitches': tf.identity(pitches), 'quarter_lengths': quarter_lengths,
            'sounding_lengths': sounding}

  @tf.function(input_signature=TOKENS + FORM + STRENGTH + PUSH + CONTROLS)
  def restyle(self, intervals, durations, bars, bar_lengths, pickup, strength, push,
              temperature, top_p, seed, style, tempo):
    style_id, tempo = self._conditions(style, tempo)
    return {'durations': self._restyle_lengths(
        intervals, durations, self._lengths(durations), bars, bar_lengths, pickup,
        strength, push, temperature, top_p, seed, style_id, tempo)['durations']}

  @tf.function(input_signature=TOKENS + FORM + STRENGTH + PUSH + CONTROLS)
  def restyle_compiled(self, intervals, durations, bars, bar_lengths, pickup, strength, push,
                       temperature, top_p, seed, style, tempo):
    return {'durations': self._restyle(
        intervals, durations,
        self._controls(temperature, top_p, seed, style, tempo, strength),
        form_lib.Form(bars, bar_lengths, pickup, push), compiled=True)[0]}

  @tf.function(input_signature=SIZE + CONTROLS)
  def generate_compiled(self, batch_size, length, temperature, top_p, seed, style, tempo):
    intervals, durations = self._generate(
        batch_size, length, self._controls(temperature, top_p, seed, style, tempo),
        compiled=True)
    return {'intervals': intervals, 'durations': durations}

  @tf.function(input_signature=NOTES + FORM + STRENGTH + PUSH + CONTROLS)
  def restyle_notes(self, pitches, quarter_lengths, bars, bar_lengths, pickup, strength,
                    push, temperature, top_p, seed, style, tempo):
    return self._restyle_notes(pitches, quarter_lengths,
                               self._controls(temperature, top_p, seed, style, tempo,
                                              strength),
                               form_lib.Form(bars, bar_lengths, pickup, push))

  @tf.function(input_signature=TOKENS + LIKE_TOKENS + FORM + STRENGTH + PUSH + CONTROLS)
  def restyle_like(self, intervals, durations, like_intervals, like_durations, bars,
                   bar_lengths, pickup, strength, push, temperature, top_p, seed, style,
                   tempo):
    style_id, tempo = self._conditions(style, tempo)
    return {'durations': self._restyle_like_lengths(
        intervals, durations, self._lengths(durations), like_intervals, like_durations,
        bars, bar_lengths, pickup, strength, push, temperature, top_p, seed, style_id,
        tempo)['durations']}

  @tf.function(input_signature=NOTES + LIKE_NOTES + FORM + STRENGTH + PUSH + CONTROLS)
  def restyle_notes_like(self, pitches, quarter_lengths, like_pitches, like_quarter_lengths,
                         bars, bar_lengths, pickup, strength, push, temperature, top_p,
                         seed, style, tempo):
    return self._restyle_notes(pitches, quarter_lengths,
                               self._controls(temperature, top_p, seed, style, tempo,
                                              strength),
                               form_lib.Form(bars, bar_lengths, pickup, push),
                               (like_pitches, like_quarter_lengths))

  @tf.function(input_signature=TOKENS + STRENGTH + CONTROLS)
  def restyle_free(self, intervals, durations, strength, temperature, top_p, seed, style,
                   tempo):
    style_id, tempo = self._conditions(style, tempo)
    return {'durations': self._restyle_free_lengths(
        intervals, durations, self._lengths(durations), strength, temperature, top_p,
        seed, style_id, tempo)['durations']}

  @tf.function(input_signature=NOTES + STRENGTH + CONTROLS)
  def restyle_notes_free(self, pitches, quarter_lengths, strength, temperature, top_p,
                         seed, style, tempo):
    return self._restyle_notes(pitches, quarter_lengths,
                               self._controls(temperature, top_p, seed, style, tempo,
                                              strength))

  @tf.function(input_signature=SIZE + [_scalar(tf.int32, 'first_pitch')] + CONTROLS)
  def generate_notes(self, batch_size, length, first_pitch, temperature, top_p, seed, style,
                     tempo):
    def draw():  # the generate signature, called as a function (held once, as above)
      generated = self.generate(batch_size, length, temperature, top_p, seed, style, tempo)
      return generated['intervals'], generated['durations']

    return self._generate_notes(first_pitch, draw)

  def _generate_notes(self, first_pitch, draw):
    """generate_notes' outputs for the tokens that `draw()` samples, from first_pitch."""
    first_pitch, = checks.after([lambda: require_midi(first_pitch, 'first_pitch')],
                                  first_pitch)
    intervals, durations = draw()
    pitches, quarter_lengths = self.tokens_to_notes(
        tf.fill([tf.shape(durations)[0]], first_pitch), intervals, durations)
    return {'pitches': pitches, 'quarter_lengths': quarter_lengths,
            'sounding_lengths': tf.minimum(tf.gather(self.sounding_values, durations),
                                           quarter_lengths)}

  @tf.function(input_signature=[])
  def traits(self):
    """What the genre needs at run time (stylexfer.tokens.traits), as constants."""
    traits = self.genre_traits
    return {'first_pitch': tf.constant(traits.first_pitch, tf.int32),
            'swing_ratio': tf.constant(traits.swing_ratio, tf.float32),
            'compound_meter': tf.constant(traits.compound_meter),
            'strength_map': tf.constant(traits.strength_map, tf.float32),
            'blend_map': tf.constant(traits.blend_map, tf.float32),
            'styles': tf.constant(traits.styles, tf.string, shape=[len(traits.styles)]),
            'style_field': tf.constant(traits.style_field, tf.string),
            'style_aliases': tf.reshape(tf.constant(
                [label for pair in traits.style_aliases for label in pair], tf.string,
                shape=[2 * len(traits.style_aliases)]), [-1, 2]),
            'style_guidance': tf.constant(traits.style_guidance, tf.float32),
            'style_swing': tf.constant(traits.style_swing, tf.float32,
                                       shape=[len(traits.style_swing)]),
            'tempo_swing': tf.reshape(tf.constant(
                [value for pair in traits.tempo_swing for value in pair], tf.float32,
                shape=[2 * len(traits.tempo_swing)]), [-1, 2])}

  def signatures(self):
    """The signatures every export serves; subclasses add their own."""
    return {name: getattr(self, name) for name in (
        'restyle', 'restyle_notes', 'restyle_like', 'restyle_notes_like', 'restyle_free',
        'restyle_notes_free', 'generate_notes', 'restyle_compiled', 'generate_compiled',
        'traits')}


def rests_on_eighths(sounding, quarter_lengths, bars, bar_lengths, pickup):
  """Sounding lengths [B, N] whose rests start on an eighth-note place of their bars.

  A genre's sounding lengths are 16ths (stylexfer.tokens.articulation); after a note on a
  triplet place they would start the rest on a place no score writes. An eighth-note
  place fits a beat of 16ths and one of triplets alike. The note ends at the eighth
  nearest its sounding end, one after its onset at the earliest; a rest is at least a
  quarter (articulation.MIN_REST), so half of it is always left.
  """
  sounding = tf.cast(sounding, tf.float64)
  quarter_lengths = tf.cast(quarter_lengths, tf.float64)
  batch = tf.shape(bars)[0]
  starts = tf.concat([tf.zeros([batch, 1], tf.float64),
                      tf.cumsum(tf.cast(bar_lengths, tf.float64), axis=1)], 1)
  bar_starts = tf.gather(starts, bars, batch_dims=1)
  onsets = (bar_starts[:, :1] + tf.cast(pickup, tf.float64)[:, None]
            + tf.cumsum(quarter_lengths, axis=1, exclusive=True))
  places = onsets - bar_starts
  ends = tf.maximum(tf.round((places + sounding) * 2) / 2,
                    tf.floor(places * 2 + 1e-6) / 2 + 0.5)
  rested = sounding < quarter_lengths - 1e-6
  return tf.cast(tf.where(rested, tf.minimum(ends - places, quarter_lengths), sounding),
                 tf.float32)


def require_midi(pitch, name):
  return checks.require((pitch >= MIDI_RANGE[0]) & (pitch <= MIDI_RANGE[1]),
                          f'{name} must be a MIDI pitch in [{MIDI_RANGE[0]}, {MIDI_RANGE[1]}]')
