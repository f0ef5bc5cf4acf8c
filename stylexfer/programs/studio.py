"""Starts the studio: a web page that restyles melodies, with the models loaded once.

  stylexfer-studio [--port=8000] [--host=127.0.0.1] [--models_dir=MODELS]
  python -m stylexfer.programs.studio ...   (the same)

Open the address it prints: open or drop a melody file (ABC, MIDI, MusicXML), paste ABC or
take the bundled reel, choose the genre and the strength, and hear and see both versions;
moving the slider restyles again. The HTTP API under /v1/ (documented at /docs) serves
scripts: README has a curl example. It listens on this machine alone unless --host says
otherwise.
"""

import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')  # keep TensorFlow's notices off stderr

from absl import flags

from stylexfer.programs import common
from stylexfer.programs import shared_flags

PROGRAM = 'stylexfer-studio'


def define_flags(flag_values=flags.FLAGS):
  define = dict(flag_values=flag_values)
  shared_flags.define_models_dir(flag_values)
  flags.DEFINE_string('host', '127.0.0.1', 'Address to listen on (127.0.0.1: this machine '
                      'alone; 0.0.0.0: every network it is on).', **define)
  flags.DEFINE_integer('port', 8000, 'Port to listen on (0: any free one).', **define)


def serve(f, out=None):
  """Loads the models and serves the studio until interrupted."""
  out = out or sys.stdout
  if f.models_dir and not os.path.isdir(f.models_dir):
    raise common.CommandError(f'--models_dir {f.models_dir}: no such folder')
  if not 0 <= f.port < 65536:
    raise common.CommandError(f'--port must be in [0, 65535], got {f.port}')
  # Imported once the flags are known to be good: they start TensorFlow.
  import uvicorn  # pylint: disable=g-import-not-at-top
  from stylexfer.studio import app as app_lib  # pylint: disable=g-import-not-at-top
  app = app_lib.make_app(f.models_dir)
  for genre in app.state.studio.genres():  # loaded now, not on the first request
    app.state.studio.model(genre)
  config = uvicorn.Config(app, host=f.host, port=f.port, log_level='warning')
  server = uvicorn.Server(config)

  original = server.startup

  async def startup(*args, **keywords):
    await original(*args, **keywords)
    for listening in server.servers:
      for socket in listening.sockets:
        host, port = socket.getsockname()[:2]
        print(f'stylexfer studio: http://{host}:{port}/  (Ctrl-C stops it)', file=out,
              flush=True)

  server.startup = startup
  server.run()


def main(argv, flag_values=flags.FLAGS):
  del argv  # shared_flags.run refuses arguments that are no flags
  return common.report_errors(PROGRAM, serve, flag_values)


def run():
  define_flags()
  shared_flags.run(main, __doc__, program=PROGRAM)


if __name__ == '__main__':
  run()
