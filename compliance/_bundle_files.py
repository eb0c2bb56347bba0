"""Reading a bundle's zip members as a verifier must: streamed, size-capped, digest-checked.

Every listed file is read exactly once; its SM3 digest and length are
compared with the manifest's listing when the read finishes, so the large
members (entries, index, multiproof) are hashed in the same pass that checks
their content. Any zip-level error (bad CRC, corrupt deflate data, a header
that contradicts the directory) becomes a finding that names the member.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from compliance._wire import sm3_stream

_READ = 1 << 20
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    KeyError,
)
"""What zipfile raises on a damaged archive or member."""


@dataclass(frozen=True)
class Listed:
    """A file as the manifest lists it."""

    size: int
    sm3: bytes


class BundleFiles:
    """The members of an opened bundle, read against the manifest's listing."""

    def __init__(self, archive: zipfile.ZipFile, fail: Callable[[str, str], None]) -> None:
        self._archive = archive
        self._fail = fail
        self.present = {info.filename for info in archive.infolist()}
        self.listing: dict[str, Listed] = {}
        self._done: set[str] = set()  # read to the end (or to a failure); abandoned reads are not
        self.broken: set[str] = set()

    def chunks(self, name: str, *, cap: int | None = None) -> Iterator[bytes]:
        """Yield the member's bytes; at the end, check them against the listing.

        Stops early (after reporting) on a zip error or beyond `cap` bytes.
        Without a cap it reads on past the listed length (memory stays flat),
        so that the content checks can still name what changed.
        """
        listed = self.listing.get(name)
        if name not in self.present:
            self._done.add(name)
            self._fail(name, "is missing from the bundle")
            self.broken.add(name)
            return
        digest, size = sm3_stream(), 0
        try:
            with self._archive.open(name) as member:
                while chunk := member.read(_READ):
                    size += len(chunk)
                    if cap is not None and size > cap:
                        self._done.add(name)
                        self._fail(name, f"is longer than the {cap:,} bytes allowed")
                        self.broken.add(name)
                        return
                    digest.update(chunk)
                    yield chunk
        except ZIP_ERRORS as exc:
            self._done.add(name)
            self._fail(name, f"is damaged in the zip archive ({type(exc).__name__}: {exc})")
            self.broken.add(name)
            return
        self._done.add(name)
        if listed is None:
            return
        if size != listed.size:
            self._fail(name, f"is {size:,} bytes, the manifest lists {listed.size:,}")
            self.broken.add(name)
        elif digest.digest() != listed.sm3:
            self._fail(name, "its SM3 digest differs from the one listed in manifest.json")
            self.broken.add(name)

    def read(self, name: str, *, cap: int) -> bytes | None:
        """The whole member (at most `cap` bytes), or None after reporting why not."""
        listed = self.listing.get(name)
        if listed is not None and listed.size > cap:
            self._done.add(name)
            self._fail(name, f"is listed at {listed.size:,} bytes, more than the {cap:,} allowed")
            self.broken.add(name)
            return None
        data = b"".join(self.chunks(name, cap=cap))
        return None if name in self.broken else data

    def lines(self, name: str, *, max_line: int) -> Iterator[bytes]:
        """The member's newline-terminated lines, without their newline, streamed.

        A last line without its newline is yielded too, and reported.
        """
        rest = b""
        for chunk in self.chunks(name):
            if rest:
                chunk = rest + chunk
            parts = chunk.split(b"\n")
            rest = parts.pop()
            if len(rest) > max_line:
                self._fail(name, f"holds a line longer than {max_line:,} bytes")
                self.broken.add(name)
                self._done.add(name)
                return
            yield from parts
        if rest:
            self._fail(name, "does not end with a newline")
            yield rest

    def finish(self) -> None:
        """Read (and so check) every listed file that no check has read yet."""
        for name in sorted(self.listing):
            if name not in self._done:
                for _ in self.chunks(name):
                    pass
