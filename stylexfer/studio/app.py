"""The studio: a web page and an HTTP API that restyle melodies with models loaded once.

`make_app(models_dir)` builds the ASGI application (FastAPI, served by uvicorn:
stylexfer.programs.studio). Routes:

  GET  /                 the page (stylexfer/studio/page.html)
  GET  /v1/models        the genres and their signatures
  POST /v1/tunes         the tunes of an uploaded ABC file: [{number, title}]
  POST /v1/restyle       a melody (an uploaded file, pasted ABC or the bundled reel)
                         restyled: both melodies engraved (SVG), their audio and files
  POST /v1/generate      new melodies of a genre, with another genre's rhythm
  GET  /v1/files/{id}/{name}   a file of an answer (MIDI, MusicXML, ABC, MP3, WAV), kept
                         for the last MAX_ANSWERS answers
  GET  /docs             the OpenAPI page

Every request goes through the front door (stylexfer.api), with the programs' defaults,
so a seed gives the CLI's melody. Bad input is HTTP 400 (413 for a file over MAX_UPLOAD
bytes) with {"error": "..."}, the CLI's message without any path on this machine.
"""

import asyncio
import collections
import hashlib
import functools
import os
import re
import shutil
import tempfile
import threading
import uuid

import fastapi
from fastapi import responses

import stylexfer
from stylexfer import atomic
from stylexfer.api import melodies
from stylexfer.api import models
from stylexfer.reading import abc_reader
from stylexfer.reading import melody as melody_lib
from stylexfer.reading import melody_files
from stylexfer.serving import controls
from stylexfer.serving import loading
from stylexfer.writers import audio
from stylexfer.writers import render

MAX_UPLOAD = 2 * 2**20        # bytes of a melody file
MAX_ANSWERS = 16              # answers whose files can still be downloaded (~7 MB each)
TIME_LIMIT = 60.0             # seconds a request may take
MAX_NOTES = 4096              # notes of a melody the studio restyles
SUFFIXES = melody_files.ABC_SUFFIXES + melody_files.MIDI_SUFFIXES + melody_files.MUSICXML_SUFFIXES
DOWNLOADS = ('mid', 'musicxml', 'abc', 'mp3', 'wav')
MEDIA_TYPES = {'mid': 'audio/midi', 'musicxml': 'application/vnd.recordare.musicxml+xml',
               'abc': 'text/vnd.abc; charset=utf-8', 'mp3': 'audio/mpeg', 'wav': 'audio/wav'}
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'page.html')


class BadRequest(ValueError):
  """A request the studio refuses; status 400 unless said otherwise."""

  def __init__(self, message, status=400):
    super().__init__(message)
    self.status = status


class Once:
  """A file made when first asked for, once, whoever asks (the MP3)."""

  def __init__(self, make):
    self._make, self._data = make, None
    self._lock = threading.Lock()

  def __call__(self):
    with self._lock:
      if self._data is None:
        self._data, self._make = self._make(), None
      return self._data


class Answers:
  """The files of the last answers, in memory, by answer id (the least recently used
  dropped first). A file may be a Once: made when first downloaded."""

  def __init__(self, limit=MAX_ANSWERS):
    self._files = collections.OrderedDict()
    self._limit = limit
    self._lock = threading.Lock()

  def keep(self, files):
    """Stores {name: bytes or Once}; returns the answer's id."""
    answer = uuid.uuid4().hex
    with self._lock:
      self._files[answer] = files
      while len(self._files) > self._limit:
        self._files.popitem(last=False)
    return answer

  def touch(self, answer):
    """Keeps an answer's files as if just made; False when they are gone."""
    with self._lock:
      if answer not in self._files:
        return False
      self._files.move_to_end(answer)
      return True

  def get(self, answer, name):
    with self._lock:
      data = self._files.get(answer, {}).get(name)
    return data() if isinstance(data, Once) else data


