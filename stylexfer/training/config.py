"""How to train: the settings of a run, and the model config a preset resolves to.

Free of TensorFlow, so that stylexfer-train checks its flags before it starts.
"""

import dataclasses

from stylexfer.model import config as model_config

# The tf.distribute strategies a run can use (stylexfer.training.strategy makes them).
STRATEGIES = ('one_device', 'mirrored', 'multi_worker_mirrored', 'tpu')


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
  """How to train: the values behind the command-line flags of the same names."""
  epochs: int = 30
  batch_size: int = 64           # global: split across replicas
  learning_rate: float = 1e-3
  lr_schedule: str = 'cosine'    # constant | cosine
  seed: int = 0
  patience: int = 5              # epochs without a better validation loss; 0: never stop
  steps_per_epoch: int = 0       # 0: one pass over the training windows
  clipnorm: float = 1.0          # LSTM gradients spike on long windows
  shuffle_buffer: int = 10_000
  matmul_dtype: str = 'auto'     # auto | float32 | bfloat16: LSTM matmuls of CPU training


def resolve_config(preset_name, overrides=()):
  """The MelodyConfig of a preset with `key=value` overrides applied."""
  return model_config.preset(preset_name).override(overrides)


def learning_rate(training, total_steps):
  """The learning rate, or its schedule over `total_steps`."""
  if training.lr_schedule == 'constant':
    return training.learning_rate
  if training.lr_schedule == 'cosine':
    import keras  # pylint: disable=g-import-not-at-top
    return keras.optimizers.schedules.CosineDecay(
        training.learning_rate, decay_steps=max(1, total_steps), alpha=0.05)
  raise ValueError(f'unknown lr_schedule {training.lr_schedule!r}')
