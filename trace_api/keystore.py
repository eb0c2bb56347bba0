"""The service's keys: from the environment, or generated once into the data dir (0600).

The master key (SM4) wraps tenant data keys; the signing key (SM2) signs audit
checkpoints and bundles.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from crypto import sm2
from trace_api.private_files import private_dir
from trace_api.settings import Settings

MASTER_KEY_BYTES = 16  # an SM4 key
SIGNING_KEY_BYTES = 32  # an SM2 private scalar


class MasterKeyError(Exception):
    """A configured key is unusable."""


def load_master_key(settings: Settings) -> tuple[bytes, str]:
    """The master key and where it came from ("environment" or the key file's path)."""
    if settings.master_key is not None:
        text = settings.master_key.get_secret_value()
        return _parse(text, "TRACE_MASTER_KEY", MASTER_KEY_BYTES), "environment"
    path = settings.data_dir / "master.key"
    return _load_or_create(path, MASTER_KEY_BYTES), str(path)


def load_signing_key(settings: Settings) -> tuple[sm2.PrivateKey, str]:
    """The SM2 signing key and where it came from ("environment" or the key file's path)."""
    if settings.signing_key is not None:
        text = settings.signing_key.get_secret_value()
        raw, source = _parse(text, "TRACE_SIGNING_KEY", SIGNING_KEY_BYTES), "environment"
    else:
        path = settings.data_dir / "signing.key"
        raw, source = _load_or_create(path, SIGNING_KEY_BYTES), str(path)
    try:
        return sm2.PrivateKey.from_bytes(raw), source
    except ValueError as exc:
        raise MasterKeyError(f"{source}: not a valid SM2 private key") from exc


def _parse(text: str, source: str, length: int) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise MasterKeyError(f"{source} is not hex") from exc
    if len(key) != length:
        raise MasterKeyError(f"{source} must be {length * 2} hex digits")
    return key


def _load_or_create(path: Path, length: int) -> bytes:
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise MasterKeyError(f"{path} is readable by others; chmod 600 it") from None
        return _parse(path.read_text(), str(path), length)
    with os.fdopen(fd, "w") as handle:
        handle.write(_new_key(length).hex() + "\n")
    return _parse(path.read_text(), str(path), length)


def _new_key(length: int) -> bytes:
    if length == SIGNING_KEY_BYTES:
        return sm2.PrivateKey.generate().to_bytes()
    return secrets.token_bytes(length)
