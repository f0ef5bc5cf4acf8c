"""Writes a melody as MIDI, MusicXML, ABC, an engraved score (SVG, PNG) and audio (WAV).

`write_all` takes a reading.melody.Melody and lays it out once (stylexfer.writers.notation)
and cuts it into bars once (stylexfer.writers.measures): its bars, ties, rests and repeats,
so every format shows the same bars; the functions that write one format take that layout.
The engraved score is Verovio's engraving of the MusicXML
(stylexfer.writers.musicxml_writer); MIDI and audio play the layout's performance
(stylexfer.writers.playing: repeats played out, eighths swung for jazz).
"""

import concurrent.futures
import ctypes
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading

from stylexfer import atomic
from stylexfer.writers import abc_writer
from stylexfer.writers import audio
from stylexfer.writers import measures
from stylexfer.writers import midi_writer
from stylexfer.writers import musicxml_writer
from stylexfer.writers import notation
from stylexfer.writers import playing
# The formats write_all writes unless asked, in the order it lists them, whichever
# finishes first; MP3 (the audio a web page or a notebook carries) on request.
FORMATS = ('mid', 'musicxml', 'abc', 'svg', 'png', 'wav')
ALL_FORMATS = FORMATS + ('mp3',)


def render_svg(musicxml_path, svg_path, page_width=2100, page_height=2970):
  """Engraves a MusicXML file with Verovio into one SVG picture; returns the SVG text.

  Verovio lays out a page in time that grows faster than the page (a 4,000-note tune on
  one page: 3.3 s; on A4 pages, 2100 x 2970 units: 0.5 s), so a tune is engraved on
  pages of `page_height` at most and the pages are stacked into one picture.
  """
  import verovio  # pylint: disable=g-import-not-at-top
  verovio.enableLog(verovio.LOG_OFF)
  toolkit = verovio.toolkit()
  # Its fonts, named outright: off the main thread Verovio looks for them in the folder
  # its wheel was built in, and fails to read any score.
  toolkit.setResourcePath(os.path.join(os.path.dirname(verovio.__file__), 'data'))
  # Tuplet numbers on the noteheads' side: above, they ran into the tempo mark.
  toolkit.setOptions({'pageWidth': page_width, 'pageHeight': page_height,
                      'adjustPageHeight': True, 'scale': 40, 'footer': 'none',
                      'header': 'auto', 'breaks': 'auto', 'tupletNumHead': True})
  if not toolkit.loadFile(os.fspath(musicxml_path)):
    raise RuntimeError(f'verovio could not read {musicxml_path}')
  svg = stack_pages([toolkit.renderToSVG(page + 1)
                     for page in range(toolkit.getPageCount())])
  with open(svg_path, 'w', encoding='utf-8') as f:
    f.write(svg)
  return svg


_PAGE = re.compile(r'(<svg [^>]*>)\s*(<desc>.*?</desc>)?\s*<defs>(.*?)</defs>(.*)</svg>\s*$',
                   re.S)
_SIZE = re.compile(r'<svg[^>]*?\bwidth="([\d.]+)(?:px)?"[^>]*?\bheight="([\d.]+)(?:px)?"')


def stack_pages(pages):
  """Verovio's SVG pages as one SVG, each page under the one before.

  Every page defines the music font's glyphs it uses, under ids shared by all pages,
  and styles itself by the outer element's id: the picture keeps that id and defines
  each glyph once. The page header after the first (its page number) has the same ids
  on every page: they take the page's number, so every id stays unique.
  """
  if len(pages) == 1:
    return pages[0]
  glyphs, bodies, top, seen = {}, [], 0.0, set()
  for number, page in enumerate(pages, 1):
    opening, description, definitions, body = _PAGE.match(page.strip()).groups()
    if number == 1:
      first_opening, first_description = opening, description
    width, height = map(float, _SIZE.match(opening).groups())
    for glyph in re.finditer(r'<g id="([^"]+)">.*?</g>', definitions, re.S):
      glyphs.setdefault(glyph.group(1), glyph.group(0))
    ids = set(re.findall(r' id="([^"]+)"', body))
    if ids & seen:
      body = re.sub(r' id="([^"]+)"', lambda found: (
          f' id="{found.group(1)}-{number}"' if found.group(1) in seen
          else found.group(0)), body)
    seen |= ids
    bodies.append(f'<svg y="{top:g}px" width="{width:g}px" height="{height:g}px" '
                  f'overflow="visible">{body}</svg>')
    top += height
  opening = re.sub(r'\bheight="[\d.]+(px)?"', f'height="{top:g}px"', first_opening, count=1)
  return (f'{opening}\n{first_description or ""}\n<defs>\n' + '\n'.join(glyphs.values())
          + '\n</defs>\n' + '\n'.join(bodies) + '\n</svg>\n')


# A PNG is the score to glance at (the SVG is the engraving at any size): 1600 pixels
# wide, about twice the engraving's own width, so a tune reads sharply on a dense
# screen. A long score's page is drawn narrower, never below the engraving's own width,
# so the picture holds at most PNG_PIXELS: rasterizing takes time by the pixel (a
# 4,000-note page at 1600 pixels wide was 40 million pixels and 4 s).
PNG_WIDTH = 1600
PNG_PIXELS = 12_000_000


