"""Builds the `melodies` TFDS dataset for one genre config, or for your own corpus.

  stylexfer-build-data --dataset=folk --manual_dir=../shared/corpora
  stylexfer-build-data --corpus=path/to/folder --dataset=bebop
  python -m stylexfer.programs.build_data ...   (the same)

A corpus is a folder of ABC, MIDI and MusicXML files (nested folders, mixed formats); it
becomes the data set melodies/<dataset>, which `stylexfer-train --dataset=<dataset>` reads.
Add --beam_pipeline_options=direct_num_workers=2,direct_running_mode=multi_processing
(with `pip install stylexfer[beam]`) to build on Apache Beam.
"""

import sys
import time

from absl import flags

from stylexfer.dataset import build as build_lib
from stylexfer.dataset import corpus
from stylexfer.programs import common
from stylexfer.programs import shared_flags

PROGRAM = 'stylexfer-build-data'


def define_flags():
  shared_flags.define_dataset('folk_oneills')
  flags.DEFINE_string('corpus', None, 'A folder of your own ABC, MIDI and MusicXML files '
                      '(searched with its subfolders); --dataset names the genre it holds '
                      '(lower-case letters, digits, _).')
  shared_flags.define_data_dir()
  flags.DEFINE_string('manual_dir', None,
                      'Folder holding folk-nottingham/ and jazz-wjazzd/ (see the builder).')
  flags.DEFINE_list('beam_pipeline_options', None,
                    'Build on Apache Beam with these options, e.g. direct_num_workers=2,'
                    'direct_running_mode=multi_processing (needs pip install stylexfer[beam]).')


def main(argv):
  del argv
  f = flags.FLAGS
  started = time.time()
  try:
    builder = build_lib.build(f.dataset, f.data_dir, f.manual_dir, corpus_dir=f.corpus,
                              beam_options=f.beam_pipeline_options)
  except (corpus.CorpusError, ValueError, ImportError) as error:
    sys.exit(f'{PROGRAM}: error: {common.one_line(error)}')
  except OSError as error:  # a folder that is a file, cannot be written, or is missing
    where = f'{error.filename}: ' if error.filename else ''
    sys.exit(f'{PROGRAM}: error: {where}{common.one_line(error.strerror or error)}')
  statistics = builder.info.metadata.get('statistics')
  if statistics:  # what was read, kept and dropped, by reason
    print(corpus.format_table(statistics))
  for name, split in builder.info.splits.items():
    print(f'{name:<12} {split.num_examples:>6} tunes')
  print(f'built {builder.info.full_name} in {builder.data_dir} '
        f'({time.time() - started:.0f} s)')


def run():
  define_flags()
  shared_flags.run(main, __doc__)


if __name__ == '__main__':
  run()
