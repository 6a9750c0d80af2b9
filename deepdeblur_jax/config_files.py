"""Config files (configs/*.py) that import each other load from any working directory."""

import os
import sys
from typing import Optional


def add_package_root(path: str) -> Optional[str]:
  """When the config file `path` lies in a package folder (one with __init__.py, as configs/ is),
  puts the folder above that package first on sys.path, so that the file's imports of its
  siblings (`from configs import default`) resolve from any working directory. Returns the
  folder added, or None (no file, or not in a package)."""
  if not os.path.isfile(path):
    path = path.rsplit(':', 1)[0]  # ml_collections' `file.py:argument` form
    if not os.path.isfile(path):
      return None
  folder = os.path.dirname(os.path.abspath(path))
  root = folder
  while os.path.isfile(os.path.join(root, '__init__.py')) and os.path.dirname(root) != root:
    root = os.path.dirname(root)
  if root == folder:
    return None
  if root in sys.path:
    sys.path.remove(root)
  sys.path.insert(0, root)
  return root
