"""Audio of a melody as a 44.1 kHz, 16-bit mono WAV file.

With a SoundFont (--soundfont, $STYLEXFER_SOUNDFONT, or a .sf2 in the usual system
folders) and the `fluidsynth` program on the PATH, the MIDI file is played through it.
Otherwise the notes are synthesized here with numpy: a plucked-string tone (harmonics
that decay faster the higher they are, a short attack, a slight inharmonicity), which
sounds like a guitar or harp rather than a beep, and needs nothing beyond numpy.
"""

import glob
import io
import os
import shutil
import subprocess
import wave

import numpy as np

from stylexfer import atomic

SAMPLE_RATE = 44100
RELEASE_SECONDS = 0.25  # a note rings on this long after the next one starts
_WAV_BLOCK = 1 << 18  # samples converted to 16 bits at a time
_SOUNDFONT_GLOBS = ('/usr/share/sounds/sf2/*.sf2', '/usr/share/soundfonts/*.sf2',
                    '/usr/local/share/soundfonts/*.sf2', '~/.local/share/soundfonts/*.sf2')


def find_soundfont(soundfont=None):
  """A SoundFont path: the one given, $STYLEXFER_SOUNDFONT, or the first system one."""
  if soundfont:
    return soundfont if os.path.isfile(soundfont) else None
  if os.environ.get('STYLEXFER_SOUNDFONT'):
    path = os.environ['STYLEXFER_SOUNDFONT']
    return path if os.path.isfile(path) else None
  for pattern in _SOUNDFONT_GLOBS:
    found = sorted(glob.glob(os.path.expanduser(pattern)))
    if found:
      return found[0]
  return None


