"""Epoch checkpoints: the model, the optimizer and the counters, saved after every epoch.

Two are kept, so that a damaged newest checkpoint costs one epoch: a resumed run falls
back to the one before it (`restore_latest_intact`).
"""

import contextlib
import os

from absl import logging
import tensorflow as tf

from stylexfer.training import files


class EpochCheckpoints:
  """The checkpoint of a run's state in <run_dir>/checkpoints, resumed and saved."""

  def __init__(self, run_dir, write_dir, chief, **state):
    self.folder = os.path.join(run_dir, 'checkpoints')
    self._write_folder = os.path.join(write_dir, 'checkpoints')
    self._chief = chief
    self.checkpoint = tf.train.Checkpoint(**state)
    self.manager = None

  def restore(self):
    """Restores the newest intact checkpoint; returns its path, or None for a new run."""
    latest = restore_latest_intact(self.checkpoint, self.folder)
    if latest and self._chief:
      with files.writing(f'the checkpoint state in {self.folder}'):
        repair_state(self.folder, latest)
    self.manager = tf.train.CheckpointManager(self.checkpoint, self._write_folder,
                                              max_to_keep=2)
    return latest

  def keeps(self):
    """What a failed write leaves: the last checkpoint saved whole."""
    latest = self.manager.latest_checkpoint
    return (f'the last good checkpoint, {latest}, is kept: free some space and run again '
            'with the same flags to resume from it' if latest else 'no epoch was saved yet')

  def save(self, epoch, write_dir):
    with files.writing(f'the epoch {epoch} checkpoint in {write_dir}', self.keeps()):
      try:
        self.manager.save(checkpoint_number=epoch)
      finally:
        remove_partial(self._write_folder)
    if not self._chief:
      tf.io.gfile.rmtree(self._write_folder)


def newest_first(folder):
  """Path prefixes of the checkpoints in `folder` that have an index file, newest first.

  Found by listing the folder rather than from its `checkpoint` state file, which may be
  the file that is damaged.
  """
  found = []
  for index in tf.io.gfile.glob(os.path.join(folder, 'ckpt-*.index')):
    prefix = index[:-len('.index')]
    number = prefix.rsplit('-', 1)[-1]
    if number.isdigit():
      found.append((int(number), prefix))
  return [prefix for _, prefix in sorted(found, reverse=True)]


def restore_latest_intact(checkpoint, folder):
  """Restores the newest checkpoint in `folder` that reads back whole; returns its path.

  A damaged newest checkpoint (a garbled, truncated, empty or missing data file, a garbled
  index) is skipped with a warning and the one before it is used, so a resumed run loses
  one epoch, not the run. Returns None when there is no checkpoint; raises TrainingError
  when there are some and none reads back.
  """
  failures = []
  for prefix in newest_first(folder):
    try:
      checkpoint.restore(prefix).assert_existing_objects_matched()
    except Exception as error:  # pylint: disable=broad-except
      # TensorFlow reports damage as OpError, IndexError, ValueError or AssertionError.
      reason = ' '.join(str(error).split())[:200] or type(error).__name__
      logging.warning('Checkpoint %s is damaged and is skipped: %s', prefix, reason)
      failures.append(f'{os.path.basename(prefix)}: {reason}')
      continue
    if failures:
      logging.warning('Fell back to the checkpoint before the damaged one: %s (epoch %d).',
                      prefix, int(checkpoint.epoch.numpy()))
    return prefix
  if failures:
    raise files.TrainingError(f'no checkpoint in {folder} reads back ({"; ".join(failures)}): '
                              'move that folder away to start the run again')
  return None


def repair_state(folder, restored):
  """Rewrites a `checkpoint` state file that is missing or does not parse.

  Without it CheckpointManager forgets the checkpoints on disk: they would never be
  cleaned up, and a later resume could not find the newest one.
  """
  state = os.path.join(folder, 'checkpoint')
  if tf.train.get_checkpoint_state(folder) is not None:
    return
  if tf.io.gfile.exists(state):
    logging.warning('%s is damaged; rewriting it to name %s.', state, restored)
  older = list(reversed(newest_first(folder)))
  kept = older[:older.index(restored) + 1][-2:]
  # The CheckpointState text format as CheckpointManager writes it; it only ever deletes
  # checkpoints that have a timestamp.
  files.write_atomically(state, ''.join(
      [f'model_checkpoint_path: "{os.path.basename(kept[-1])}"\n'] +
      [f'all_model_checkpoint_paths: "{os.path.basename(prefix)}"\n' for prefix in kept] +
      [f'all_model_checkpoint_timestamps: '
       f'{tf.io.gfile.stat(prefix + ".index").mtime_nsec / 1e9}\n' for prefix in kept]))


def remove_partial(folder):
  """Removes what a failed save left: TensorFlow writes ckpt-N_temp/ before ckpt-N."""
  for partial in tf.io.gfile.glob(os.path.join(folder, 'ckpt-*_temp')):
    with contextlib.suppress(tf.errors.OpError, OSError):
      tf.io.gfile.rmtree(partial)
