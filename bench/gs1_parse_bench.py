"""GS1 Digital Link and EPC URN parsing per second: our parsers beside biip and epcpy.

Run: .venv/bin/python bench/gs1_parse_bench.py [--seconds 1] [--rounds 5]

Three measurements, each of ours beside its library baseline in the same run, on the
same inputs (a batch of distinct printed item links, so caches do not flatter anyone):

- the resolver's hot path, ``parse_item_path`` of a request path (what every scan pays),
  beside ``biip``'s ``GS1DigitalLinkURI.parse`` of the same URI;
- ``parse_link_key`` of a full URI (what EPCIS identifiers pay for a Digital Link),
  beside biip alone;
- ``identifiers.canonical`` of SGTIN EPC URNs uncached, beside epcpy's
  ``epc_pure_identity_to_gs1_element_string`` alone.

Each figure is the median of its rounds; the rounds interleave the contenders so load
that comes and goes on the machine falls on all of them alike. Prints figures, asserts
nothing but that the contenders agree on what they read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from epcpy.utils.parsers import epc_pure_identity_to_gs1_element_string

from trace_api.codes.gs1 import item_uri, parse_item_path, parse_link_key
from trace_api.epcis import identifiers

BASE = "https://id.brand.example"
N = 2000


def _rate(work: Callable[[], object], inputs: int, seconds: float) -> float:
    """Calls per second of ``work`` (which handles ``inputs`` items) over about ``seconds``."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        work()
        done += inputs
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per contender and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    uris = [item_uri(BASE, "09506000134352", f"L2026-{n % 7}/A", f"S{n:09d}") for n in range(N)]
    paths = [u.removeprefix(BASE) for u in uris]
    urns = [f"urn:epc:id:sgtin:0614141.107346.{n}" for n in range(N)]
    for uri, path in zip(uris, paths, strict=True):  # they read the same thing
        ours = parse_item_path(path)
        theirs = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(uri).element_strings}
        assert theirs == {"01": ours.gtin, "10": ours.lot, "21": ours.serial}, uri
        assert parse_link_key(uri) == tuple(theirs.items()), uri

    def uncached_canonical() -> None:
        identifiers.canonical.cache_clear()
        for urn in urns:
            identifiers.canonical(urn)

    contenders: dict[str, Callable[[], object]] = {
        "parse_item_path (resolver)": lambda: [parse_item_path(p) for p in paths],
        "parse_link_key": lambda: [parse_link_key(u) for u in uris],
        "biip GS1DigitalLinkURI.parse": lambda: [GS1DigitalLinkURI.parse(u) for u in uris],
        "identifiers.canonical (SGTIN URN)": uncached_canonical,
        "epcpy element string (SGTIN URN)": lambda: [
            epc_pure_identity_to_gs1_element_string(u) for u in urns
        ],
    }
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, work in contenders.items():
            rates[name].append(_rate(work, N, args.seconds))
    median = {name: statistics.median(r) for name, r in rates.items()}
    biip = median["biip GS1DigitalLinkURI.parse"]
    epcpy = median["epcpy element string (SGTIN URN)"]
    for name, rate in median.items():
        baseline = epcpy if "URN" in name else biip
        print(f"{name:36s} {rate:12,.0f} /s   {rate / baseline:5.1f}x the library")


if __name__ == "__main__":
    main()