def _tone(frequency, total, sample_rate=SAMPLE_RATE):
  """The first `total` samples of a plucked string ringing freely at `frequency`."""
  harmonics = np.arange(1, 1 + max(1, min(24, int(9000 / frequency))))
  # Plucked a seventh of the way along the string: 1/h^1.1 with a comb-like shape.
  amplitudes = np.abs(np.sin(np.pi * harmonics / 7)) / harmonics ** 1.1
  decay = 1.2 + 0.9 * harmonics * frequency / 440.0  # higher partials die sooner
  stretch = harmonics * np.sqrt(1 + 0.0004 * harmonics ** 2)  # string stiffness
  # Each partial is Im(z^n) with z = exp((i w - decay) / rate); n = block * B + k, so
  # z^n = z^(block B) z^k and the weighted sum over partials is two small matmuls
  # rather than a sine and an exponential per sample and partial (10 times faster).
  step = (1j * 2 * np.pi * frequency * stretch - decay) / sample_rate
  width = 1024
  blocks = -(-total // width)
  low = np.exp(np.outer(np.arange(width), step))
  high = np.exp(np.outer(np.arange(blocks) * width, step)) * amplitudes
  tone = (high.real @ low.imag.T + high.imag @ low.real.T).reshape(-1)[:total]
  return tone / max(amplitudes.sum(), 1e-9)


def _envelope(seconds, total, sample_rate=SAMPLE_RATE):
  """A 4 ms attack, then the release that damps the string after `seconds`."""
  t = np.arange(total) / sample_rate
  envelope = np.minimum(1.0, t / 0.004)  # no click
  off = t > seconds
  envelope[off] *= np.exp(-(t[off] - seconds) / (RELEASE_SECONDS / 5))
  return envelope


def pluck(frequency, seconds, sample_rate=SAMPLE_RATE):
  """One plucked-string note of `seconds` plus its release, as float samples in [-1, 1]."""
  total = int((seconds + RELEASE_SECONDS) * sample_rate)
  return _tone(frequency, total, sample_rate) * _envelope(seconds, total, sample_rate)


def synthesize(notes, tempo=120, sample_rate=SAMPLE_RATE):
  """Float samples of a melody's (onset, length, pitch) notes, in quarter notes."""
  seconds_per_quarter = 60.0 / tempo
  end = max((float(onset + length) for onset, length, _ in notes), default=0.0)
  total = int((end * seconds_per_quarter + RELEASE_SECONDS) * sample_rate) + 1
  # float32: a 4,000-note tune is 50 million samples, and 16-bit output needs no more.
  mix = np.zeros(total, np.float32)
  # The string rings the same way whenever a pitch is struck, so each pitch's tone is
  # computed once, for its longest note; a note is that tone cut to its length and
  # damped (24 harmonics per sample for every note took 40 ms a note, 95% of a long
  # melody's restyle).
  longest = {}
  for _, length, pitch in notes:
    longest[int(pitch)] = max(longest.get(int(pitch), 0.0), float(length))
  tones = {pitch: _tone(440.0 * 2 ** ((pitch - 69) / 12),
                        int((seconds * seconds_per_quarter + RELEASE_SECONDS) * sample_rate),
                        sample_rate).astype(np.float32)
           for pitch, seconds in longest.items()}
  envelopes = {}  # a melody has few distinct lengths
  for onset, length, pitch in notes:
    seconds = float(length) * seconds_per_quarter
    if seconds not in envelopes:
      envelopes[seconds] = _envelope(
          seconds, int((seconds + RELEASE_SECONDS) * sample_rate), sample_rate).astype(
              np.float32)
    first = int(float(onset) * seconds_per_quarter * sample_rate)
    count = min(len(envelopes[seconds]), total - first)
    if count <= 0:
      continue
    mix[first:first + count] += tones[int(pitch)][:count] * envelopes[seconds][:count]
  peak = max(float(mix.max()), -float(mix.min())) if mix.size else 0.0
  if peak > 0:
    mix *= 0.8 / peak
  return mix


def save_wav(samples, path, sample_rate=SAMPLE_RATE):
  """Float samples in [-1, 1] as a 16-bit mono WAV file, written whole or not at all."""
  samples = np.asarray(samples)
  with atomic.open_for_write(path, 'wb') as out, wave.open(out, 'wb') as f:
    f.setnchannels(1)
    f.setsampwidth(2)
    f.setframerate(sample_rate)
    f.setnframes(len(samples))  # the header is written once, not patched per block
    # Converted a block at a time: a long melody is tens of millions of samples, and
    # whole-array temporaries (clipped, scaled, as int16, as bytes) cost more in memory
    # traffic than the arithmetic.
    for start in range(0, len(samples), _WAV_BLOCK):
      block = samples[start:start + _WAV_BLOCK]
      f.writeframesraw((np.clip(block, -1, 1) * np.float32(32767)).astype('<i2'))
  return path


def mp3_bytes(wav):
  """A WAV file (a path or its bytes) encoded as MP3, about a tenth of its size.

  Through libsndfile (the soundfile package), block by block: a long melody's samples are
  never all in memory at once.
  """
  import soundfile  # pylint: disable=g-import-not-at-top
  source = io.BytesIO(wav) if isinstance(wav, bytes) else wav
  encoded = io.BytesIO()
  with soundfile.SoundFile(source) as samples, soundfile.SoundFile(
      encoded, 'w', samples.samplerate, samples.channels, format='MP3') as mp3:
    for block in samples.blocks(blocksize=_WAV_BLOCK, dtype='float32'):
      mp3.write(block)
  return encoded.getvalue()


def wav_to_mp3(wav_path, path):
  """The WAV file as an MP3 file, written whole or not at all."""
  return atomic.write_bytes(path, mp3_bytes(wav_path))


def _fluidsynth(midi_path, path, soundfont):
  """Renders a MIDI file through fluidsynth; False when it fails."""
  program = shutil.which('fluidsynth')
  if not program:
    return False
  command = [program, '-ni', '-q', '-g', '0.7', '-r', str(SAMPLE_RATE), '-O', 's16',
             '-T', 'wav', '-F', os.fspath(path), soundfont, os.fspath(midi_path)]
  try:
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
  except (OSError, subprocess.TimeoutExpired):
    return False
  return done.returncode == 0 and os.path.isfile(path) and os.path.getsize(path) > 44


def write_wav(notes, path, tempo=120, soundfont=None, midi_path=None, synthesizer='auto'):
  """Writes the audio of (onset, length, pitch) notes to `path`: the MIDI file `midi_path`
  through fluidsynth where a SoundFont is found (synthesizer 'auto'), else the built-in
  plucked string ('pluck')."""
  if synthesizer != 'pluck' and midi_path:
    found = find_soundfont(soundfont)
    if found and shutil.which('fluidsynth') and _fluidsynth(midi_path, path, found):
      return path
  return save_wav(synthesize(notes, tempo), path)
