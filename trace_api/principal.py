"""Who is calling: the type every domain's routes and services receive.

A base module (see docs/architecture.md): tenancy authenticates keys into a
`Principal`, and audit and anchoring, which tenancy writes to, read it too, so it
lives below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the key, its role and (for dealers) organisation."""

    tenant_id: str
    key_id: str
    role: str
    organisation_id: str | None
