"""Tests of the step framing and the training windows."""

import numpy as np
import tensorflow as tf

from stylexfer.dataset import windows
from stylexfer.model import melody_model
from stylexfer.tokens import conditions
from stylexfer.tokens import vocabulary

PAD, START, END = vocabulary.PAD, vocabulary.START, vocabulary.END


def _melodies(*melodies):
  """A dataset of melody records from (intervals, durations) pairs."""
  return tf.data.Dataset.from_generator(
      lambda: ({'intervals': np.array(i, np.int32), 'durations': np.array(d, np.int32)}
               for i, d in melodies),
      output_signature={'intervals': tf.TensorSpec([None], tf.int32),
                        'durations': tf.TensorSpec([None], tf.int32)})


def test_frame_gives_the_four_step_sequences():
  # Three notes: intervals i1=10, i2=20; durations d0=5, d1=6, d2=7.
  framed = windows.frame([10, 20], [5, 6, 7])
  expected = {
      'intervals_in': [START, START, 10, 20],
      'durations_in': [START, 5, 6, 7],
      'intervals_out': [START, 10, 20, END],
      'durations_out': [5, 6, 7, END],
  }
  for name, values in expected.items():
    np.testing.assert_array_equal(framed[name].numpy(), values, err_msg=name)


def test_frame_of_a_single_note():
  framed = windows.frame(np.zeros([0], np.int32), [9])
  np.testing.assert_array_equal(framed['intervals_out'].numpy(), [START, END])
  np.testing.assert_array_equal(framed['durations_out'].numpy(), [9, END])


def test_windows_hold_every_step_exactly_once():
  rng = np.random.default_rng(1)
  intervals = rng.integers(3, vocabulary.NUM_INTERVALS, 299)
  durations = rng.integers(3, vocabulary.NUM_DURATIONS, 300)
  melodies = _melodies((intervals, durations))
  blocks = list(windows.melody_windows(melodies, 128).as_numpy_iterator())

  assert len(blocks) == 3 == windows.count_windows(melodies, 128)
  assert all(block[name].shape == (128,) for block in blocks for name in windows.SEQUENCES)
  framed = windows.frame(intervals, durations)
  for name in windows.SEQUENCES:
    joined = np.concatenate([block[name] for block in blocks])
    np.testing.assert_array_equal(joined[:301], framed[name].numpy(), err_msg=name)
    assert (joined[301:] == PAD).all()
  for head, target in melody_model.TARGETS.items():
    non_pad = sum(int((block[target] != PAD).sum()) for block in blocks)
    assert non_pad == 301, head
  pitch_scored = sum(float(tf.reduce_sum(melody_model.target_mask(
      'pitch_logits', block['intervals_out']))) for block in blocks)
  assert pitch_scored == 300  # every interval and END; not note 0's START


def test_eval_batches_are_full_and_padded_with_empty_windows():
  melodies = _melodies(([4] * 9, [5] * 10), ([6] * 2, [7] * 3))
  batches = list(windows.eval_batches(windows.melody_windows(melodies, 8), 4))
  assert len(batches) == 1
  features, targets = batches[0]
  assert features['intervals_in'].shape == (4, 8)
  # 11 + 4 steps, the rest padding.
  assert int(tf.math.count_nonzero(targets['duration_logits'])) == 15
  assert not tf.math.count_nonzero(targets['duration_logits'][3:]).numpy()


def test_train_batches_repeat_with_fixed_shape():
  melodies = _melodies(([4] * 9, [5] * 10))
  batches = windows.train_batches(windows.melody_windows(melodies, 8), 3, seed=0)
  for features, targets in batches.take(4):
    assert features['durations_in'].shape == (3, 8)
    assert targets['pitch_logits'].shape == (3, 8)


def test_windows_hear_each_melodys_style_and_tempo_at_every_step():
  records = [('reel', 110.0), ('polka', 0.0), ('jig', 300.0)]
  melodies = tf.data.Dataset.from_generator(
      lambda: ({'intervals': np.full(20, 30, np.int32), 'durations': np.full(21, 10, np.int32),
                'style': style, 'tempo': np.float32(tempo)} for style, tempo in records),
      output_signature={'intervals': tf.TensorSpec([None], tf.int32),
                        'durations': tf.TensorSpec([None], tf.int32),
                        'style': tf.TensorSpec([], tf.string),
                        'tempo': tf.TensorSpec([], tf.float32)})
  styles = conditions.Styles('style', ('reel', 'jig'))
  blocks = list(windows.melody_windows(melodies, 8, styles).as_numpy_iterator())
  assert len(blocks) == 9
  for k, (style, tempo) in enumerate(records):
    heard = blocks[3 * k:3 * k + 3]
    steps = np.concatenate([b['durations_out'] for b in heard]) != PAD
    for name, value in (('styles', styles.id_of(style)),
                        ('tempi', conditions.tempo_ids([tempo])[0])):
      joined = np.concatenate([b[name] for b in heard])
      assert (joined[steps] == value).all() and (joined[~steps] == PAD).all(), name
  # Without styles every melody is of any style.
  assert not any(b['styles'].any() for b in windows.melody_windows(melodies, 8)
                 .as_numpy_iterator())


def test_a_share_of_training_windows_hides_metre_style_and_tempo_each_on_its_own():
  rng = np.random.default_rng(0)
  window = lambda: {name: tf.constant(rng.integers(3, 40, 16), tf.int32)
                    for name in windows.SEQUENCES}
  hidden = {name: 0 for name in ('positions', 'styles', 'tempi')}
  both = 0
  for _ in range(400):
    shown = windows.hide(window())
    for name in hidden:
      hidden[name] += not shown[name].numpy().any()
    both += not shown['styles'].numpy().any() and not shown['tempi'].numpy().any()
  for name, count in hidden.items():
    assert 60 < count < 140, name  # a quarter of 400
  assert 10 < both < 45  # independent draws: about a sixteenth
