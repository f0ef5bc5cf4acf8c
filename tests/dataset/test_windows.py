"""Tests of the step framing and the training windows."""

import numpy as np
import tensorflow as tf

from stylexfer.dataset import windows
from stylexfer.model import melody_model
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


def _segments(block):
  """A window's melodies, or parts of them, as tuples of steps: each opens at a START."""
  length = int((block['durations_out'] != PAD).sum())
  cuts = [0] + [t for t in range(1, length) if block['durations_in'][t] == START] + [length]
  return [tuple(tuple(block[name][a:b]) for name in windows.SEQUENCES)
          for a, b in zip(cuts, cuts[1:])]


def test_packed_windows_hold_every_step_once_in_fewer_windows():
  rng = np.random.default_rng(2)
  # Steps per melody (notes + 1): 11 and 14 fill a window of 8 and continue in the next;
  # 4, 3, 6 and 2 fit in one.
  melodies = _melodies(*[(rng.integers(3, 40, n - 1), rng.integers(3, 40, n))
                         for n in (10, 3, 2, 5, 1, 13)])
  unpacked = list(windows.melody_windows(melodies, 8).as_numpy_iterator())
  packed = list(windows.pack(windows.melody_windows(melodies, 8), 8).as_numpy_iterator())

  assert len(unpacked) == 8
  # Longest first, each into the fullest window it fits: [6 + 2], [continuation 6],
  # [continuation 3 + 4], [3], and the two full windows as they were.
  assert len(packed) == 6
  assert all(block[name].shape == (8,) for block in packed for name in windows.SEQUENCES)
  full = [block for block in unpacked if (block['durations_out'] != PAD).all()]
  assert len(full) == 2
  for block in full:
    assert any(all((block[n] == other[n]).all() for n in windows.SEQUENCES) for other in packed)
  # The same melodies and parts of melodies, each whole and once.
  assert sorted(sum((_segments(b) for b in packed), [])) == sorted(
      sum((_segments(b) for b in unpacked), []))
  for block in packed:
    length = int((block['durations_out'] != PAD).sum())
    assert (block['durations_out'][length:] == PAD).all()
    # A window opens with its only continuation, if any; every other part is a melody.
    assert all(segment[1][0] == START for segment in _segments(block)[1:])


def test_a_packed_window_trains_each_melody_as_a_window_of_its_own():
  # The LSTMs' training pass starts each melody of a packed window from a zero state, so
  # both heads give it the logits it gets alone (the tiny preset has no dropout).
  rng = np.random.default_rng(3)
  melodies = _melodies(*[(rng.integers(3, 40, n - 1), rng.integers(3, 40, n))
                         for n in (3, 4, 2, 6, 14)])
  model = melody_model.build_model(melody_model.preset('tiny').override(['window=16']))

  def logits(blocks):
    features = {name: np.stack([b[name] for b in blocks]) for name in windows.FEATURES}
    outputs = model(features, training=True)
    return [{head: outputs[head][k].numpy() for head in outputs} for k in range(len(blocks))]

  unpacked = list(windows.melody_windows(melodies, 16).as_numpy_iterator())
  packed = list(windows.pack(windows.melody_windows(melodies, 16), 16).as_numpy_iterator())
  assert len(packed) < len(unpacked)
  alone = {}
  for block, out in zip(unpacked, logits(unpacked)):
    alone[_segments(block)[0]] = out
  checked = 0
  for block, out in zip(packed, logits(packed)):
    start = 0
    for segment in _segments(block):
      steps = len(segment[0])
      for head in out:
        np.testing.assert_allclose(out[head][start:start + steps],
                                   alone[segment][head][:steps], atol=1e-5)
      start += steps
      checked += 1
  assert checked == len(unpacked)


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
