"""The master key: from TRACE_MASTER_KEY, or generated once into the data dir (0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from trace_api.settings import Settings

MASTER_KEY_BYTES = 16  # an SM4 key


class MasterKeyError(Exception):
    """The configured master key is unusable."""


def load_master_key(settings: Settings) -> tuple[bytes, str]:
    """The master key and where it came from ("environment" or the key file's path)."""
    if settings.master_key is not None:
        return _parse(settings.master_key.get_secret_value(), "TRACE_MASTER_KEY"), "environment"
    path = settings.data_dir / "master.key"
    return _load_or_create(path), str(path)


def _parse(text: str, source: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise MasterKeyError(f"{source} is not hex") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise MasterKeyError(f"{source} must be {MASTER_KEY_BYTES * 2} hex digits")
    return key


def _load_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise MasterKeyError(f"{path} is readable by others; chmod 600 it") from None
        return _parse(path.read_text(), str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(MASTER_KEY_BYTES) + "\n")
    return _parse(path.read_text(), str(path))
