"""Deprecated: the package is now `libswin` (the name `swin` on PyPI belongs to another
project). `import swin` still works, warns with DeprecationWarning, and gives libswin's names:
replace it with `import libswin`."""
import warnings

import libswin as _libswin
from libswin import *  # noqa: F401,F403

warnings.warn("the Python package 'swin' is now 'libswin': import libswin instead",
              DeprecationWarning, stacklevel=2)

__all__ = list(_libswin.__all__)
__version__ = _libswin.__version__


def __getattr__(name):
    # Everything else libswin has (Status, OUTPUT_*, ...), as the old package had it.
    return getattr(_libswin, name)
