"""Bad flags and bad folders: every program says what is wrong in one line on stderr.

Each case runs a program as a user does, in a fresh process with TensorFlow's and
music21's notices left at their defaults, and reads all of stderr: exactly one line,
naming the flag or the file, exit status 1, no traceback. The cases of FAST are refused
before TensorFlow starts (a second or two each); those of SLOW start it, and are marked.
"""

import concurrent.futures
import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRETRAINED = os.path.join(REPO, 'stylexfer', 'pretrained')

# (program, arguments, what its one line says); {tmp} is the case's folder, laid out by
# _lay_out, {foreign} a SavedModel that is not a stylexfer export.
FAST = [
    # stylexfer-train: sizes, rates and seeds at flag parsing, --override before TF.
    ('train', ['--batch_size=0'], '--batch_size=0: 0 is not a positive integer'),
    ('train', ['--batch_size=-8'], '--batch_size=-8: -8 is not a positive integer'),
    ('train', ['--epochs=0'], '--epochs=0: 0 is not a positive integer'),
    ('train', ['--shuffle_buffer=0'], '--shuffle_buffer=0'),
    ('train', ['--steps_per_epoch=-1'], '--steps_per_epoch=-1'),
    ('train', ['--seed=-1'], '--seed=-1'),
    ('train', ['--learning_rate=nan'], '--learning_rate=nan: must be a finite number above 0'),
    ('train', ['--learning_rate=inf'], '--learning_rate=inf: must be a finite number above 0'),
    ('train', ['--learning_rate=0'], '--learning_rate=0.0: must be a finite number above 0'),
    ('train', ['--learning_rate=-0.1'], '--learning_rate=-0.1: must be a finite number'),
    ('train', ['--clipnorm=nan'], '--clipnorm=nan: must be a finite number 0 or more'),
    ('train', ['--preset=huge'], '--preset=huge: value should be one of <default|tiny>'),
    ('train', ['--override=window=0'], "--override 'window=0': window must be at least 1"),
    ('train', ['--override=lstm_units=-3'], "--override 'lstm_units=-3': lstm_units must be "
     'at least 1, got -3'),
    ('train', ['--override=units=-3'], "--override 'units=-3' is not key=value with a key "
     'among'),
    ('train', ['--override=bogus=3'], "--override 'bogus=3' is not key=value"),
    ('train', ['--override=dropout=1'], "--override 'dropout=1': dropout must be in [0, 1)"),
    ('train', ['--override=dropout=nan'], "--override 'dropout=nan': dropout must be in"),
    ('train', ['--override=window=3.5'], "--override 'window=3.5': window must be a whole "
     'number'),
    ('train', ['--override=window'], "--override 'window' is not key=value"),
    ('train', ['--bogus=1'], 'unknown flag --bogus'),
    ('train', ['--batch_size'], '--batch_size='),
    ('train', ['stray'], "unexpected arguments ['stray']"),
    ('restyle', ['tune.abc'], "unexpected arguments ['tune.abc'] (use --input=FILE)"),
    ('build_data', ['stray'], "unexpected arguments ['stray']"),
    ('train', ['--run_dir='], '--run_dir is empty'),
    # stylexfer-export: the run folder and the place it writes to.
    ('export', ['--models_dir={tmp}/models', '--name=folk'], '--run_dir is required'),
    ('export', ['--run_dir={tmp}/nowhere', '--models_dir={tmp}/models', '--name=folk'],
     '--run_dir {tmp}/nowhere: no such folder'),
    ('export', ['--run_dir={tmp}/models', '--models_dir={tmp}/models', '--name=folk'],
     '--run_dir {tmp}/models: holds no model.keras'),
    ('export', ['--run_dir={tmp}/junk_run', '--models_dir={tmp}/models', '--name=folk'],
     '{tmp}/junk_run/model.keras is not a .keras archive'),
    ('export', ['--run_dir={tmp}/bad_traits', '--models_dir={tmp}/models', '--name=folk'],
     '{tmp}/bad_traits/traits.json cannot be read'),
    ('export', ['--run_dir={tmp}/bad_rests', '--models_dir={tmp}/models', '--name=folk'],
     '{tmp}/bad_rests/articulation.json cannot be read'),
    ('export', ['--run_dir={tmp}/bad_traits', '--models_dir={tmp}/models', '--name=folk',
                '--version=1'], '--version 1: {tmp}/models/folk/1 exists already'),
    ('export', ['--run_dir={tmp}/bad_traits', '--models_dir={tmp}/models', '--name=folk',
                '--version=0'], '--version=0: 0 is not a positive integer'),
    ('export', ['--run_dir={tmp}/bad_traits', '--models_dir={tmp}/models', '--name=a/b'],
     "--name 'a/b': must be a folder name"),
    ('export', ['--run_dir={tmp}/bad_traits', '--models_dir={tmp}/models', '--name=folk',
                '--swing_ratio=nan'], '--swing_ratio=nan: must be a number in [1, 3]'),
    # stylexfer-merge: each model folder is a SavedModel's.
    ('merge', ['--rhythm_model={tmp}/models/folk/1', '--models_dir={tmp}/out'],
     '--pitch_model is required'),
    ('merge', ['--pitch_model={tmp}/nowhere', '--rhythm_model={tmp}/models/folk/1',
               '--models_dir={tmp}/out'], '--pitch_model {tmp}/nowhere: no such folder'),
    ('merge', ['--pitch_model={tmp}/models/folk/1', '--rhythm_model={tmp}/junk_run',
               '--models_dir={tmp}/out'],
     '--rhythm_model {tmp}/junk_run: not a SavedModel (no saved_model.pb)'),
    ('merge', ['--pitch_model={tmp}/models/folk', '--rhythm_model={tmp}/models/folk/1',
               '--models_dir={tmp}/out'],
     'not a SavedModel (no saved_model.pb): pass a version folder, e.g. {tmp}/models/folk/1'),
    ('merge', ['--pitch_model={tmp}/models/folk/1', '--rhythm_model={tmp}/models/folk/1',
               '--models_dir={tmp}/out', '--version=-1'], '--version=-1'),
    # stylexfer-generate, -restyle and -studio: their flags' types and ranges.
    ('generate', ['--genre=folk', '--count=abc'], "--count=abc: invalid literal for int()"),
    ('generate', ['--genre=folk', '--count=0'], '--count must be in [1, 256], got 0'),
    ('generate', ['--genre=folk', '--temperature=nan'], '--temperature must be a finite'),
    ('generate', ['--genre=folk', '--models_dir={tmp}/nowhere'],
     '--models_dir {tmp}/nowhere: no such folder'),
    ('generate', ['--genre=rock'], "unknown genre 'rock'"),
    ('restyle', ['--to=jazz', '--input={tmp}/nowhere.abc'], 'nowhere.abc: no such file'),
    ('restyle', ['--to=jazz', '--strength=nan'], 'strength must be in [0, 1]'),
    ('restyle', ['--to=jazz', '--top_p=high'], '--top_p=high'),
    ('restyle', ['--to=jazz', '--style=latin', '--feel=swing'],
     '--style=latin and --feel=swing: pass one'),
    ('studio', ['--port=-1'], '--port must be in [0, 65535], got -1'),
    ('studio', ['--port=http'], '--port=http'),
]

