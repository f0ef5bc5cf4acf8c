"""Flags that several programs take, each defined once with one meaning.

Every program names its folders the same way:
  --models_dir   a folder of exported SavedModels, <dir>/<name>/<version>/ (export and
                 merge write there; restyle, generate and evaluate read from there)
  --run_dir      a training run's folder (train writes it; export and evaluate read it)
  --data_dir     the TFDS data folder (build_data writes it; train and evaluate read it)
  --dataset      a `melodies` config: a built-in corpus or a genre built from --corpus
  --out          the folder a program writes its results to (restyle, generate,
                 evaluate's report)
"""

import os
import re
import sys

from absl import app
from absl import flags

from stylexfer.serving import controls


def define_models_dir(flag_values=flags.FLAGS):
  flags.DEFINE_string('models_dir', None, 'Folder of exported models <name>/<version>/ '
                      '(default: the models shipped in stylexfer/pretrained/).',
                      flag_values=flag_values)


def define_sampling_flags(flag_values=flags.FLAGS):
  """The models and how they draw: shared by restyle and generate."""
  define = dict(flag_values=flag_values)
  define_models_dir(flag_values)
  flags.DEFINE_float('temperature', controls.TEMPERATURE, 'Sampling temperature (>= 0.001); '
                     "1.0 with top_p 0.9 gives restyles as coherent as the target genre's "
                     'own melodies (BUILD_NOTES.md); higher is more adventurous.', **define)
  flags.DEFINE_float('top_p', controls.TOP_P, 'Nucleus sampling mass, in (0, 1].', **define)
  flags.DEFINE_integer('seed', controls.SEED, 'Random seed: the same seed gives the same result.',
                       **define)
  flags.DEFINE_string('style', '', "A style of the target genre to write in: folk's tune types "
                      "(reel, jig, hornpipe, slip jig, waltz), jazz's rhythm feels (swing, "
                      "latin, twobeat); default: any. The model's traits list its styles.",
                      **define)
  flags.DEFINE_string('feel', '', 'The same as --style, for a genre whose styles are rhythm '
                      'feels (jazz: swing, latin, twobeat).', **define)


def define_playing_flags(flag_values=flags.FLAGS):
  """How the MIDI and audio are played: shared by restyle and generate."""
  define = dict(flag_values=flag_values)
  flags.DEFINE_float('tempo', None, 'Quarter notes per minute: the tempo the rhythm is drawn '
                     'for, played by the MIDI and audio and written in every score '
                     '(default: the tempo the input states, ABC Q:, a MusicXML metronome '
                     'mark or a MIDI tempo; else unknown to the model and played at 120).',
                     **define)
  flags.DEFINE_string('soundfont', None, 'A .sf2 SoundFont for the audio (played through '
                      'fluidsynth); default: $STYLEXFER_SOUNDFONT or a system one.', **define)
  flags.DEFINE_enum('synthesizer', 'auto', ['auto', 'pluck'], 'auto: a SoundFont through '
                    'fluidsynth where both are found, else the built-in plucked string.',
                    **define)
  flags.DEFINE_float('swing', None, 'Long-short ratio of eighth-note pairs in the MIDI and '
                     'audio (the notation stays straight); 1 plays straight. Default: '
                     "the target genre's (jazz: as measured on WJazzD; folk: straight).",
                     **define)


def define_run_dir(help_text, flag_values=flags.FLAGS):
  flags.DEFINE_string('run_dir', None, help_text, flag_values=flag_values)


def define_data_dir(flag_values=flags.FLAGS):
  flags.DEFINE_string('data_dir', None, 'TFDS data folder of the built melodies '
                      '(default: TFDS\'s, ~/tensorflow_datasets).', flag_values=flag_values)


def define_dataset(default, flag_values=flags.FLAGS):
  flags.DEFINE_string('dataset', default, 'Melodies config: folk_oneills (needs no '
                      'files), folk, jazz, or a genre built with stylexfer-build-data '
                      '--corpus.', flag_values=flag_values)


def define_threads(flag_values=flags.FLAGS):
  flags.DEFINE_integer('intra_op_threads', 0, 'Threads one TensorFlow op may use; 0: half '
                       'the cores when training on CPUs alone (the two heads\' ops run '
                       'side by side), else TensorFlow\'s choice.', lower_bound=0,
                       flag_values=flag_values)
  flags.DEFINE_integer('inter_op_threads', 0, 'TensorFlow ops run at once; 0: 2 when '
                       'training on CPUs alone, else TensorFlow\'s choice.', lower_bound=0,
                       flag_values=flag_values)


HELP_FLAGS = ('--help', '-h', '-help', '--helpshort', '-?', '--help=true')


def help_text(doc, flag_values=flags.FLAGS):
  """A program's help: its docstring, then every flag it takes with its default."""
  modules = flag_values.flags_by_module_dict()
  # A program run as `python -m` defines its flags under its file's path.
  ours = [name for name in modules
          if name.startswith('stylexfer') or name in ('__main__', sys.argv[0])]
  # The program's own flags first, then the shared ones.
  ours.sort(key=lambda name: (name.endswith('shared_flags'), name))
  lines = [doc.strip(), '', 'flags:']
  for name in ours:
    for flag in sorted(modules[name], key=lambda flag: flag.name):
      default = '' if flag.default is None else f' (default: {flag.default_as_str})'
      lines.append(f'  --{flag.name}: {" ".join(flag.help.split())}{default}')
  lines += ['', "TensorFlow's and absl's own flags (--verbosity, --logtostderr, ...): "
            '--helpfull']
  return '\n'.join(lines) + '\n'


def flag_error(error):
  """absl's message of a bad flag, on one line, saying what to pass."""
  text = ' '.join(str(error).split())
  required = re.search(r'Flag --(\w+) must have a value other than None', text)
  if required:
    return f'--{required.group(1)} is required'
  unknown = re.match(r"Unknown command line flag '(\w+)'", text)
  if unknown:
    return f'unknown flag --{unknown.group(1)} (--help lists the flags)'
  return re.sub(r'^flag (--\w+=)', r'\1', text)


def program_name():
  """The command's name: stylexfer-train for stylexfer-train and for
  `python -m stylexfer.programs.train` alike."""
  name = os.path.basename(sys.argv[0]).removesuffix('.py').replace('_', '-')
  return name if name.startswith('stylexfer-') else f'stylexfer-{name}'


def run(main, doc, flag_values=flags.FLAGS, program=None, hint=''):
  """app.run(main), with --help (and -h, --helpshort) printing help_text and exiting 0,
  and a bad flag, or an argument that is no flag (`hint` says what to pass instead),
  ending the program with one line on stderr and status 1.

  absl's own --help lists only the flags of the file that was run (none for a
  console script) and exits 1; its bad flag is two lines.
  """
  program = program or program_name()
  if any(argument in HELP_FLAGS for argument in sys.argv[1:]):
    sys.stdout.write(help_text(doc, flag_values))
    sys.exit(0)

  def parse(argv):
    try:
      remaining = flag_values(argv)
    except flags.Error as error:
      sys.stderr.write(f'{program}: error: {flag_error(error)}\n')
      sys.exit(1)
    if len(remaining) > 1:
      sys.stderr.write(f'{program}: error: unexpected arguments {remaining[1:]}{hint}\n')
      sys.exit(1)
    return remaining

  app.run(main, flags_parser=parse)
