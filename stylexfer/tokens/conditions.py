"""What a melody's rhythm is asked for besides its genre: a style and a tempo, as ids.

Both heads hear two ids for the whole melody:

  style   the melody's label among its genre's styles (`Styles`): a folk tune's type
          (reel, jig, hornpipe, ...) or a jazz solo's rhythm feel (swing, latin, two-beat);
          0 is "any": a melody without a label, a request without a style, and a share
          of training windows whose label is hidden (stylexfer.dataset.windows)
  tempo   its tempo in quarter notes a minute, in log-spaced buckets; 0 is unknown

A genre's styles are the labels its training melodies carry often enough to learn
(`MIN_MELODIES`); which labels are worth asking for is measured by `stylexfer-evaluate
--styles` (jazz's styles, bebop against post-bop, are not told apart by their rhythm; its
feels are, so jazz trains on its feels). The list is stored in the genre's traits
(stylexfer.tokens.traits) and in its SavedModel, which looks a request's style up in it.
"""

import collections
import dataclasses

import numpy as np

ANY = ''  # the style of id 0
# Bucket edges in quarter notes a minute: id k + 1 for a tempo in [edge k - 1, edge k).
# Log-spaced (each about 1.2x the one before), from a ballad to a burner.
TEMPO_EDGES = (70, 85, 100, 120, 145, 170, 200, 240, 290)
NUM_TEMPI = len(TEMPO_EDGES) + 2  # unknown, then the buckets
# A label names a style once this many training melodies carry it.
MIN_MELODIES = 30
FIELDS = ('style', 'feel')  # the record fields a genre's styles may come from


def tempo_ids(tempi):
  """Bucket ids (int32) of tempi in quarter notes a minute; 0 (or less) is unknown."""
  tempi = np.asarray(tempi, np.float64)
  ids = 1 + np.searchsorted(np.asarray(TEMPO_EDGES, np.float64), tempi, side='right')
  return np.where(tempi > 0, ids, 0).astype(np.int32)


def tempo_ids_graph(tempi):
  """tempo_ids in a TensorFlow graph: the same ids for float tensors."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tempi = tf.cast(tempi, tf.float32)
  edges = tf.constant(TEMPO_EDGES, tf.float32)
  above = tf.reduce_sum(tf.cast(tempi[..., None] >= edges, tf.int32), -1)
  return tf.where(tempi > 0, 1 + above, 0)


@dataclasses.dataclass(frozen=True)
class Styles:
  """A genre's styles: the record field they come from, their names (ids 1..), and the
  labels counted as another (`aliases`: (label, name) pairs, e.g. funk as latin)."""
  field: str = 'style'
  names: tuple = ()
  aliases: tuple = ()

  def __post_init__(self):
    if self.field not in FIELDS:
      raise ValueError(f'styles come from one of the fields {FIELDS}, not {self.field!r}')
    object.__setattr__(self, 'names', tuple(str(n) for n in self.names))
    object.__setattr__(self, 'aliases', tuple((str(a), str(b)) for a, b in self.aliases))
    if ANY in self.names or len(set(self.names)) != len(self.names):
      raise ValueError(f'style names must be distinct and not empty, got {self.names}')

  @property
  def lookup(self):
    """{label: id} of every name and alias (ids from 1)."""
    ids = {name: k + 1 for k, name in enumerate(self.names)}
    ids.update({label: ids[name] for label, name in self.aliases if name in ids})
    return ids

  def id_of(self, label):
    """The id of a record's label: 0 for none or one that is not among the styles."""
    label = label.decode() if isinstance(label, bytes) else str(label)
    return self.lookup.get(label, 0)

  def request_id(self, style):
    """The id of a requested style ('' for any); ValueError naming the styles there are."""
    if style == ANY:
      return 0
    found = self.lookup.get(style)
    if found is None:
      raise ValueError(f'unknown style {style!r}: {describe(self.names, self.field)}')
    return found


_KINDS = {'style': 'tune types', 'feel': 'rhythm feels'}


def describe(names, field='style'):
  """'its styles (tune types) are a, b' or 'it has no styles', for messages."""
  if not names:
    return 'it has no styles'
  return f'its styles ({_KINDS.get(field, field)}) are {", ".join(names)}'


def parse_groups(text):
  """Aliases from 'latin+funk,a+b': every later label of a group counted as its first."""
  aliases = []
  for group in filter(None, (g.strip() for g in text.split(','))):
    labels = [label.strip() for label in group.split('+')]
    if len(labels) < 2 or not all(labels):
      raise ValueError(f'a style group is labels joined by +, like latin+funk; got {group!r}')
    aliases += [(label, labels[0]) for label in labels[1:]]
  return tuple(aliases)


def from_melodies(melodies, field='style', aliases=(), min_melodies=MIN_MELODIES):
  """The Styles of training melody records: every label (after aliases) carried by at
  least `min_melodies` of them, most common first (ties by name)."""
  renamed = dict(aliases)
  counts = collections.Counter()
  for melody in melodies:
    label = melody.get(field, b'')
    label = label.decode() if isinstance(label, bytes) else str(label)
    if label:
      counts[renamed.get(label, label)] += 1
  names = [name for name, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
           if count >= min_melodies]
  return Styles(field, tuple(names), tuple(a for a in aliases if a[1] in names))
