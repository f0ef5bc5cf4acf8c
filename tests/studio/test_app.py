"""The studio's HTTP API, through the framework's test client and a real uvicorn process
on a loopback port: every route, bad input, concurrent requests, the CLI's result."""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest
from fastapi import testclient

import fixtures
import stylexfer
from stylexfer.reading import readers
from stylexfer.studio import app as app_lib

README = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, 'README.md')


@pytest.fixture(scope='module')
def client():
  return testclient.TestClient(app_lib.make_app())


def _restyle(client, **fields):
  files = fields.pop('files', None)
  return client.post('/v1/restyle', data={'to': 'jazz', **fields}, files=files)


def test_models_lists_the_genres_and_defaults(client):
  answer = client.get('/v1/models').json()
  assert [m['genre'] for m in answer['models']] == ['folk', 'jazz']
  assert 'restyle_notes' in answer['models'][1]['signatures']
  assert answer['models'][1]['styles'] == ['swing', 'latin', 'twobeat']
  assert answer['defaults']['top_p'] == 0.9


def test_the_page_and_the_openapi_page(client):
  page = client.get('/')
  assert page.status_code == 200 and 'id="strength"' in page.text
  assert '/v1/restyle' in client.get('/openapi.json').json()['paths']
  assert client.get('/docs').status_code == 200


def test_restyle_the_reel_gives_the_clis_melody(client, tmp_path):
  answer = _restyle(client, example='reel', seed='1')
  assert answer.status_code == 200, answer.text
  body = answer.json()
  assert body['before']['title'] == 'The Stylexfer Reel'
  assert body['after']['title'] == 'The Stylexfer Reel (jazz)'
  assert body['after']['svg'].startswith('<svg') and 0 < body['changed'] <= 110
  abc = client.get(body['after']['files']['abc'])
  assert abc.status_code == 200 and abc.headers['content-type'].startswith('text/vnd.abc')
  mp3 = client.get(body['after']['files']['mp3'])
  assert mp3.headers['content-type'] == 'audio/mpeg' and len(mp3.content) > 10_000
  for label in ('before', 'after'):  # the MIDI plays the repeats: the reel's notes as played
    (tmp_path / f'{label}.mid').write_bytes(client.get(body[label]['files']['mid']).content)
  played = readers.read_melody(str(tmp_path / 'before.mid')).pitches
  assert readers.read_melody(str(tmp_path / 'after.mid')).pitches == played
  assert set(played) == set(stylexfer.read(stylexfer.REEL).pitches)
  subprocess.run([sys.executable, '-m', 'stylexfer.programs.restyle',
                  f'--input={stylexfer.REEL}', '--to=jazz', '--seed=1', f'--out={tmp_path}'],
                 check=True, capture_output=True)
  assert abc.text == (tmp_path / 'the-stylexfer-reel.jazz.abc').read_text()


def test_upload_a_file_choose_a_tune_and_another_genre(client, tmp_path):
  tunes = fixtures.write_abc(str(tmp_path))
  with open(tunes, 'rb') as f:
    listed = client.post('/v1/tunes', files={'file': ('tunes.abc', f.read())}).json()
  titles = [t['title'] for t in listed['tunes']]
  assert 'Pickup Jig' in titles
  number = str(titles.index('Pickup Jig') + 1)
  with open(tunes, 'rb') as f:
    answer = client.post('/v1/restyle', data={'to': 'folk', 'tune': number, 'strength': '0.5'},
                         files={'file': ('tunes.abc', f.read())})
  assert answer.status_code == 200, answer.text
  assert answer.json()['after']['title'] == 'Pickup Jig (folk)'
  with open(tunes, 'rb') as f:
    answer = client.post('/v1/restyle', data={'to': 'folk', 'tune': number, 'style': 'jig'},
                         files={'file': ('tunes.abc', f.read())})
  assert answer.json()['after']['title'] == 'Pickup Jig (folk, jig)'
  assert answer.json()['style'] == 'jig'
  assert answer.json()['after']['time_signature'] == '6/8'


def test_generate(client):
  answer = client.post('/v1/generate', data={'genre': 'folk', 'rhythm': 'jazz', 'count': '2',
                                             'length': '24', 'seed': '4'})
  assert answer.status_code == 200, answer.text
  melodies = answer.json()['melodies']
  assert [m['notes'] for m in melodies] == [24, 24]
  assert melodies[0]['title'] == 'Folk with jazz rhythm 4-1'


