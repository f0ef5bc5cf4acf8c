"""Pitches as written: black keys spelled from the key, and the accidentals a bar shows."""

from music21 import key as m21_key
from music21 import pitch as m21_pitch


def checked_spelling(name, midi):
  """A written pitch name that still names `midi`, else None (spelled from the key)."""
  if not name:
    return None
  try:
    return name if m21_pitch.Pitch(name).midi == midi else None
  except Exception:  # not a pitch name music21 reads
    return None


def spell(midi, sharps):
  """A music21 Pitch for a MIDI number, black keys spelled with the key's accidentals."""
  spelled = m21_pitch.Pitch(midi=midi)
  if spelled.accidental is not None and spelled.accidental.alter > 0 and sharps < 0:
    spelled = spelled.getEnharmonic()
  return spelled


def written_pitches(bars_of_pieces, sharps, by_letter=False):
  """Each piece's pitch as written (a music21 Pitch, None for a rest) and whether its
  accidental is shown: a list per bar, for the bars of `measures.bars`.

  As a score shows them: an accidental where the note differs from the key signature or
  from the same note earlier in the bar (by letter and octave), none on a tied note's
  continuation. `by_letter` shows one wherever the letter was altered earlier in the bar
  in any octave, or differs from the key: for ABC, whose readers carry accidentals by
  letter or by letter and octave, not all alike, and read a tied continuation as a pitch
  of its own, so a continuation shows what its first note showed (a natural sign too),
  or what the key and the bar would otherwise read wrong.
  """
  key_alters = {p.step: int(p.accidental.alter)
                for p in m21_key.KeySignature(sharps).alteredPitches}
  head_shown, out = False, []
  for pieces in bars_of_pieces:
    in_force, altered, written = {}, set(), []
    for piece in pieces:
      if piece.pitch is None:
        written.append((None, False))
        continue
      spelled = (m21_pitch.Pitch(piece.spelling) if piece.spelling
                 else spell(piece.pitch, sharps))
      alter = int(spelled.accidental.alter) if spelled.accidental is not None else 0
      continuation = piece.tie in ('continue', 'stop')
      if continuation and not by_letter:
        written.append((spelled, False))
        continue
      if by_letter:
        shown = (spelled.step in altered or alter != key_alters.get(spelled.step, 0)
                 or (continuation and head_shown))
        if shown:
          altered.add(spelled.step)
      else:
        slot = (spelled.step, spelled.octave)
        shown = alter != in_force.get(slot, key_alters.get(spelled.step, 0))
        in_force[slot] = alter
      if not continuation:
        head_shown = shown
      written.append((spelled, shown))
    out.append(written)
  return out