def _safe_name(filename):
  """An uploaded file's name without folders or odd characters; its suffix checked."""
  name = re.sub(r'[^A-Za-z0-9._-]+', '-', os.path.basename(filename or '')).strip('.-')
  suffix = os.path.splitext(name)[1].lower()
  if suffix not in SUFFIXES:
    raise BadRequest(f'{name or "the file"}: unknown melody format {suffix or "(none)"!r} '
                     '(use ABC, MIDI or MusicXML)')
  return name


def _without(folder, message):
  """A message with the request's temporary folder taken out of every path."""
  return str(message).replace(folder + os.sep, '').replace(folder, '')


class Studio:
  """What the routes share: the models (loaded once), the answers kept, the folder."""

  def __init__(self, models_dir=None):
    self.models_dir = models_dir
    self.answers = Answers()
    # The melody as it was, shown once per input: moving a slider restyles only.
    self._shown_before = collections.OrderedDict()
    self._lock = threading.Lock()

  @functools.lru_cache(maxsize=16)
  def model(self, genre):
    try:
      return models.load(genre, self.models_dir)
    except (loading.UnknownGenreError, loading.ModelNotFoundError) as error:
      raise BadRequest(str(error)) from None

  def genres(self):
    return sorted(set(loading.available(self.models_dir)))

  def read(self, folder, upload, abc, example, tune):
    """The melody of the request: an uploaded file, pasted ABC, or the bundled reel."""
    if example:
      if example != 'reel':
        raise BadRequest(f'unknown example {example!r} (there is: reel)')
      path = os.path.join(folder, 'the_stylexfer_reel.abc')
      shutil.copyfile(stylexfer.REEL, path)
    elif upload is not None:
      name, data = upload
      path = os.path.join(folder, _safe_name(name))
      atomic.write_bytes(path, data)
    elif abc and abc.strip():
      path = os.path.join(folder, 'pasted.abc')
      atomic.write_text(path, abc)
    else:
      raise BadRequest('no melody: upload a file, paste ABC or choose the example')
    try:
      melody = melodies.read(path, tune or None)
    except melody_lib.MelodyError as error:
      raise BadRequest(_without(folder, error)) from None
    if len(melody) > MAX_NOTES:
      raise BadRequest(f'the melody has {len(melody)} notes; the studio restyles at most '
                       f'{MAX_NOTES}')
    return melody

  def shown(self, melody, folder, stem, tempo=None):
    """A melody as the page shows it: title, engraved score, audio and downloads."""
    files = melody.write(os.path.join(folder, stem), stem,
                         ('svg', 'mid', 'musicxml', 'abc', 'wav'), tempo=tempo,
                         synthesizer='pluck')
    with open(files['svg'], encoding='utf-8') as f:
      svg = f.read()
    stored = {}
    for fmt in ('mid', 'musicxml', 'abc', 'wav'):
      with open(files[fmt], 'rb') as f:
        stored[f'{stem}.{fmt}'] = f.read()
    # MP3 is the slowest file to make (1.1 s for the reel's 70 s, against 65 ms for the
    # WAV the page plays): it is encoded when it is downloaded, not for every answer.
    stored[f'{stem}.mp3'] = Once(functools.partial(audio.mp3_bytes, stored[f'{stem}.wav']))
    answer = self.answers.keep(stored)
    return {'title': melody.title, 'notes': len(melody),
            'time_signature': melody.time_signature,
            'tempo': melody.tempo, 'svg': svg,
            'files': {fmt: f'/v1/files/{answer}/{stem}.{fmt}' for fmt in DOWNLOADS}}

  def shown_before(self, key, melody, folder, stem, tempo):
    """`shown` for the melody as it was, made once per input (`key`)."""
    with self._lock:
      found = self._shown_before.get(key)
      if found is not None and self.answers.touch(found['files']['mid'].split('/')[3]):
        self._shown_before.move_to_end(key)
        return found
    found = self.shown(melody, folder, stem, tempo)
    with self._lock:
      self._shown_before[key] = found
      while len(self._shown_before) > 16:
        self._shown_before.popitem(last=False)
    return found


def _number(value, name, kind=float):
  if value is None or str(value).strip() == '':
    return None
  try:
    return kind(value)
  except ValueError:
    raise BadRequest(f'{name} must be a number, got {value!r}') from None