def png_width(svg):
  """The width to rasterize an SVG page at (see PNG_WIDTH and PNG_PIXELS)."""
  size = _SIZE.search(svg)
  if not size:
    return PNG_WIDTH
  width, height = float(size.group(1)), float(size.group(2))
  fits = int((PNG_PIXELS * width / height) ** 0.5)
  return max(min(PNG_WIDTH, fits), min(PNG_WIDTH, int(width)))


# The PNG's text (title, composer, chord symbols, the tempo) is drawn with a text font of
# the system. Verovio writes a few music symbols as text in its music font, embedded as
# a web font that resvg cannot load: those are drawn with the text font's Unicode music
# symbols instead (SMuFL metronome notes and dot, accidentals, and the figured-bass
# accidentals Verovio writes in chord symbols such as Bb or F#m).
TEXT_FONT = 'DejaVu Serif'
_SMUFL_TEXT = {'\ueca3': '\U0001d15e', '\ueca5': '\u2669', '\ueca7': '\u266a',
               '\uecb7': '.', '\ue260': '\u266d', '\ue261': '\u266e', '\ue262': '\u266f',
               '\uea63': '\u266d\u266d', '\uea64': '\u266d', '\uea65': '\u266e',
               '\uea66': '\u266f', '\uea67': '\u266f\u266f'}
_MUSIC_TEXT = re.compile(r'<tspan font-family="(?:Leipzig|Bravura)"([^>]*)>([^<]*)</tspan>')


def raster_svg(svg):
  """The SVG as resvg draws it: music symbols written as text moved to the text font."""
  return _MUSIC_TEXT.sub(lambda found: (
      f'<tspan font-family="{TEXT_FONT}"{found.group(1)}>'
      + ''.join(_SMUFL_TEXT.get(c, c) for c in found.group(2)) + '</tspan>'), svg)


def png_bytes(svg, width=None):
  """SVG text rasterized to PNG bytes with resvg-py or CairoSVG; None when neither works.

  `width` in pixels; by default png_width(svg).
  """
  width = width or png_width(svg)
  svg = raster_svg(svg)
  try:
    import resvg_py  # pylint: disable=g-import-not-at-top
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=width, background='white',
                                       font_family=TEXT_FONT, serif_family=TEXT_FONT))
  except Exception:  # not installed, or a build without this platform's wheel
    try:
      import cairosvg  # pylint: disable=g-import-not-at-top
      return cairosvg.svg2png(bytestring=svg.encode('utf-8'), output_width=width,
                              background_color='white')
    except Exception:  # no cairosvg, or no libcairo on this machine
      return None


# resvg-py holds Python's lock while it draws, so the page is drawn by a Python of its
# own that imports resvg-py alone (a few hundredths of a second to start).
_DRAW = ('import sys, resvg_py; sys.stdout.buffer.write(bytes(resvg_py.svg_to_bytes('
         'svg_string=sys.stdin.buffer.read().decode("utf-8"), width=int(sys.argv[1]), '
         'background="white", font_family=sys.argv[2], serif_family=sys.argv[2])))')


def png_bytes_elsewhere(svg):
  """png_bytes(svg), drawn in another process so that this one goes on meanwhile.

  Falls back to png_bytes here when that process cannot start or fails (no resvg-py).
  """
  width = png_width(svg)
  try:
    done = subprocess.run([sys.executable, '-c', _DRAW, str(width), TEXT_FONT],
                          input=raster_svg(svg).encode('utf-8'), capture_output=True,
                          check=False)
  except OSError:  # no executable to start (an embedded Python)
    done = None
  if done is not None and done.returncode == 0 and done.stdout.startswith(b'\x89PNG'):
    return done.stdout
  return png_bytes(svg, width)


def slug(text):
  """A file-name-safe version of a title."""
  return re.sub(r'[^A-Za-z0-9]+', '-', text).strip('-').lower() or 'melody'


