"""The copyist's check: it finds each defect in a score that has it, and none in ours."""

import fractions
import pathlib

import pytest

from stylexfer.evaluation import notation_check
from stylexfer.reading import readers
from stylexfer.serving import client
from stylexfer.serving import loading

Fraction = fractions.Fraction
REEL = (pathlib.Path(__file__).resolve().parents[2] / 'stylexfer' / 'examples' /
        'the_stylexfer_reel.abc')


def _note(quarters, divisions=48, rest=False, ties=(), kind='eighth', tuplet=None,
          in_tuplet=False):
  pitch = '<rest/>' if rest else '<pitch><step>C</step><octave>5</octave></pitch>'
  tie = ''.join(f'<tie type="{t}"/>' for t in ties)
  modification = ('<time-modification><actual-notes>3</actual-notes><normal-notes>2'
                  '</normal-notes></time-modification>' if in_tuplet or tuplet else '')
  notations = ''.join(f'<tied type="{t}"/>' for t in ties)
  if tuplet:
    notations += f'<tuplet type="{tuplet}"/>'
  return (f'<note>{pitch}<duration>{int(quarters * divisions)}</duration>{tie}'
          f'<type>{kind}</type>{modification}'
          f'{f"<notations>{notations}</notations>" if notations else ""}</note>')


def _score(measures, clef=True):
  """A one-part MusicXML score in 2/4 of measures given as (notes, right bar line XML)."""
  body = ''
  for number, (notes, line) in enumerate(measures, 1):
    attributes = ('<attributes><divisions>48</divisions><time><beats>2</beats>'
                  '<beat-type>4</beat-type></time>'
                  + ('<clef><sign>G</sign><line>2</line></clef>' if clef else '')
                  + '</attributes>') if number == 1 else ''
    body += f'<measure number="{number}">{attributes}{"".join(notes)}{line}</measure>'
  return ('<score-partwise version="3.1"><part-list><score-part id="P1"><part-name/>'
          f'</score-part></part-list><part id="P1">{body}</part></score-partwise>')


def test_each_defect_is_found_where_it_is():
  third = Fraction(1, 3)
  repeat = '<barline location="right"><bar-style>light-heavy</bar-style><repeat direction="backward"/></barline>'
  score = _score([
      # A bracket over two beats of mixed values, a triplet half rest.
      ([_note(third, tuplet='start'), _note(third, in_tuplet=True),
        _note(Fraction(1), rest=True, in_tuplet=True, kind='half'),
        _note(third, tuplet='stop')], ''),
      # A 64th, then a note tied over the repeat sign.
      ([_note(Fraction(1, 16), kind='64th'), _note(Fraction(15, 16), kind='quarter'),
        _note(1, ties=['start'], kind='quarter')], repeat),
      # A short bar, its note tied out of the last bar.
      ([_note(Fraction(1, 2), ties=['stop', 'start'])], ''),
  ], clef=False)
  found = notation_check.check(score)
  assert found[notation_check.BRACKET] == 1
  assert found[notation_check.TRIPLET_REST] == 1
  assert found[notation_check.SHORT_VALUE] == 1
  assert found[notation_check.TIE_INTO_SECTION] == 1
  assert found[notation_check.TIE_OUT] == 1
  assert found[notation_check.NO_CLEF] == 1
  assert found[notation_check.SHORT_BAR] == 0  # the last bar may be short without an input
  assert found['notes'] == 6


def test_a_copy_that_loses_what_its_input_said_is_counted():
  before = _score([([_note(1, kind='quarter'), _note(1, kind='quarter')], '')])
  before = before.replace('<part-list>', '<work><work-title>Reel</work-title></work>'
                          '<identification><creator type="composer">Someone</creator>'
                          '</identification><part-list>')
  after = _score([([_note(1, kind='quarter')], '')])
  found = notation_check.check(after, before)
  assert found['lost: title'] == found['lost: composer'] == 1
  assert found[notation_check.SHORT_BAR] == 1  # shorter than the input's bar
  summary = notation_check.summarize([found, notation_check.check(before, before)])
  assert summary['files'] == 2 and summary['files_with']['lost: title'] == 0.5
  assert summary['per_100_notes'][notation_check.SHORT_BAR] == pytest.approx(100 / 3)


@pytest.mark.slow
def test_the_readme_reel_and_generated_jazz_read_clean():
  """The README's jazz restyle of the reel, at 1 and 0.5, and generated melodies of every
  combination by the shipped models: nothing a copyist would correct."""
  models = {genre: loading.load(loading.find_model(genre, None)) for genre in ('folk', 'jazz')}
  reel = readers.read_melody(str(REEL))
  for strength in (1.0, 0.5):
    durations, sounding = client.restyle_durations(models['jazz'], reel.pitches,
                                                   reel.durations(), strength, 1.0, 0.9, 1,
                                                   form=reel.form())
    found = notation_check.check_melody(reel.with_rhythm(durations, sounding), reel)
    assert {k: v for k, v in found.items() if k != 'notes' and v} == {}, strength
  for pitch_genre in ('folk', 'jazz'):
    for rhythm_genre in ('folk', 'jazz'):
      for melody in client.generate_melodies(models[pitch_genre], models[rhythm_genre], 3, 64,
                                             temperature=1.0, top_p=0.9, seed=2):
        found = notation_check.check_melody(melody)
        assert found[notation_check.UNWRITTEN] == 0  # every onset on a written place
        assert found[notation_check.BRACKET] == found[notation_check.TIE_OUT] == 0
        assert found[notation_check.SHORT_BAR] == found[notation_check.NO_CLEF] == 0
