"""The item link a resolver request names, read from its raw path and query string.

The raw path, so that a percent-encoded ``/`` in a lot stays inside its value.
"""

from __future__ import annotations

from starlette.types import Scope

from trace_api.codes.errors import InvalidDigitalLink
from trace_api.codes.gs1 import ItemLink, parse_item_link, parse_item_path


def link_of(scope: Scope) -> ItemLink:
    """The item link a request names, read from its raw path and query string."""
    path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    try:
        query = scope.get("query_string", b"").decode()
    except UnicodeDecodeError:
        raise InvalidDigitalLink("the query string is not UTF-8") from None
    if path.startswith("//") or "#" in query:  # read as a URI would: a host, a fragment
        return parse_item_link(f"{path}?{query}" if query else path)
    return parse_item_path(path, query)
