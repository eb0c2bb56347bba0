"""What a dealer key may read of the channel configuration: its own organisation's.

``viewer_org`` is the organisation a dealer key sees (`trace_api.roles.custody_view`);
None for the brand's own keys, which read every organisation's.
"""

from __future__ import annotations

from trace_api.errors import Forbidden


def check_readable(*, viewer_org: str | None, organisation_id: str) -> None:
    """Forbidden when a dealer asks for another organisation's configuration."""
    if viewer_org is not None and viewer_org != organisation_id:
        raise Forbidden("a dealer key reads only its own organisation's configuration")
