"""The knobs of a restyle or a generation, their defaults and their ranges, defined once.

The Python API (stylexfer.load), the programs' flags, the notebook and the evaluation all
take their defaults from here, so a restyle asked for in any of them without settings is
the same restyle. A value outside its range is a RequestError that names the knob.
"""

import math

# Imported by the programs before TensorFlow starts: nothing here imports it.
from stylexfer.reading import melody as melody_lib

# 1.0 with top-p 0.9 gives restyles as coherent as the target genre's own melodies
# (the evaluation report's coherence table); a lower top-p writes blander rhythms.
TEMPERATURE = 1.0
TOP_P = 0.9
SEED = 0
STRENGTH = 1.0
PUSH = 0.0
LENGTH = 64        # notes of a generated melody
TEMPO_RANGE = (20, 400)   # quarter notes a minute; --tempo=0.0001 would ask for terabytes
SWING_RANGE = (1, 4)      # long-short ratio of eighth pairs
MAX_LENGTH = 4096  # notes per melody; a request above it is refused, not run for hours
MAX_PUSH = 0.5     # quarter notes a bar's first note may anticipate its bar line (an eighth)
MAX_COUNT = 256    # melodies a generate request writes
# Below this a draw is already the most likely token (logits 0.01 apart are 10 nats apart),
# and logits over a tiny temperature outgrow what float32 and the draw's masks hold.
MIN_TEMPERATURE = 1e-3


class RequestError(ValueError):
  """A knob set outside its range; the message names it, its range and the value."""


# name: (in range?, the range in words)
RANGES = {
    'temperature': (lambda v: MIN_TEMPERATURE <= v < math.inf,
                    f'a finite number >= {MIN_TEMPERATURE:g}'),
    'top_p': (lambda v: 0 < v <= 1, 'in (0, 1]'),
    # The signatures take an int64 seed.
    'seed': (lambda v: -2**63 <= v < 2**63,
             'a 64-bit integer (between -2**63 and 2**63 - 1)'),
    'strength': (lambda v: 0 <= v <= 1, 'in [0, 1]'),
    'push': (lambda v: 0 <= v <= MAX_PUSH,
             f'in [0, {MAX_PUSH}] quarter notes'),
    'tempo': (lambda v: TEMPO_RANGE[0] <= v <= TEMPO_RANGE[1],
              f'between {TEMPO_RANGE[0]} and {TEMPO_RANGE[1]} quarter notes a minute'),
    'swing': (lambda v: SWING_RANGE[0] <= v <= SWING_RANGE[1],
              f'a long-short ratio in [{SWING_RANGE[0]}, {SWING_RANGE[1]}] (1: straight)'),
    'length': (lambda v: 1 <= v <= MAX_LENGTH, f'in [1, {MAX_LENGTH}]'),
    'count': (lambda v: 1 <= v <= MAX_COUNT, f'in [1, {MAX_COUNT}]'),
    'first_pitch': (lambda v: 0 <= v <= 127, 'a MIDI pitch in [0, 127]'),
}


def check(prefix='', **values):
  """Raises RequestError for the first value outside its range; None means the default.

  `prefix` goes before the name in the message ('--' for a program's flags).
  """
  for name, value in values.items():
    in_range, words = RANGES[name]
    if value is None:
      continue
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      try:
        value = float(value)
      except (TypeError, ValueError):
        raise RequestError(f'{prefix}{name} must be a number, got {value!r}') from None
    if not in_range(value):
      raise RequestError(f'{prefix}{name} must be {words}, got {value}')


def check_time_signature(time_signature, prefix=''):
  """Raises RequestError unless `time_signature` (None: chosen later) is one music21 reads."""
  if time_signature is None:
    return
  try:
    melody_lib.signature_length(time_signature)
  except Exception:  # music21 raises several types for a bad signature
    raise RequestError(f'{prefix}time_signature {time_signature!r} is not a time signature '
                       '(e.g. 4/4, 6/8)') from None
