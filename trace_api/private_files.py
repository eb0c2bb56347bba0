"""Local state (the SQLite file, keys, exports, PIN files) readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner may enter (0700), made (with any missing
    parents, 0700 too) if missing."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner may read (0600), made empty if missing."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path


def open_private(path: Path) -> int:
    """A descriptor for writing ``path`` (truncated), created 0600: ``os.fdopen`` it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    return os.open(path, flags, 0o600)
