"""Saves SavedModels in TF Serving's layout: <root>/<name>/<version>/, versions integers."""

import os

import tensorflow as tf


def next_version(folder):
  """The next free integer version under `folder` (1 for a new folder)."""
  if not tf.io.gfile.exists(folder):
    return 1
  # Some file systems list folders with a trailing slash.
  names = [n.rstrip('/') for n in tf.io.gfile.listdir(folder)]
  return max((int(n) for n in names if n.isdigit()), default=0) + 1


def save_versioned(module, root, name, version=None):
  """Saves a module with its signatures to <root>/<name>/<version>/; returns that folder.

  The version defaults to the next free integer.
  """
  version = version or next_version(os.path.join(root, name))
  path = os.path.join(root, name, str(int(version)))
  tf.saved_model.save(module, path, signatures=module.signatures())
  return path
