"""The two hashes of a captured event: its canonical digest and its EPCIS event hash ID.

- ``canonical_bytes``/``content_digest``: SHA-256 of the event's RFC 8785 canonical JSON,
  exactly as captured: what the audit log commits to.
- ``event_hash_ids``: the standard's event hash ID (``ni:///sha-256;...?ver=CBV2.0``),
  computed by GS1's reference implementation, the ``epcis-event-hash-generator`` package.
  Its own entry point expands the whole document with PyLD (about 0.5 ms per event, and a
  network fetch for any context it does not ship); the expansion only serves to turn bare
  CBV values (``shipping``) into their web URIs, so we do that step ourselves from the
  EPCIS context the package ships, per event, and hand the rest to the package's own
  functions. tests/epcis/test_epcis_hashing.py checks both paths agree on every example.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from functools import lru_cache
from importlib import resources
from typing import Any

import rfc8785
from epcis_event_hash_generator import hash_generator, json_to_py
from epcis_event_hash_generator import json_xml_model_mismatch_correction as mismatch

_CONTEXT_FILE = "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008.jsonld"
_PREFIXES = {"cbv": "https://ref.gs1.org/cbv/", "gs1": "https://gs1.org/voc/"}
_KEPT = ("https://ref.gs1.org/cbv", "https://gs1.org/voc")
# The package keeps its namespaces and separator in module globals.
_lock = threading.Lock()


class EventHashError(ValueError):
    """The reference implementation could not compute an event's hash ID."""


class NotCanonical(ValueError):
    """An event RFC 8785 cannot write: an integer beyond ±(2**53 - 1), a lone surrogate."""


def canonical_bytes(event: dict[str, Any]) -> bytes:
    """The event's RFC 8785 canonical JSON.

    Most events hold only strings, booleans, small integers and ASCII member names; for
    those a sorted compact ``json.dumps`` writes exactly the RFC 8785 bytes, five times
    faster than the general canonicaliser, which serves everything else (floats, big
    integers, non-ASCII names, whose order RFC 8785 takes in UTF-16 code units).
    """
    if _plain(event):
        text = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it
            pass
    try:
        return bytes(rfc8785.dumps(event))
    except rfc8785.CanonicalizationError as exc:
        raise NotCanonical(f"the event has no RFC 8785 canonical form: {exc}") from None


_SAFE_INT = 2**53 - 1


def _plain(node: Any) -> bool:
    if isinstance(node, str) or node is None or isinstance(node, bool):
        return True
    if isinstance(node, int):
        return -_SAFE_INT <= node <= _SAFE_INT
    if isinstance(node, list):
        return all(_plain(item) for item in node)
    if isinstance(node, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in node.items())
    return False  # floats and anything else


def content_digest(event: dict[str, Any]) -> bytes:
    """SHA-256 of the event's canonical JSON (32 bytes)."""
    return hashlib.sha256(canonical_bytes(event)).digest()


@lru_cache(maxsize=1)
def _epcis_terms() -> dict[str, Any]:
    text = resources.files("epcis_event_hash_generator").joinpath(_CONTEXT_FILE).read_text()
    context: dict[str, Any] = json.loads(text)["@context"]
    return context


def _scoped(terms: dict[str, Any], definition: Any) -> dict[str, Any]:
    scoped = definition.get("@context") if isinstance(definition, dict) else None
    if not scoped:
        return terms
    merged = dict(terms)
    for part in scoped if isinstance(scoped, list) else [scoped]:
        if isinstance(part, dict):
            merged.update(part)
    return merged


