"""A genre's traits measured on its melody records."""

from stylexfer.tokens import traits


def _records(first_pitches, signatures):
  return [{'first_pitch': p, 'time_signature': s.encode()}
          for p, s in zip(first_pitches, signatures)]


def test_first_pitch_is_the_middle_of_the_first_notes():
  found = traits.from_melodies(_records([60, 62, 70, 55, 64], ['4/4'] * 5))
  assert found.first_pitch == 62 and not found.compound_meter


def test_a_genre_writes_compound_time_when_enough_of_its_tunes_do():
  jigs = traits.from_melodies(_records([67] * 10, ['6/8'] + ['4/4'] * 9))
  assert jigs.compound_meter
  assert not traits.from_melodies(_records([67] * 11, ['6/8'] + ['4/4'] * 10)).compound_meter
  assert traits.is_compound('12/8') and not traits.is_compound('3/8')


def test_traits_are_saved_beside_the_run_and_default_without(tmp_path):
  assert traits.load(str(tmp_path)) == traits.Traits()
  saved = traits.Traits(58, 1.1, False)
  traits.save(str(tmp_path), saved)
  assert traits.load(str(tmp_path)) == saved
