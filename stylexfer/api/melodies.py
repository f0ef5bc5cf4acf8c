"""A melody as the front door gives it: read from a file, written to every format, and
shown in a notebook as its score and a player."""

import base64
import html
import os
import tempfile

from stylexfer.reading import melody as melody_lib
from stylexfer.reading import readers
from stylexfer.writers import render

FORMATS = render.ALL_FORMATS


class Melody(melody_lib.Melody):
  """A stylexfer.reading.melody.Melody that can write itself and show itself.

  Every Melody the front door returns is one; `Melody.of(melody)` makes one of any.
  """

  @classmethod
  def of(cls, melody):
    if isinstance(melody, cls):
      return melody
    if not isinstance(melody, melody_lib.Melody):
      raise TypeError(f'expected a Melody (stylexfer.read gives one), got '
                      f'{type(melody).__name__}')
    return cls(**{name: getattr(melody, name) for name in melody.__dataclass_fields__})

  def write(self, out_dir, stem=None, formats=None, tempo=None, soundfont=None,
            synthesizer='auto'):
    """Writes the melody under `out_dir` as <stem>.<format>; returns {format: path}.

    `stem` defaults to the title made safe for a file name; `formats` to mid, musicxml,
    abc, svg, png and wav (mp3 on request); `tempo` to the melody's own.
    """
    unknown = sorted(set(formats or ()) - set(FORMATS))
    if unknown:
      raise ValueError(f'unknown formats {", ".join(unknown)} (choose from '
                       f'{", ".join(FORMATS)})')
    return render.write_all(self, out_dir, stem or render.slug(self.title),
                            tempo=tempo, soundfont=soundfont, formats=formats,
                            synthesizer=synthesizer)

  def _repr_html_(self):
    """The engraved score and an audio player, for Jupyter and Colab."""
    with tempfile.TemporaryDirectory() as folder:
      files = self.write(folder, 'melody', formats=('svg', 'mp3'))
      with open(files['svg'], encoding='utf-8') as f:
        svg = f.read()
      with open(files['mp3'], 'rb') as f:
        audio = base64.b64encode(f.read()).decode('ascii')
    caption = html.escape(f'{self.title or "Melody"}: {len(self)} notes, '
                          f'{self.time_signature}')
    return (f'<figure style="margin:0"><figcaption>{caption}</figcaption>'
            f'<div style="max-width:100%;overflow-x:auto">{svg}</div>'
            f'<audio controls src="data:audio/mpeg;base64,{audio}"></audio></figure>')

  def __repr__(self):
    return (f'Melody({self.title!r}, {len(self)} notes, {self.time_signature}'
            f'{"" if self.tempo is None else f", {self.tempo:g} bpm"})')


def read(path, tune=None):
  """The melody of an ABC (one tune: a 1-based position or a title; default the first),
  MIDI or MusicXML file; raises stylexfer.reading.melody.MelodyError naming the file."""
  path = os.fspath(path)
  melody = readers.read_melody(path, tune)
  if not melody.title:
    melody.title = os.path.splitext(os.path.basename(path))[0]
  return Melody.of(melody)
