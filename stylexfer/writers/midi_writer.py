"""Writes a melody's performance (stylexfer.writers.playing.performance) as a Standard MIDI File.

Straight from the notes, one event each, rather than through a music21 score: the score
would split notes at bar lines and join them again (stripTies), and the performance holds
what a score cannot: repeats played out and swung eighths. Besides the notes the file
carries what a notation program or a DAW needs to show the same bars: the track's name,
the tempo, the key signature and a time signature at every bar whose length changes as
played (a pickup is a short bar of its own, as notation programs write it).
"""

import fractions

from music21 import midi

from stylexfer.writers import playing
from stylexfer.writers import time_signatures

TICKS_PER_QUARTER = 960
VELOCITY = 90
DEFAULT_TEMPO = 120  # quarter notes a minute, where neither the user nor the tune says
PROGRAM = 0  # General MIDI's acoustic grand piano (musicxml_writer.INSTRUMENT)


def midi_bytes(tune):
  """The bytes of a one-track MIDI file playing a notation.Layout."""
  track = midi.MidiTrack(1)
  tempo = tune.tempo or DEFAULT_TEMPO
  events = [(0, 0, _meta(track, midi.MetaEvents.SET_TEMPO,
                         int(round(60_000_000 / tempo)).to_bytes(3, 'big'))),
            (0, 0, _meta(track, midi.MetaEvents.KEY_SIGNATURE, bytes(
                [tune.key.sharps & 0xFF, 1 if tune.key.mode == 'minor' else 0])))]
  title = ' '.join((tune.title or '').split())
  if title:
    events.append((0, 0, _meta(track, midi.MetaEvents.SEQUENCE_TRACK_NAME,
                               title.encode('utf-8', 'replace')[:127])))
  for tick, signature in _time_signatures(tune):
    numerator, denominator = (int(v) for v in signature.split('/'))
    events.append((tick, 0, _meta(track, midi.MetaEvents.TIME_SIGNATURE, bytes(
        [numerator, denominator.bit_length() - 1, 24, 8]))))
  program = midi.MidiEvent(track, type=midi.ChannelVoiceMessages.PROGRAM_CHANGE, channel=1)
  program.data = PROGRAM
  events.append((0, 0, program))
  for onset, length, pitch in playing.performance(tune):
    start = int(round(onset * TICKS_PER_QUARTER))
    end = max(start + 1, int(round((onset + length) * TICKS_PER_QUARTER)))
    # Offs before ons at the same tick: a repeated pitch is struck again, not cut short.
    events.append((start, 2, _note(track, midi.ChannelVoiceMessages.NOTE_ON, pitch,
                                   VELOCITY)))
    events.append((end, 1, _note(track, midi.ChannelVoiceMessages.NOTE_OFF, pitch, 0)))
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


def _time_signatures(tune):
  """(tick, 'n/d') wherever the bar length changes as the bars are played.

  The performance starts at the first note, so a pickup is a bar of the length before
  it; a bar cut short before a repeat gets a meter of its own length too.
  """
  count = len(tune.bar_starts(tune.pickup + tune.quarters)) - 1
  changes, clock, current = [], fractions.Fraction(0), None
  for index in playing.play_order(tune.marks, count):
    length = tune.bar_length_at(index) - (tune.pickup if index == 0 else 0)
    meter = time_signatures.signature_of(length, tune.time_signature)
    if meter != current:
      changes.append((int(round(clock * TICKS_PER_QUARTER)), meter))
      current = meter
    clock += length
  # MIDI counts a meter's beats, not their groups: 2+3+2/8 is 7/8.
  return changes or [(0, time_signatures.signature_of(tune.bar_length, tune.time_signature))]


def _meta(track, kind, data):
  event = midi.MidiEvent(track, type=kind)
  event.data = data
  return event


def _note(track, kind, pitch, velocity):
  event = midi.MidiEvent(track, type=kind, channel=1)
  event.pitch = int(pitch)
  event.velocity = velocity
  return event


def write_midi(tune, path):
  """Writes the tune (see midi_bytes) to `path`; returns the path."""
  data = midi_bytes(tune)
  with open(path, 'wb') as f:
    f.write(data)
  return path
