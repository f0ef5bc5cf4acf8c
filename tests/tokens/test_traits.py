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


def test_styles_and_their_swing_round_trip_and_choose_how_eighths_are_played(tmp_path):
  jazz = traits.Traits(65, 1.11, False, styles=('swing', 'latin'), style_field='feel',
                       style_aliases=(('funk', 'latin'),), style_swing=(1.12, 1.05),
                       tempo_swing=((120, 1.06), (250, 1.14)))
  traits.save(str(tmp_path), jazz)
  assert traits.load(str(tmp_path)) == jazz
  assert jazz.style_set.id_of('funk') == 2
  # The style's own ratio first, then the tempo's band, then the genre's.
  assert jazz.swing_for('latin', 300) == 1.05
  assert jazz.swing_for('', 100) == 1.06 and jazz.swing_for('', 200) == 1.14
  assert jazz.swing_for('', 320) == 1.14 and jazz.swing_for('', 0) == 1.11
  assert traits.Traits().swing_for('reel', 200) == 1.0
  for bad in (dict(style_swing=(1.1,)), dict(tempo_swing=((250, 1.1), (120, 1.0))),
              dict(styles=('swing', 'swing')), dict(style_guidance=-1.0)):
    try:
      traits.Traits(**{'styles': ('swing', 'latin'), **bad})
    except ValueError:
      continue
    raise AssertionError(f'{bad} was accepted')


def test_guidance_is_applied_only_where_a_model_hears_styles():
  assert traits.Traits(styles=('swing', 'latin'), style_guidance=2.5).guidance == 2.5
  assert traits.Traits(style_guidance=2.5).guidance == 0.0