def write_all(melody, out_dir, stem, swing=None, tempo=None, soundfont=None, formats=None,
              synthesizer='auto'):
  """Writes <stem>.mid/.musicxml/.abc/.svg/.png/.wav under out_dir; returns {format: path}.

  `melody` is a reading.melody.Melody; MIDI and audio play its eighths with `swing` (a
  long-short ratio, 1 straight; None: the melody's own) and its repeats played out, at
  `tempo` quarter notes a minute (None: the melody's own tempo, else 120), which every
  format writes.

  PNG is skipped (absent from the result) when no rasterizer is installed. Each file is
  written under a temporary name and renamed into place, so a full disk or a kill leaves
  no partial file; a place that cannot be written raises atomic.OutputError naming it.
  """
  formats = formats or FORMATS
  atomic.make_folder(out_dir)
  base = os.path.join(out_dir, stem)
  tune = notation.layout(melody, swing)
  tune.tempo = tempo or tune.tempo or midi_writer.DEFAULT_TEMPO
  played = playing.performance(tune)
  # Cut into written bars once, for both the MusicXML and the ABC (a 4,000-note tune's
  # bars take a second).
  written_bars = (measures.bars(tune) if {'musicxml', 'svg', 'png', 'abc'} & set(formats)
                  else None)
  written = {}
  # The PNG is drawn in another process (a thread waits for it) while the MIDI, ABC and
  # audio are written here: a long score's page takes seconds.
  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
    rasterizing = None
    if {'musicxml', 'svg', 'png'} & set(formats):
      with atomic.replace_with(base + '.musicxml') as temporary:
        musicxml_writer.write_musicxml(tune, temporary, written_bars)
      written['musicxml'] = base + '.musicxml'
    if {'svg', 'png'} & set(formats):
      with atomic.replace_with(base + '.svg') as temporary:
        svg = render_svg(written['musicxml'], temporary)
      written['svg'] = base + '.svg'
      if 'png' in formats:
        rasterizing = pool.submit(png_bytes_elsewhere, svg)
    if 'mid' in formats:
      with atomic.replace_with(base + '.mid') as temporary:
        midi_writer.write_midi(tune, temporary)
      written['mid'] = base + '.mid'
    if 'abc' in formats:
      text = abc_writer.to_abc(tune, bars=written_bars)
      written['abc'] = atomic.write_text(base + '.abc', text)
    if {'wav', 'mp3'} & set(formats):
      with atomic.replace_with(base + '.wav') as temporary:
        audio.write_wav(played, temporary, tempo=tune.tempo,
                        soundfont=soundfont, midi_path=written.get('mid'),
                        synthesizer=synthesizer)
        if 'mp3' in formats:
          written['mp3'] = audio.wav_to_mp3(temporary, base + '.mp3')
        if 'wav' not in formats:
          raise atomic.Discard  # the WAV was only the MP3's source
      if 'wav' in formats:
        written['wav'] = base + '.wav'
    if rasterizing is not None:
      data = rasterizing.result()
      if data is not None:  # no rasterizer: no PNG rather than an empty one
        written['png'] = atomic.write_bytes(base + '.png', data)
  return {name: written[name] for name in ALL_FORMATS if name in written}


class _Here:
  """A job done on the calling thread the first time its result is asked for."""

  def __init__(self, function, *args, **keywords):
    self._call = lambda: function(*args, **keywords)
    self._done = False
    self._result = None

  def result(self):
    if not self._done:
      self._result, self._done = self._call(), True
    return self._result


_PR_SET_PDEATHSIG = 1


def _end_with_parent():
  """In the writer's copy: end when the process that made it ends.

  A supervisor's or `timeout`'s SIGTERM reaches the program alone; without this its copy
  would go on engraving, re-parented to init, for as long as the job takes.
  """
  try:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
  except (OSError, AttributeError):  # not Linux: the copy ends with its last job
    return
  if os.getppid() == 1:  # the parent ended before the call above
    os._exit(1)  # pylint: disable=protected-access


class Writer:
  """Runs jobs (write_all, mostly) in a forked copy of this process where it can; a
  context manager.

  Made while the process runs no other thread, the first job forks one copy of the
  process, and every job (`write`, or any function given to `run`, such as reading the
  melody) goes to it in turn: it works beside what this process does next, on another
  core (a program loads TensorFlow and samples meanwhile).
  Engraving holds Python's lock, so a thread would wait for the loader, and the copy
  needs no second start of Python and music21. Otherwise (other threads, whose locks a
  fork would copy held, TensorFlow already loaded, whose thread pools Python does not
  see, or no fork on this system) `elsewhere` is False and a job is done by its
  .result(), on the thread that asks, once. Errors are raised by .result() either way.
  """

  def __init__(self):
    self.elsewhere = not (threading.active_count() > 1 or 'tensorflow' in sys.modules or
                          'fork' not in multiprocessing.get_all_start_methods())
    self._pool = None

  def write(self, melody, out_dir, stem, **keywords):
    """Starts write_all(melody, out_dir, stem, **keywords); its .result() is write_all's."""
    return self.run(write_all, melody, out_dir, stem, **keywords)

  def run(self, function, *args, **keywords):
    """Starts function(*args, **keywords); its .result() is the function's result.

    In the copy, the arguments, the result and any error travel by pickle.
    """
    if not self.elsewhere:
      return _Here(function, *args, **keywords)
    if self._pool is None:
      # Unwritten output would be written again by the copy when it ends.
      sys.stdout.flush()
      sys.stderr.flush()
      self._pool = concurrent.futures.ProcessPoolExecutor(
          max_workers=1, mp_context=multiprocessing.get_context('fork'),
          initializer=_end_with_parent)
    return self._pool.submit(function, *args, **keywords)

  def close(self):
    """No more jobs: waits for those sent to be written, and for the copy to end."""
    if self._pool is not None:
      self._pool.shutdown(wait=True)

  def __enter__(self):
    return self

  def __exit__(self, *unused_exception):
    self.close()
