"""Per-token metrics of an epoch, and the TensorBoard summaries of a run."""

import os

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from stylexfer.model import melody_model


def summarize(totals, prefix=''):
  """Per-token means of summed metrics; loss is the sum of both heads' losses."""
  logs = {}
  for head in melody_model.HEADS:
    count = max(totals.get(f'{head}_count', 0.0), 1.0)
    logs[f'{prefix}{head}_loss'] = totals.get(f'{head}_loss', 0.0) / count
    logs[f'{prefix}{head}_accuracy'] = totals.get(f'{head}_correct', 0.0) / count
  logs[f'{prefix}loss'] = logs[f'{prefix}pitch_loss'] + logs[f'{prefix}duration_loss']
  return logs


def scalar_summary(tag, value):
  """tf.summary.scalar without the tensorboard package, which TF no longer pulls in."""
  metadata = summary_pb2.SummaryMetadata()
  metadata.plugin_data.plugin_name = 'scalars'
  tf.summary.write(tag, tf.constant(value, tf.float32), metadata=metadata)


class Summaries:
  """<run_dir>/train and <run_dir>/validation: an epoch's logs, written by the chief."""

  def __init__(self, run_dir, chief):
    self._writers = {
        split: (tf.summary.create_file_writer(os.path.join(run_dir, split)) if chief
                else tf.summary.create_noop_writer())
        for split in ('train', 'validation')}

  def write(self, epoch, logs):
    for split, writer in self._writers.items():
      with writer.as_default(step=epoch):
        for key, value in logs.items():
          if key.startswith('val_') == (split == 'validation'):
            scalar_summary(key.removeprefix('val_'), value)
      writer.flush()