SLOW = [
    # Known once TensorFlow has started: still one line, without its notices.
    # The least values each flag takes go through to the data, which is not built.
    ('train', ['--dataset=nope', '--data_dir={tmp}/data', '--batch_size=1', '--epochs=1',
               '--learning_rate=1e-9', '--clipnorm=0', '--seed=0', '--patience=0',
               '--steps_per_epoch=0', '--shuffle_buffer=1', '--override=dropout=0',
               '--override=metre_width=0', '--override=window=1'],
     'melodies/nope is not built in {tmp}/data'),
    ('train', ['--dataset=folk', '--data_dir={tmp}/data'], 'melodies/folk is not built in '
     '{tmp}/data'),
    ('train', ['--run_dir={tmp}/other_model', '--synthetic=8', '--preset=tiny'],
     '{tmp}/other_model/config.json holds a run of another model (window 64, not 32)'),
    ('train', ['--run_dir={tmp}/damaged_config', '--synthetic=8', '--preset=tiny'],
     '{tmp}/damaged_config/config.json cannot be read'),
    ('export', ['--run_dir={tmp}/empty_archive', '--models_dir={tmp}/models', '--name=folk'],
     '{tmp}/empty_archive/model.keras cannot be read'),
    ('merge', ['--pitch_model={foreign}', '--rhythm_model={pretrained}/jazz/1',
               '--models_dir={tmp}/out'], 'cannot merge {foreign} and {pretrained}/jazz/1: '
     'the pitch model is not a stylexfer genre export'),
    ('merge', ['--pitch_model={pretrained}/folk/1', '--rhythm_model={tmp}/models/folk/1',
               '--models_dir={tmp}/out'], '{tmp}/models/folk/1'),
    ('generate', ['--genre=jazz', '--models_dir={tmp}/foreign_models'],
     'the model folder {tmp}/foreign_models/jazz/1 is not a stylexfer export'),
    # A style the target genre lacks is refused before anything is written.
    ('restyle', ['--to=jazz', '--input={pretrained}/../examples/the_stylexfer_reel.abc',
                 '--style=bebop', '--out={tmp}/bebop'],
     "--style: jazz: unknown style 'bebop': its styles (rhythm feels) are swing, latin, "
     'twobeat'),
    ('generate', ['--genre=folk', '--style=latin', '--out={tmp}/latin'],
     "folk: unknown style 'latin': its styles (tune types) are reel, jig, hornpipe, slip jig, "
     'waltz'),
    ('evaluate', ['--folds=1', '--noprogress'], '--folds must be at least 2, got 1'),
    ('evaluate', ['--count=many'], '--count=many'),
    ('evaluate', ['--run_dir={tmp}/nowhere'], '--run_dir {tmp}/nowhere: holds no model.keras'),
]

