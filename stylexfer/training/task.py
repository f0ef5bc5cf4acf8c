"""The training task: one step of both heads' loss per token, under any strategy."""

from absl import logging
import keras
import tensorflow as tf

from stylexfer.model import layers
from stylexfer.model import melody_model
from stylexfer.training import config as config_lib


class Task:
  """A model, its optimizer and the distributed train and eval steps.

  Build it under `strategy.scope()`. Steps return the summed losses, correct predictions
  and scored tokens of both heads (melody_model.head_sums), reduced over the replicas.
  """

  def __init__(self, config, training, strategy, total_steps):
    self.strategy = strategy
    self.model = melody_model.build_model(config)
    self.matmul_dtype = layers.set_matmul_dtype(self.model, training.matmul_dtype)
    logging.info('LSTM training matmuls where no GPU runs them: %s', self.matmul_dtype)
    # Keras clips each replica's share of the gradient before the replicas' sum, so with
    # several replicas the clip on the whole gradient is looser: a guard, not a tuning.
    self.optimizer = keras.optimizers.Adam(
        config_lib.learning_rate(training, total_steps),
        global_clipnorm=training.clipnorm or None)
    self.optimizer.build(self.model.trainable_variables)

  def _replica_train_step(self, features, targets):
    with tf.GradientTape() as tape:
      sums = melody_model.head_sums(targets, self.model(features, training=True))
      # Divide by the tokens of all replicas: the gradients are summed across replicas,
      # so the step follows the mean loss per token of the whole global batch.
      counts = tf.distribute.get_replica_context().all_reduce(
          tf.distribute.ReduceOp.SUM, [sums[f'{head}_count'] for head in melody_model.HEADS])
      loss = tf.add_n([sums[f'{head}_loss'] / tf.maximum(count, 1.0)
                       for head, count in zip(melody_model.HEADS, counts)])
    gradients = tape.gradient(loss, self.model.trainable_variables)
    self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
    return sums

  def _replica_eval_step(self, features, targets):
    return melody_model.head_sums(targets, self.model(features, training=False))

  def _reduce(self, per_replica):
    return {key: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for key, value in per_replica.items()}

  @tf.function
  def train_step(self, iterator):
    features, targets = next(iterator)
    return self._reduce(self.strategy.run(self._replica_train_step,
                                          args=(features, targets)))

  @tf.function
  def eval_step(self, features, targets):
    return self._reduce(self.strategy.run(self._replica_eval_step,
                                          args=(features, targets)))

  def current_learning_rate(self):
    return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
