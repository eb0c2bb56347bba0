"""GS1's official OpenAPI document of the EPCIS 2.0 REST binding, made loadable offline.

The document points at schemas and examples on gs1.github.io. We resolve those references
the way GS1's own schema injector (``REST Bindings/schema-injector``) does, from the files
we have: schema references go to the definitions of the EPCIS JSON Schema we ship,
example references to the corpus examples (or are dropped when the corpus lacks them).
``servers`` is set to ``/epcis``, where we serve the binding. Nothing else is changed,
except the documented amendments in ``AMENDMENTS`` below.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from trace_api.epcis.validation import load_schema

# A copy of the shared corpus (../shared/conformance), so a clone anywhere can run it.
CONFORMANCE = Path(__file__).resolve().parent / "conformance" / "epcis"
STUB = "https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json#/definitions/"
EXAMPLES = {
    "https://gs1.github.io/EPCIS/JSON/EPCISQueryDocument.jsonld": "EPCISQueryDocument.jsonld",
    "https://gs1.github.io/EPCIS/JSON/Example_9.6.1-ObjectEvent.jsonld": (
        "Example_9.6.1-ObjectEvent.jsonld"
    ),
}
# The EPCIS query standard answers a malformed query parameter or page token with a
# QueryParameterException (400), and maxEventCount with QueryTooLargeException (413); GS1's
# document lists both for /epcs/{epc}/events and its siblings but not for these
# operations. We add the same responses to them, and say so in docs/epcis.md.
AMENDMENTS = {
    ("/events", "get"): {"400": "400QueryIssues", "413": "413QueryScopeOrSize"},
    ("/capture", "get"): {"400": "400QueryIssues"},
    ("/queries", "get"): {"400": "400QueryIssues"},
    ("/queries", "post"): {"400": "400QueryIssues"},
    ("/queries/{queryName}/subscriptions", "post"): {"400": "400SubscriptionIssues"},
    ("/eventTypes", "get"): {"400": "400QueryIssues"},
    ("/epcs", "get"): {"400": "400QueryIssues"},
    ("/bizSteps", "get"): {"400": "400QueryIssues"},
    ("/bizLocations", "get"): {"400": "400QueryIssues"},
    ("/readPoints", "get"): {"400": "400QueryIssues"},
    ("/dispositions", "get"): {"400": "400QueryIssues"},
}
for _path in (
    "/eventTypes/{eventType}/events",
    "/epcs/{epc}/events",
    "/bizSteps/{bizStep}/events",
    "/bizLocations/{bizLocation}/events",
    "/readPoints/{readPoint}/events",
    "/dispositions/{disposition}/events",
):
    AMENDMENTS[(_path, "get")] = {"413": "413QueryScopeOrSize"}


# GS1's CaptureJob says oneOf {errors} / {errorFile} with neither required, so every job
# object matches both branches and no answer can conform; we read it as anyOf.
SCHEMA_FIXES = {"CaptureJob": ("allOf", 1, "oneOf", "anyOf")}
# Slips in GS1's responses: 409ResourceAlreadyExistsException gives its body the status
# 406 (copied from 406NotAcceptable; its own example says 409); and the events of a named
# query list subscription issues as their only 400s, though a malformed query parameter
# there is a QueryParameterException as on every other query path.
STATUS_FIXES = {"409ResourceAlreadyExistsException": 409}
EXTRA_PROBLEM_TYPES = {
    ("/queries/{queryName}/events", "get", "400"): "epcisException:QueryParameterException"
}


def _definition_name(pointer: str) -> str:
    name = unquote(pointer.rsplit("/", 1)[-1])
    return {"@context": "LDContext", "EPCIS-Document-Event": "EPCISEvent"}.get(name, name)


def _rewrite(node: Any, parent_key: str | None = None) -> Any:
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#/components"):
        if parent_key == "example":
            local = EXAMPLES.get(ref)
            return json.loads((CONFORMANCE / local).read_text()) if local else None
        if ref.startswith(STUB) or ref.startswith("#/definitions/"):
            return {"$ref": "#/components/schemas/" + _definition_name(ref)}
    out = {}
    for key, value in node.items():
        if key == "propertyNames":  # not an OpenAPI 3.0 keyword (the injector drops it too)
            continue
        rewritten = _rewrite(value, key)
        if key == "example" and rewritten is None:
            continue
        out[key] = rewritten
    return out


def gs1_openapi() -> dict[str, Any]:
    """The official document, offline, with servers set to /epcis (module docstring)."""
    raw = yaml.safe_load((CONFORMANCE / "rest-binding" / "openapi.yaml").read_text())
    spec: dict[str, Any] = _rewrite(raw)
    schemas = spec["components"]["schemas"]
    for name, definition in load_schema()["definitions"].items():
        if name not in ("EPCIS-Document-Event", "@context"):  # the injector's blacklist
            schemas[name] = _rewrite(copy.deepcopy(definition))
    for name, (key, index, old, new) in SCHEMA_FIXES.items():
        branch = schemas[name][key][index]
        branch[new] = branch.pop(old)
    for name, status in STATUS_FIXES.items():
        for content in spec["components"]["responses"][name]["content"].values():
            fixed = content["schema"]["allOf"][0]["properties"]["status"]
            fixed.update(enum=[status], default=status)
    for (path, method, status), problem_type in EXTRA_PROBLEM_TYPES.items():
        responses = spec["paths"][path][method]["responses"]
        name = responses[status]["$ref"].rsplit("/", 1)[-1]
        widened = copy.deepcopy(spec["components"]["responses"][name])
        for content in widened["content"].values():
            content["schema"]["allOf"][0]["properties"]["type"]["enum"].append(problem_type)
        responses[status] = widened
    spec["servers"] = [{"url": "/epcis"}]
    for (path, method), added in AMENDMENTS.items():
        responses = spec["paths"][path][method]["responses"]
        for status, name in added.items():
            responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})
    return spec