_FOREIGN = '''
import sys
import tensorflow as tf
module = tf.Module()
module.f = tf.function(lambda notes: {'out': notes * 2},
                       input_signature=[tf.TensorSpec([None], tf.float32, name='notes')])
tf.saved_model.save(module, sys.argv[1], signatures={
    name: module.f for name in ('serving_default', 'traits', 'restyle_notes')})
'''


def _lay_out(tmp, foreign=None):
  """The folders the cases name, each wrong in its own way."""
  (tmp / 'models' / 'folk' / '1').mkdir(parents=True)
  (tmp / 'models' / 'folk' / '1' / 'saved_model.pb').write_bytes(b'')
  (tmp / 'data').mkdir()
  (tmp / 'junk_run').mkdir()
  (tmp / 'junk_run' / 'model.keras').write_text('not a zip')
  for run, name, text in [('bad_traits', 'traits.json', '{"swing": 1.2}'),
                          ('bad_rests', 'articulation.json', '[0.5, 0.5'),
                          ('empty_archive', None, None)]:
    (tmp / run).mkdir()
    with zipfile.ZipFile(tmp / run / 'model.keras', 'w'):
      pass
    if name:
      (tmp / run / name).write_text(text)
  (tmp / 'other_model').mkdir()
  (tmp / 'other_model' / 'config.json').write_text(
      '{"model": {"embedding_width": 8, "lstm_units": 16, "lstm_layers": 1, '
      '"dropout": 0.0, "window": 64, "metre_width": 4, "condition_width": 4, "styles": 0}}')
  (tmp / 'damaged_config').mkdir()
  (tmp / 'damaged_config' / 'config.json').write_text('{"model": {"embedding_wi')
  if foreign:
    (tmp / 'foreign_models' / 'jazz').mkdir(parents=True)
    os.symlink(foreign, tmp / 'foreign_models' / 'jazz' / '1')


