"""The best epoch so far: its validation loss, its weights on disk, and when to stop.

The counters live in the run's checkpoint, so a resumed run remembers its best epoch;
the weights are written to <run_dir>/best.weights.h5 each time the validation loss falls.
"""

import math
import os

import tensorflow as tf

from stylexfer.model import melody_model
from stylexfer.training import files


class BestEpoch:
  """Tracks the lowest validation loss; create it under the strategy's scope."""

  def __init__(self, run_dir, patience):
    self.patience = patience
    self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name='best_epoch')
    self.val_loss = tf.Variable(math.inf, dtype=tf.float32, trainable=False,
                                name='best_val_loss')
    self.weights_path = os.path.join(run_dir, 'best.weights.h5')

  def should_stop(self, completed_epochs):
    """True once `patience` epochs have passed without a lower validation loss."""
    return bool(self.patience) and completed_epochs - int(self.epoch.numpy()) >= self.patience

  def update(self, epoch, val_loss, model, chief, keeps):
    """Records an epoch's validation loss; writes its weights when it is the lowest."""
    if val_loss >= self.val_loss.numpy():
      return
    self.val_loss.assign(val_loss)
    self.epoch.assign(epoch)
    if chief:
      with files.writing(self.weights_path, keeps):
        files.write_atomically(self.weights_path, files.weights_h5_bytes(model))

  def metrics(self):
    return {'best_epoch': int(self.epoch.numpy()),
            'best_val_loss': (float(self.val_loss.numpy())
                              if math.isfinite(self.val_loss.numpy()) else None)}


def save_final(config, trained, best_weights_path, path):
  """Saves a plain (undistributed) copy of the model with the best or last weights."""
  final = melody_model.build_model(config)
  if best_weights_path and tf.io.gfile.exists(best_weights_path):
    final.load_weights(best_weights_path)
  else:
    final.set_weights(trained.get_weights())
  # Written whole or not at all: a kill during a direct save once left a 454-byte
  # model.keras that is not a zip.
  files.write_atomically(path, files.keras_bytes(final))
