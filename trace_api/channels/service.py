"""The channel configuration: the tree, territories, geofences, product scopes, cross-edges
and locations. docs/channels.md states the rules; every change lands in the audit log.

This module is what the routes and allocations call; each part lives in its own module
(territories.py with geofences, scopes.py, edges.py, locations.py, tree.py, with what an
organisation inherits down the tree in inheritance.py).

Services never commit: the caller owns the transaction (one per request or job).
"""

from __future__ import annotations

from trace_api.channels.edges import add_cross_edge, list_cross_edges, revoke_cross_edge
from trace_api.channels.inheritance import Inherited, inherited, organisations
from trace_api.channels.locations import list_locations, location_key, set_locations
from trace_api.channels.scopes import (
    GROUP_PREFIX,
    get_product_scopes,
    scopes_by_org,
    set_product_scopes,
    split_scopes,
)
from trace_api.channels.territories import (
    add_geofence,
    check_division,
    delete_geofence,
    division_name,
    effective_territories,
    get_territories,
    list_geofences,
    set_territories,
    territories_by_org,
)
from trace_api.channels.tree import TreeData, set_parent, tree_data

__all__ = [
    "GROUP_PREFIX",
    "Inherited",
    "TreeData",
    "add_cross_edge",
    "add_geofence",
    "check_division",
    "delete_geofence",
    "division_name",
    "effective_territories",
    "get_product_scopes",
    "get_territories",
    "inherited",
    "list_cross_edges",
    "list_geofences",
    "list_locations",
    "location_key",
    "organisations",
    "revoke_cross_edge",
    "scopes_by_org",
    "set_locations",
    "set_parent",
    "set_product_scopes",
    "set_territories",
    "split_scopes",
    "territories_by_org",
    "tree_data",
]
