"""What a bundle verification finds: failures in check order, and notes."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_ENTRY_FAILURES = 100


@dataclass(frozen=True)
class Failure:
    """One thing that does not hold: `where` (a file, "checkpoint size 1000", "entry seq 42")."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Findings:
    """Failures tagged with the step that found them, so the report lists them in check order.

    Files are step 1 wherever they are read: the big members are hashed in the
    same pass that checks their content, yet a damaged file should come first.
    """

    step: int = 1
    max_entry_failures: int = MAX_ENTRY_FAILURES
    notes: list[str] = field(default_factory=list)
    _failures: list[tuple[int, int, Failure]] = field(default_factory=list)
    _entry_failures: int = 0

    def fail(self, where: str, reason: str) -> None:
        """Record a failure found by the current step."""
        self._failures.append((self.step, len(self._failures), Failure(where, reason)))

    def fail_file(self, name: str, reason: str) -> None:
        """Record a failure of a file's presence, digest, length or zip integrity (step 1)."""
        self._failures.append((1, len(self._failures), Failure(name, reason)))

    def fail_entry(self, where: str, reason: str) -> None:
        """Record an entry's failure; past `max_entry_failures` they are only counted."""
        self._entry_failures += 1
        if self._entry_failures <= self.max_entry_failures:
            self.fail(where, reason)

    @property
    def entry_failures(self) -> int:
        """How many entries failed, listed or not."""
        return self._entry_failures

    def note(self, text: str) -> None:
        """Record something worth saying that is not a failure."""
        self.notes.append(text)

    def failures(self) -> list[Failure]:
        """The failures in check order (by step, then as found)."""
        return [failure for _, _, failure in sorted(self._failures, key=lambda t: t[:2])]
