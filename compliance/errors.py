"""Typed errors raised by the `compliance` package.

Every error subclasses `ComplianceError`, so the application can map the whole
family to problem+json in one place. Errors about malformed *input* also
subclass `ValueError`. Verifying a bundle never raises: its findings come back
as a `compliance.verify.BundleVerdict`.
"""

from __future__ import annotations

__all__ = [
    "ComplianceError",
    "InvalidBundleInput",
    "InvalidCheckpointSignature",
    "InvalidInvoice",
    "InvalidWitnessKey",
    "MalformedCheckpoint",
    "MalformedEntry",
    "MalformedEvidence",
]


class ComplianceError(Exception):
    """Base class of every error raised by `compliance`."""


class MalformedEntry(ComplianceError, ValueError):
    """A log entry that is not the canonical JSON object the log format defines."""


class MalformedEvidence(ComplianceError, ValueError):
    """A contract-proof statement, signature or certificate that is not in its defined form."""


class InvalidInvoice(ComplianceError, ValueError):
    """An invoice, a line, an amount or an invoice document that breaks the invoice rules."""


class MalformedCheckpoint(ComplianceError, ValueError):
    """A checkpoint body that is not the canonical JSON object the checkpoint format defines."""


class InvalidCheckpointSignature(ComplianceError):
    """A checkpoint signature that is malformed or does not verify under the given key."""


class InvalidWitnessKey(ComplianceError, ValueError):
    """A witness secret key out of range, or a signature that cannot be aggregated."""


class InvalidBundleInput(ComplianceError, ValueError):
    """What the bundle writer was given is inconsistent (order, sizes, tree, anchors)."""