def _environment():
  env = dict(os.environ)
  # Left to the programs: the test process's own imports set it.
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  env['PYTHONPATH'] = os.pathsep.join(filter(None, [REPO, env.get('PYTHONPATH')]))
  return env


def _run(program, arguments, tmp, foreign=''):
  """The program's CompletedProcess for one case, run in its own folder `tmp`."""
  _lay_out(tmp, foreign)
  fill = lambda text: text.format(tmp=tmp, foreign=foreign, pretrained=PRETRAINED)
  if program == 'train' and not any(a.startswith('--run_dir') for a in arguments):
    # A --data_dir of no data, so that a flag let through fails fast, with another line.
    arguments = arguments + ['--run_dir={tmp}/run', '--data_dir={tmp}/data']
  return subprocess.run(
      [sys.executable, '-m', f'stylexfer.programs.{program}'] + [fill(a) for a in arguments],
      capture_output=True, text=True, cwd=tmp, env=_environment(), timeout=300, check=False)


def _run_all(cases, folder, foreign=''):
  """{case: (CompletedProcess, its folder)} of every case, a few processes at once: each
  case is a fresh Python that mostly waits on imports."""
  def one(index_case):
    index, (program, arguments, _) = index_case
    tmp = folder / f'case{index}'
    tmp.mkdir()
    return _run(program, arguments, tmp, foreign), tmp
  with concurrent.futures.ThreadPoolExecutor(4) as pool:
    done = list(pool.map(one, enumerate(cases)))
  return {_case_id(case): result for case, result in zip(cases, done)}


def _check_one_line(program, says, done, tmp, foreign=''):
  fill = lambda text: text.format(tmp=tmp, foreign=foreign, pretrained=PRETRAINED)
  assert 'Traceback' not in done.stderr + done.stdout, done.stderr[-3000:]
  assert done.returncode == 1, done.stderr[-3000:]
  assert done.stderr.count('\n') == 1 and done.stderr.endswith('\n'), done.stderr[-3000:]
  assert done.stderr.startswith(f"stylexfer-{program.replace('_', '-')}: error: ")
  assert fill(says) in done.stderr


def _case_id(case):
  return f'{case[0]}:{" ".join(case[1])}'


@pytest.fixture(scope='module')
def fast_outcomes(tmp_path_factory):
  return _run_all(FAST, tmp_path_factory.mktemp('fast'))


@pytest.mark.parametrize('program, arguments, says', FAST, ids=map(_case_id, FAST))
def test_a_bad_flag_is_one_line_before_tensorflow_starts(program, arguments, says,
                                                         fast_outcomes):
  done, tmp = fast_outcomes[_case_id((program, arguments, says))]
  _check_one_line(program, says, done, tmp)


@pytest.fixture(scope='module')
def foreign_saved_model(tmp_path_factory):
  """A SavedModel of another program, with signatures of our names and other arguments."""
  path = tmp_path_factory.mktemp('foreign') / 'model'
  done = subprocess.run([sys.executable, '-c', _FOREIGN, str(path)], capture_output=True,
                        text=True, timeout=300, check=False)
  assert done.returncode == 0, done.stderr[-3000:]
  return path


@pytest.fixture(scope='module')
def slow_outcomes(tmp_path_factory, foreign_saved_model):
  return _run_all(SLOW, tmp_path_factory.mktemp('slow'), foreign_saved_model)


@pytest.mark.slow
@pytest.mark.parametrize('program, arguments, says', SLOW, ids=map(_case_id, SLOW))
def test_a_bad_folder_is_one_line_once_tensorflow_starts(program, arguments, says,
                                                         slow_outcomes, foreign_saved_model):
  done, tmp = slow_outcomes[_case_id((program, arguments, says))]
  _check_one_line(program, says, done, tmp, foreign_saved_model)

