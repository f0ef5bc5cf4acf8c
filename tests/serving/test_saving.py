"""Versioned saving in TF Serving's layout."""

from stylexfer.serving import saving


def test_next_version_skips_what_is_not_a_version(tmp_path):
  assert saving.next_version(str(tmp_path / 'absent')) == 1
  for name in ('1', '7', 'notes', '3.tmp'):
    (tmp_path / name).mkdir()
  assert saving.next_version(str(tmp_path)) == 8
