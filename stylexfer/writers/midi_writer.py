"""Writes a melody's performance (stylexfer.writers.notation.performance) as a Standard MIDI File.

Straight from the notes, one event each, rather than through a music21 score: the score
would split notes at bar lines and join them again (stripTies), and the performance holds
what a score cannot: repeats played out and swung eighths.
"""

from music21 import midi

TICKS_PER_QUARTER = 960
VELOCITY = 90


def midi_bytes(notes, tempo=120, title=''):
  """The bytes of a one-track MIDI file of (onset, length, pitch) notes in quarter notes."""
  track = midi.MidiTrack(1)
  events = [(0, 0, _meta(track, midi.MetaEvents.SET_TEMPO,
                         int(round(60_000_000 / tempo)).to_bytes(3, 'big')))]
  if title:
    events.append((0, 0, _meta(track, midi.MetaEvents.SEQUENCE_TRACK_NAME,
                               title.encode('utf-8', 'replace')[:127])))
  for onset, length, pitch in notes:
    start = int(round(onset * TICKS_PER_QUARTER))
    end = max(start + 1, int(round((onset + length) * TICKS_PER_QUARTER)))
    # Offs before ons at the same tick: a repeated pitch is struck again, not cut short.
    events.append((start, 1, _note(track, midi.ChannelVoiceMessages.NOTE_ON, pitch,
                                   VELOCITY)))
    events.append((end, 0, _note(track, midi.ChannelVoiceMessages.NOTE_OFF, pitch, 0)))
  events.sort(key=lambda event: (event[0], event[1]))
  now = 0
  for tick, _, event in events:
    delta = midi.DeltaTime(track, time=tick - now)
    track.events += [delta, event]
    now = tick
  track.events += [midi.DeltaTime(track, time=0),
                   _meta(track, midi.MetaEvents.END_OF_TRACK, b'')]
  track.updateEvents()
  song = midi.MidiFile()
  song.ticksPerQuarterNote = TICKS_PER_QUARTER
  song.tracks.append(track)
  return song.writestr()


def _meta(track, kind, data):
  event = midi.MidiEvent(track, type=kind)
  event.data = data
  return event


def _note(track, kind, pitch, velocity):
  event = midi.MidiEvent(track, type=kind, channel=1)
  event.pitch = int(pitch)
  event.velocity = velocity
  return event


def write_midi(notes, path, tempo=120, title=''):
  """Writes the notes to `path` (see midi_bytes); returns the path."""
  data = midi_bytes(notes, tempo, title)
  with open(path, 'wb') as f:
    f.write(data)
  return path
