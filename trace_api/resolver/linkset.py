"""GS1 resolver answers: the resolver description and RFC 9264 linksets of items."""

from __future__ import annotations

from typing import Any

from trace_api.resolver.resolution import Resolution

GS1_VOC = "https://gs1.org/voc/"
LINKSET_MEDIA_TYPE = "application/linkset+json"


def description(base: str) -> dict[str, Any]:
    """``/.well-known/gs1resolver``: what this resolver answers (GS1-Conformant Resolver 1.1)."""
    return {
        "name": "tracechain item resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {
                "namespace": GS1_VOC,
                "prefix": "gs1:",
                "profile": "https://gs1.org/voc/?show=linktypes",
            }
        ],
        "linkTypeDefaultCanBeLinkset": True,
        "supportedContextValues": [],
        "supportedLanguages": ["zh", "en"],
    }


def expand(link_type: str) -> str:
    """``gs1:pip`` -> ``https://gs1.org/voc/pip`` (link types are compared expanded)."""
    return GS1_VOC + link_type[4:] if link_type.startswith("gs1:") else link_type


def item_links(result: Resolution, page_uri: str, proof_uri: str) -> dict[str, str]:
    """The item's links by link type: the page, the proof, and the brand's own."""
    links = {"gs1:defaultLink": page_uri, "gs1:traceability": proof_uri}
    links.update(result.links)
    return links


def linkset(result: Resolution, anchor: str, page_uri: str, proof_uri: str) -> dict[str, Any]:
    """The RFC 9264 linkset (JSON) of one item."""
    context: dict[str, Any] = {"anchor": anchor}
    if result.product:
        context["itemDescription"] = result.product["name"]
    context[expand("gs1:defaultLink")] = [
        {
            "href": page_uri,
            "title": "Product check / 产品验证",
            "type": "text/html",
            "hreflang": ["zh", "en"],
        }
    ]
    context[expand("gs1:traceability")] = [
        {
            "href": proof_uri,
            "title": "Merkle inclusion proof and on-chain anchor",
            "type": "application/json",
        }
    ]
    for link_type, href in result.links.items():
        context.setdefault(expand(link_type), []).append({"href": href})
    return {"linkset": [context]}
