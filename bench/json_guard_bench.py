"""What reading a request body under the guard costs, beside a plain decode of it.

Run: .venv/bin/python bench/json_guard_bench.py

Two bodies: an EPCIS capture document of 100,000 ObjectEvents (about 40 MB, the size the
capture route takes) and a small API body (about 300 bytes). For each: the nesting scan
alone (`nesting_depth`, what every JSON body pays before decoding), the strict decode
(`loads_strict`: scan, duplicate members, NaN, NUL and surrogate checks), and, as the
same-run baseline, Python's plain `json.loads`. Medians of 5 runs. Prints figures, asserts
nothing.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

from trace_api.json_input import loads_strict, nesting_depth


def _capture_document(events: int) -> bytes:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-25T14:30:21.123Z",
        "eventTimeZoneOffset": "+08:00",
        "epcList": [f"https://id.gs1.org/01/06901234567892/21/SERIAL{n:06d}" for n in range(5)],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        "example:note": 'a \\"quoted\\" [note] {with} brackets',
    }
    return json.dumps(
        {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-25T14:30:21Z",
            "epcisBody": {"eventList": [event] * events},
        }
    ).encode()


def _median(work: Callable[[], object], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _row(name: str, body: bytes, repeat: int) -> None:
    def loop(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            for _ in range(repeat):
                fn()

        return run

    plain = _median(loop(lambda: json.loads(body)))
    scan = _median(loop(lambda: nesting_depth(body)))
    strict = _median(loop(lambda: loads_strict(body, max_depth=64)))
    mb = len(body) * repeat / 1e6
    print(
        f"{name:<22} {len(body):>11,} B  plain json.loads {mb / plain:8.1f} MB/s  "
        f"nesting scan {mb / scan:8.1f} MB/s  strict decode {mb / strict:8.1f} MB/s "
        f"({strict / plain:.2f}x plain)"
    )


def main() -> None:
    small = json.dumps({"name": "浙江茶业有限公司", "kind": "dealer", "uscc": None}).encode()
    _row("API body", small, 20_000)
    _row("EPCIS capture 100k", _capture_document(100_000), 1)


if __name__ == "__main__":
    main()
