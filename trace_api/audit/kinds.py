"""Kinds of log entry that the audit domain reads back as well as the domain that writes them.

A dealer may read the log entry of an EPCIS capture about goods it holds or held
(trace_api/audit/routes.py); the entry is written by EPCIS capture. The name lives here,
below both, so that neither imports the other for it.
"""

from __future__ import annotations

EVENT_CAPTURED = "epcis.event_captured"