def _expand(term: Any) -> str | None:
    iri = term.get("@id") if isinstance(term, dict) else term
    if not isinstance(iri, str):
        return None
    prefix, _, rest = iri.partition(":")
    return _PREFIXES[prefix] + rest if prefix in _PREFIXES else iri


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _vocab_values(node: Any, terms: dict[str, Any], out: set[str]) -> None:
    """The IRIs JSON-LD expansion gives the bare vocabulary values under ``node``."""
    if isinstance(node, list):
        for item in node:
            _vocab_values(item, terms, out)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        definition = terms.get(key)
        inner = _scoped(terms, definition)
        if isinstance(definition, dict) and definition.get("@type") == "@vocab":
            for text in _strings(value):
                iri = _expand(inner.get(text))
                if iri and iri.startswith(_KEPT):
                    out.add(iri)
        _vocab_values(value, inner, out)


def event_hash_id(event: dict[str, Any], context: Any) -> str:
    """The EPCIS event hash ID of ``event``, read in a document with ``context``."""
    expanded: set[str] = set()
    _vocab_values(event, _epcis_terms(), expanded)
    doc = {"@context": context, "epcisBody": {"eventList": [copy.deepcopy(event)]}}
    prepared = json_to_py._replace_bare_string_values(doc, expanded)["epcisBody"]["eventList"]
    with _lock:
        json_to_py._namespaces = {}
        try:
            json_to_py._namespaces.update(_namespaces(context))
            simple = mismatch.deep_structure_correction(
                _typed_pairs(json_to_py._json_to_py(prepared[0]))
            )
            prehashes = hash_generator.derive_prehashes_from_events(("EventList", "", [simple]))
        except Exception as exc:  # the package fails on shapes it does not know
            raise EventHashError(f"the EPCIS event hash generator failed: {exc}") from exc
    if len(prehashes) != 1:  # it logs and skips an event it cannot read
        raise EventHashError("the EPCIS event hash generator could not read the event")
    return str(hash_generator.calculate_hashes_from_pre_hashes(prehashes)[0])


_PAIR_LISTS = ("bizTransactionList", "sourceList", "destinationList")


def _typed_pairs(event: Any) -> Any:
    """Give untyped list members an empty ``type`` (the package expects type/value pairs).

    ``type`` is optional for a bizTransaction; the package indexes the pair and fails
    without it. An empty value adds nothing to the pre-hash string, so the ID is that of
    the member without a type, as the algorithm intends.
    """
    for child in event[2]:
        if child[0] in _PAIR_LISTS and len(child[2]) == 1:
            child[2].insert(0, ("type", "", []))
    return event


def _namespaces(context: Any) -> dict[str, str]:
    """The prefixes a document's @context defines, as the package writes them (``{iri}``).

    The package's own collector fails on a term defined by an object (``"rail:x":
    {"@type": "@id"}``, as GS1's rail example has); such terms define no prefix, so they
    are skipped here and everything else is read as the package reads it.
    """
    found: dict[str, str] = {}
    for part in context if isinstance(context, list) else []:
        if isinstance(part, str):
            found[part] = "{" + part + "}"
        elif isinstance(part, dict):
            found.update({k: "{" + v + "}" for k, v in part.items() if isinstance(v, str)})
    return found


def content_key(event: dict[str, Any]) -> bytes:
    """What an error declaration shares with the event it declares erroneous.

    The event without ``eventID``, ``recordTime`` and ``errorDeclaration`` (the fields the
    standard lets differ), as sorted compact JSON, hashed: a lookup key, not a commitment.
    """
    stripped = {k: v for k, v in event.items() if k not in _NOT_CONTENT}
    text = json.dumps(stripped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).digest()


_NOT_CONTENT = frozenset({"eventID", "recordTime", "errorDeclaration"})


def vocabulary(term: str) -> list[str]:
    """The bare CBV values the EPCIS context defines for ``term`` (bizStep, disposition)."""
    definition = _epcis_terms().get(term)
    scoped = definition.get("@context") if isinstance(definition, dict) else None
    parts = scoped if isinstance(scoped, list) else [scoped] if scoped else []
    return sorted({k for part in parts if isinstance(part, dict) for k in part if k[0] != "@"})