async def _upload(file):
  """(name, bytes) of an uploaded file, refused over MAX_UPLOAD bytes; None if none."""
  if file is None or not getattr(file, 'filename', None):
    return None
  data = await file.read(MAX_UPLOAD + 1)
  if len(data) > MAX_UPLOAD:
    raise BadRequest(f'{_safe_name(file.filename)} is larger than {MAX_UPLOAD // 2**20} MB',
                     413)
  return file.filename, data


def make_app(models_dir=None):
  """The studio's ASGI application over the models in `models_dir` (default: shipped)."""
  studio = Studio(models_dir)
  app = fastapi.FastAPI(title='stylexfer studio',
                        description='Restyle melodies: keep their tones, give them another '
                        "genre's rhythm.", version=stylexfer.__version__)
  app.state.studio = studio

  @app.exception_handler(BadRequest)
  async def bad_request(unused_request, error):
    return responses.JSONResponse({'error': str(error)}, status_code=error.status)

  @app.exception_handler(controls.RequestError)
  async def bad_setting(unused_request, error):
    return responses.JSONResponse({'error': str(error)}, status_code=400)

  app.include_router(_reading_routes(studio))
  app.include_router(_writing_routes(studio))
  return app


async def _in_time(function, *args):
  try:
    return await asyncio.wait_for(asyncio.to_thread(function, *args), TIME_LIMIT)
  except asyncio.TimeoutError:
    raise BadRequest(f'the request took longer than {TIME_LIMIT:g} s', 503) from None


def _reading_routes(studio):
  """The page, the models, an ABC file's tunes and the files of the last answers."""
  app = fastapi.APIRouter()

  @app.get('/', response_class=responses.HTMLResponse, include_in_schema=False)
  def page():
    with open(PAGE, encoding='utf-8') as f:
      return f.read()

  @app.get('/v1/models')
  def list_models():
    """The genres the studio restyles to, with their SavedModels' signatures."""
    return {'models': [{'genre': genre, 'signatures': studio.model(genre).signatures,
                        'styles': list(studio.model(genre).styles)}
                       for genre in studio.genres()],
            'defaults': {'strength': controls.STRENGTH, 'push': controls.PUSH,
                         'temperature': controls.TEMPERATURE, 'top_p': controls.TOP_P,
                         'seed': controls.SEED}}

  @app.post('/v1/tunes')
  async def tunes(file: fastapi.UploadFile = None, abc: str = fastapi.Form(None)):
    """The tunes of an ABC file (uploaded or pasted): [{number, title}]."""
    upload = await _upload(file)
    if upload is not None:
      _safe_name(upload[0])
      text = upload[1].decode('utf-8', errors='replace')
    else:
      text = abc or ''
    if upload is not None and os.path.splitext(upload[0])[1].lower() not in (
        melody_files.ABC_SUFFIXES):
      return {'tunes': []}  # MIDI and MusicXML hold one melody
    return {'tunes': [{'number': n, 'title': title} for n, (_, title, _) in
                      enumerate(abc_reader.split_abc(text), 1)]}

  @app.get('/v1/files/{answer}/{name}')
  def download(answer: str, name: str):
    """A file of one of the last answers."""
    data = studio.answers.get(answer, name)
    if data is None:
      raise BadRequest(f'no file {name!r} (answers are kept for the last {MAX_ANSWERS} '
                       'requests)', 404)
    fmt = name.rsplit('.', 1)[-1]
    return responses.Response(data, media_type=MEDIA_TYPES[fmt], headers={
        'Content-Disposition': f'attachment; filename="{name}"'})

  return app


