"""The melodies build on Apache Beam: files -> tunes -> melodies -> records, one split each.

Imported only when a build asks for Beam (`pip install stylexfer[beam]`). The steps are
stylexfer.dataset.corpus's, the same ones the one-process path runs, so both give the same records;
what they read and drop is counted with Beam metrics counters under the namespace below.
"""

import collections

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
import tensorflow_datasets as tfds

from stylexfer.dataset import corpus

NAMESPACE = 'melodies'


class SplitExamples(beam.PTransform):
  """The (tune id, record) pairs of one split.

  The corpus is parsed once for all splits: the first split's transform builds the shared
  records and leaves them in `shared` for the others.
  """

  def __init__(self, files, genre, split, shared):
    super().__init__()
    self._files, self._genre, self._split, self._shared = files, genre, split, shared

  def expand(self, pbegin):
    records = self._shared.get('records')
    if records is None:
      records = self._shared['records'] = (
          pbegin.pipeline | 'Melodies' >> _Records(self._files, self._genre))
    return records | f'Only{self._split.title()}' >> beam.Filter(_in_split, self._split)


class _Records(beam.PTransform):
  """(tune id, record) for every tune kept, once per tune id."""

  def __init__(self, files, genre):
    super().__init__()
    self._files, self._genre = files, genre

  def expand(self, pbegin):
    return (pbegin
            | 'Files' >> beam.Create(self._files)
            | 'Tunes' >> beam.FlatMap(corpus.tunes_of_file, count=count)
            # Files hold from one tune to hundreds: spread the tunes over the workers.
            | 'Spread' >> beam.Reshuffle()
            | 'Parse' >> beam.FlatMap(_parse, self._genre)
            | 'ByTuneId' >> beam.GroupByKey()
            | 'FirstOfEach' >> beam.Map(_first_of_each))


def count(name, value=1):
  """Adds `value` to the build statistic `name` (a Beam metrics counter)."""
  if value:
    tfds.beam.inc_counter(name, value, namespace=NAMESPACE)


def counts(pipeline_result):
  """The build statistics counted by a finished pipeline, as a Counter."""
  query = pipeline_result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
  totals = collections.Counter()
  for counter in query['counters']:
    # Each step reports its own counter: one statistic may be counted in several.
    value = counter.committed if counter.committed is not None else counter.attempted
    totals[counter.key.metric.name] += value
  return totals


def _parse(tune, genre):
  melody = corpus.parse_tune(tune, count)
  keyed = corpus.record_of(melody, genre, count) if melody is not None else None
  if keyed is not None:
    key, record, tune_counts = keyed
    yield key, (tune.order, record, dict(tune_counts))


def _first_of_each(keyed):
  # Two tunes with one id: the first in file order is kept, as on the one-process path.
  key, values = keyed
  values = sorted(values, key=lambda value: value[0])
  count('dropped tunes: duplicate tune id', len(values) - 1)
  _, record, tune_counts = values[0]
  corpus.count_kept(tune_counts, record, count)
  return key, record


def _in_split(keyed, split):
  return corpus.split_of(keyed[0]) == split