@pytest.mark.parametrize('fields,status,message', [
    (dict(example='reel', to='polka'), 400, "unknown genre 'polka'"),
    (dict(example='reel', strength='1.5'), 400, 'strength must be in [0, 1], got 1.5'),
    (dict(example='reel', seed='x'), 400, "seed must be a number, got 'x'"),
    (dict(example='reel', tempo='0.001'), 400, 'tempo must be between 20 and 400'),
    (dict(example='reel', style='bebop'), 400, "jazz: unknown style 'bebop'"),
    (dict(example='polka'), 400, "unknown example 'polka'"),
    (dict(), 400, 'no melody: upload a file, paste ABC or choose the example'),
    (dict(abc='X:1\nT:Empty\nK:C\n'), 400, 'pasted.abc:'),
    (dict(files={'file': ('../../etc/passwd', b'root:x:0:0')}), 400,
     "passwd: unknown melody format '(none)'"),
    (dict(files={'file': ('tune.mid', b'not midi at all')}), 400, 'tune.mid: '),
    (dict(files={'file': ('big.abc', b'X:1\nK:C\n' + b'C' * app_lib.MAX_UPLOAD)}), 413,
     'big.abc is larger than 2 MB'),
])
def test_bad_input_is_a_4xx_with_the_reason(client, fields, status, message):
  answer = _restyle(client, **fields)
  assert answer.status_code == status, answer.text
  error = answer.json()['error']
  assert message in error
  assert '/tmp' not in error and 'stylexfer-studio-' not in error  # no path on the server
  assert 'Traceback' not in answer.text


def test_a_title_is_never_markup(client):
  answer = _restyle(client, abc='X:1\nT:<script>alert(1)</script>\nM:4/4\nL:1/8\nK:C\n'
                    'CDEF GABc|c2B2 A4|]\n')
  assert answer.status_code == 200, answer.text
  body = answer.json()
  assert body['before']['title'] == '<script>alert(1)</script>'  # the page shows it as text
  assert '<script' not in body['before']['svg']


def test_unknown_file_is_404(client):
  answer = client.get('/v1/files/0123/x.mid')
  assert answer.status_code == 404 and 'no file' in answer.json()['error']


@pytest.mark.slow
def test_a_real_server_on_loopback_answers_clients_at_once(tmp_path):
  server = subprocess.Popen([sys.executable, '-m', 'stylexfer.programs.studio', '--port=0'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  try:
    line = server.stdout.readline()
    address = re.search(r'http://127\.0\.0\.1:\d+/', line)
    assert address, line + server.stderr.read()
    url = address.group(0)

    def restyle(seed):
      body, boundary = _multipart({'to': 'jazz', 'example': 'reel', 'seed': str(seed)})
      request = urllib.request.Request(url + 'v1/restyle', data=body, headers={
          'Content-Type': f'multipart/form-data; boundary={boundary}'})
      with urllib.request.urlopen(request, timeout=120) as answer:
        files = json.load(answer)['after']['files']
      with urllib.request.urlopen(url + files['abc'].lstrip('/'), timeout=60) as abc:
        return abc.read()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
      written = list(pool.map(restyle, [1, 2, 1, 2]))
    # README's Python client, as written but for the address.
    client_code, = re.findall(r'```python\n(import json, sys, urllib.*?)```',
                              open(README).read(), re.S)
    tune = fixtures.write_abc(str(tmp_path))
    run = subprocess.run([sys.executable, '-c', client_code.replace(
        'http://127.0.0.1:8000', url.rstrip('/')), tune], capture_output=True, text=True,
        timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("('") and os.path.isfile(tune[:-4] + '.jazz.mid')
    # The same seed, the same melody, whoever else is asking.
    assert written[0] == written[2] and written[1] == written[3] and written[0] != written[1]
  finally:
    server.terminate()
    server.wait(timeout=30)


def _multipart(fields):
  boundary = 'stylexferboundary'
  parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
           for name, value in fields.items()]
  return (''.join(parts) + f'--{boundary}--\r\n').encode(), boundary