def _writing_routes(studio):
  """Restyle and generate: the requests that draw, each within the time limit."""
  app = fastapi.APIRouter()

  @app.post('/v1/restyle')
  async def restyle(to: str = fastapi.Form(...), file: fastapi.UploadFile = None,
                    abc: str = fastapi.Form(None), example: str = fastapi.Form(None),
                    tune: str = fastapi.Form(None),
                    strength: str = fastapi.Form(None), push: str = fastapi.Form(None),
                    swing: str = fastapi.Form(None), tempo: str = fastapi.Form(None),
                    temperature: str = fastapi.Form(None), top_p: str = fastapi.Form(None),
                    seed: str = fastapi.Form(None), structure: str = fastapi.Form('bars'),
                    like: fastapi.UploadFile = None, like_tune: str = fastapi.Form(None),
                    style: str = fastapi.Form(None)):
    """A melody restyled to the genre `to`, in one of its `styles` (default any): both
    melodies engraved, played and written.

    Every setting left out takes stylexfer-restyle's default; the same seed gives the
    same melody as the command.
    """
    settings = dict(
        strength=_number(strength, 'strength'), push=_number(push, 'push'),
        swing=_number(swing, 'swing'), temperature=_number(temperature, 'temperature'),
        top_p=_number(top_p, 'top_p'), seed=_number(seed, 'seed', int))
    tempo = _number(tempo, 'tempo')
    controls.check(tempo=tempo, **settings)
    given = {name: value for name, value in settings.items() if value is not None}
    given.update(style=style or None, tempo=tempo)
    upload, like_upload = await _upload(file), await _upload(like)
    return await _in_time(_restyle, studio, to, upload, abc, example, tune, like_upload,
                         like_tune, structure, tempo, given)

  @app.post('/v1/generate')
  async def generate(genre: str = fastapi.Form(...), rhythm: str = fastapi.Form(None),
                     count: str = fastapi.Form('1'), length: str = fastapi.Form(None),
                     temperature: str = fastapi.Form(None), top_p: str = fastapi.Form(None),
                     seed: str = fastapi.Form(None), tempo: str = fastapi.Form(None),
                     style: str = fastapi.Form(None)):
    """New melodies: `genre`'s tones with `rhythm`'s rhythm (default the same genre), in
    one of the rhythm's styles (default any)."""
    count = _number(count, 'count', int) or 1
    if not 1 <= count <= 8:
      raise BadRequest(f'count must be in [1, 8], got {count}')
    settings = dict(length=_number(length, 'length', int),
                    temperature=_number(temperature, 'temperature'),
                    top_p=_number(top_p, 'top_p'), seed=_number(seed, 'seed', int))
    tempo = _number(tempo, 'tempo')
    controls.check(tempo=tempo, **settings)
    given = {name: value for name, value in settings.items() if value is not None}
    given.update(style=style or None, tempo=tempo)
    return await _in_time(_generate, studio, genre, rhythm or genre, count, tempo, given)

  return app

def _restyle(studio, to, upload, abc, example, tune, like_upload, like_tune, structure,
             tempo, settings):
  model = studio.model(to)
  with tempfile.TemporaryDirectory(prefix='stylexfer-studio-') as folder:
    melody = studio.read(folder, upload, abc, example, tune)
    like = None
    if like_upload is not None:
      like_folder = os.path.join(folder, 'like')
      os.makedirs(like_folder)
      like = studio.read(like_folder, like_upload, None, None, like_tune)
    restyled = model.restyle(melody, like=like, structure=structure, **settings)
    stem = render.slug(melody.title)
    source = hashlib.sha256(repr((upload, abc, example, tune, tempo)).encode()).hexdigest()
    return {'genre': to, 'style': settings.get('style') or '',
            'seed': settings.get('seed', controls.SEED),
            'strength': settings.get('strength', controls.STRENGTH),
            'changed': models.changed_durations(melody, restyled),
            'before': studio.shown_before(source, melody, folder, f'{stem}.before', tempo),
            'after': studio.shown(restyled, folder, f'{stem}.{to}', tempo)}


def _generate(studio, genre, rhythm, count, tempo, settings):
  pitch_model, rhythm_model = studio.model(genre), studio.model(rhythm)
  generated = pitch_model.generate(count, rhythm=rhythm_model, **settings)
  with tempfile.TemporaryDirectory(prefix='stylexfer-studio-') as folder:
    return {'melodies': [studio.shown(melody, folder, f'{genre}-{rhythm}-{n + 1}', tempo)
                         for n, melody in enumerate(generated)]}


