"""The tf.distribute strategies a run can use, and which worker keeps what it writes."""

import os

import tensorflow as tf

from stylexfer.training import config as config_lib


def make_strategy(name, tpu=''):
  """The tf.distribute strategy called `name` (one of config.STRATEGIES)."""
  if name == 'one_device':
    gpus = tf.config.list_logical_devices('GPU')
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else '/cpu:0')
  if name == 'mirrored':
    # Without GPUs, mirror over the logical CPU devices (see --cpu_devices).
    devices = (tf.config.list_logical_devices('GPU')
               or tf.config.list_logical_devices('CPU'))
    return tf.distribute.MirroredStrategy([device.name for device in devices])
  if name == 'multi_worker_mirrored':
    return tf.distribute.MultiWorkerMirroredStrategy()
  if name == 'tpu':
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f'unknown distribution strategy {name!r}; choose one of '
                   f'{config_lib.STRATEGIES}')


def set_threads(intra_op=0, inter_op=0, strategy_name='one_device'):
  """Sizes TensorFlow's thread pools; must run before TensorFlow initializes.

  Returns (intra_op, inter_op) as set. 0 leaves a pool to TensorFlow, except where
  training runs on CPUs alone (no GPU, not on a TPU): there 0 gives one op half the cores
  and runs two ops at a time. The pitch and duration heads are independent, so their ops
  can run side by side, and an LSTM step's matmuls are too small to gain much from more
  threads: on a 2-core CPU the default preset trains 1.1x to 1.4x faster so (BUILD_NOTES.md).
  """
  if strategy_name != 'tpu' and not tf.config.list_physical_devices('GPU'):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (
        os.cpu_count() or 1)
    intra_op = intra_op or max(1, cores // 2)
    inter_op = inter_op or 2
  tf.config.threading.set_intra_op_parallelism_threads(intra_op)
  tf.config.threading.set_inter_op_parallelism_threads(inter_op)
  return intra_op, inter_op


def split_cpu(num_devices):
  """Splits the CPU into logical devices; must run before TensorFlow initializes."""
  cpu = tf.config.list_physical_devices('CPU')[0]
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def is_chief(strategy):
  resolver = getattr(strategy, 'cluster_resolver', None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == 'chief':
    return True
  has_chief = 'chief' in resolver.cluster_spec().as_dict()
  return resolver.task_type == 'worker' and resolver.task_id == 0 and not has_chief


def write_dir(model_dir, strategy):
  """model_dir for the chief; a private scratch folder for the other workers.

  Every worker must write its checkpoints (they take part in the same collective
  operations), but only the chief's are kept.
  """
  if is_chief(strategy):
    return model_dir
  resolver = strategy.cluster_resolver
  return os.path.join(model_dir, f'.worker_{resolver.task_type}_{resolver.task_id}')
