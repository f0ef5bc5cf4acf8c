"""A model's sizes (MelodyConfig) and its presets, without TensorFlow.

The programs check --preset and --override against them before TensorFlow starts;
stylexfer.model.melody_model builds the Keras model from them.
"""

import dataclasses
import json
import numbers

# Precisions of the LSTM matmuls in CPU training (stylexfer.model.layers.set_matmul_dtype).
MATMUL_DTYPES = ('auto', 'float32', 'bfloat16')
_MAY_BE_0 = ('metre_width', 'styles')


@dataclasses.dataclass(frozen=True)
class MelodyConfig:
  """Sizes of one genre's model, and the window length it is trained on."""
  embedding_width: int = 64
  lstm_units: int = 160
  lstm_layers: int = 2
  dropout: float = 0.25
  window: int = 128
  metre_width: int = 16  # width of each metrical input's embedding; 0: no metrical inputs
  condition_width: int = 16  # width of the style's and the tempo's embeddings
  styles: int = 0  # the genre's styles (stylexfer.tokens.conditions), "any" besides

  def __post_init__(self):
    # A size of 0 or below, or a dropout of 1 or NaN, builds a model that trains to
    # nothing or fails deep in Keras with no word of which value was wrong.
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if field.name == 'dropout':
        if not (isinstance(value, numbers.Real) and 0 <= value < 1):
          raise ValueError(f'dropout must be in [0, 1), got {value}')
      elif not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f'{field.name} must be a whole number, got {value!r}')
      elif value < (0 if field.name in _MAY_BE_0 else 1):
        lowest = '0 or more' if field.name in _MAY_BE_0 else 'at least 1'
        raise ValueError(f'{field.name} must be {lowest}, got {value}')

  def to_json(self):
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text):
    return cls(**json.loads(text))

  def override(self, assignments):
    """A copy with `key=value` strings applied, each value parsed as its field's type.

    Raises ValueError naming the first assignment that is not key=value with a known key,
    or whose value is not of its field's type or out of its range.
    """
    types = {field.name: field.type for field in dataclasses.fields(self)}
    config = self
    for assignment in assignments:
      key, sep, text = assignment.partition('=')
      key = key.strip()
      if not sep or key not in types:
        raise ValueError(f'override {assignment!r} is not key=value with a key among '
                         f'{sorted(types)}')
      try:
        value = types[key](text.strip())
      except ValueError:
        kind = 'a whole number' if types[key] is int else 'a number'
        raise ValueError(f'override {assignment!r}: {key} must be {kind}') from None
      try:
        config = dataclasses.replace(config, **{key: value})
      except ValueError as error:
        raise ValueError(f'override {assignment!r}: {error}') from None
    return config


# `default` (about 0.8M weights) fits ~300k training tokens per genre (2-3k folk tunes,
# or ~450 jazz solos) without the heavy overfitting a 2M model shows there; `tiny` is
# for tests.
PRESETS = {
    'tiny': MelodyConfig(embedding_width=8, lstm_units=16, lstm_layers=1, dropout=0.0,
                         window=32, metre_width=4, condition_width=4),
    'default': MelodyConfig(),
}


def preset(name):
  """The MelodyConfig called `name` (see PRESETS)."""
  try:
    return PRESETS[name]
  except KeyError:
    raise ValueError(f'unknown preset {name!r}; choose one of {sorted(PRESETS)}') from None
