"""The shipped models give the same melodies for the same seeds, release after release.

The pins in tests/golden/ were written by tests/golden/make_pins.py. A change to the
package's layout, the readers, the writers or the sampler must leave them as they are; a
change meant to alter them regenerates them and says so.
"""

import json

import numpy as np
import pytest

from golden import make_pins

pytestmark = pytest.mark.slow


def test_signatures_give_the_pinned_notes():
  expected = json.loads((make_pins.HERE / 'signatures.json').read_text())
  got = make_pins.signature_pins()
  assert sorted(got) == sorted(expected)
  for key, outputs in expected.items():
    for name, value in outputs.items():
      np.testing.assert_allclose(got[key][name], value, err_msg=f'{key} {name}')


def test_programs_write_the_pinned_tunes(tmp_path):
  got = make_pins.program_outputs(tmp_path)
  expected = {str(path.relative_to(make_pins.HERE)): path.read_text()
              for path in sorted(make_pins.HERE.glob('*/*.abc'))}
  assert sorted(got) == sorted(expected)
  for relative, text in expected.items():
    assert got[relative] == text, relative
