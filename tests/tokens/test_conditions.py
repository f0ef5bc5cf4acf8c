"""Tests of the style and tempo ids the heads hear."""

import numpy as np
import pytest
import tensorflow as tf

from stylexfer.tokens import conditions


def test_tempo_buckets_are_log_spaced_and_0_is_unknown():
  tempi = [0, -5, 40, 69.9, 70, 84, 85, 119, 120, 199, 200, 289, 290, 400, 1000]
  ids = conditions.tempo_ids(tempi)
  np.testing.assert_array_equal(ids, [0, 0, 1, 1, 2, 2, 3, 4, 5, 7, 8, 9, 10, 10, 10])
  assert ids.max() == conditions.NUM_TEMPI - 1
  # The graph gives the same ids, in training's tf.data and in the SavedModel.
  np.testing.assert_array_equal(conditions.tempo_ids_graph(tf.constant(tempi, tf.float32)),
                                ids)
  ratios = np.diff(np.log(conditions.TEMPO_EDGES))
  assert 0.13 < ratios.min() and ratios.max() < 0.22  # each bucket about 1.2x the last


def test_styles_are_the_labels_enough_melodies_carry_with_their_groups():
  melodies = ([{'feel': b'swing'}] * 40 + [{'feel': b'latin'}] * 12 + [{'feel': b'funk'}] * 9
              + [{'feel': 'twobeat'}] * 29 + [{'feel': b''}] * 50 + [{'feel': b'ballad'}] * 3)
  styles = conditions.from_melodies(melodies, 'feel', conditions.parse_groups('latin+funk'),
                                    min_melodies=20)
  assert styles.names == ('swing', 'twobeat', 'latin')  # most common first
  assert styles.id_of(b'funk') == styles.id_of('latin') == 3
  assert styles.id_of('ballad') == styles.id_of('') == 0
  assert styles.request_id('') == 0 and styles.request_id('swing') == 1
  with pytest.raises(ValueError, match=r"unknown style 'bebop': its styles \(rhythm feels\) "
                                       'are swing, twobeat, latin'):
    styles.request_id('bebop')
  # Fewer than the least count: no style; a group of one label is refused.
  assert conditions.from_melodies(melodies, 'feel').names == ('swing',)
  with pytest.raises(ValueError, match='labels joined by +'):
    conditions.parse_groups('latin')
  with pytest.raises(ValueError, match='fields'):
    conditions.Styles('mood')
