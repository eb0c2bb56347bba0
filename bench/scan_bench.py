"""Resolver throughput: JSON scans per second and latency at 64 connections, beside a bare
constant endpoint served by the same server in the same run.

Run: .venv/bin/python bench/scan_bench.py [--seconds 5] [--rounds 3] [--connections 64]
     [--codes 1000]

The server is `trace_api.app.create_app` on SQLite plus bare routes: ``/bench/constant``,
an ``async def`` returning a fixed small JSON body, the same FastAPI and uvicorn path
without any work, and ``/bench/constant-sync``, the same as a plain ``def``, which pays
the threadpool hop too. FastAPI tries routes in order, at a cost per route tried, so these
two sit in the resolver's own router just before its scan route: routing costs them what
it costs the resolver. ``/bench/constant-last``, appended after every route of the app as
this bench used to do, shows what that position costs (it grows with every router mounted
after the resolver's). One uvicorn process; the load comes from ``wrk`` (Debian) when it is
installed, else from a small asyncio client (reported as such). Each resolver request scans a
code picked at random from ``--codes`` issued ones, so each is a real scan: lookup, integrity
check, decryption, proof, the atomic count update and the scan row, committed.

The endpoints are measured in turn, ``--rounds`` times over, and each figure is the median
of its rounds, so load that comes and goes on the machine falls on all of them alike. The
server's CPU time per request (from /proc) is printed too: it is the work each request
costs, and moves less than requests per second when other processes share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from trace_api.components import Components

MASTER_KEY = "000102030405060708090a0b0c0d0e0f"
SERVER = textwrap.dedent(
    """
    from fastapi import APIRouter
    from fastapi.responses import JSONResponse
    from trace_api.app import create_app
    from trace_api.resolver.routes import router as resolver_router

    BODY = {"ok": True, "service": "tracechain"}
    bare = APIRouter()

    @bare.get("/bench/constant")
    async def constant() -> JSONResponse:
        return JSONResponse(BODY)

    @bare.get("/bench/constant-sync")
    def constant_sync() -> JSONResponse:
        return JSONResponse(BODY)

    # Into the resolver's router, before its scan route, before the app mounts it.
    at = [getattr(route, "path", None) for route in resolver_router.routes].index("/01/{rest:path}")
    resolver_router.routes[at:at] = bare.routes
    app = create_app()

    @app.get("/bench/constant-last")
    async def constant_last() -> JSONResponse:
        return JSONResponse(BODY)
    """
)
ENDPOINTS = (
    ("bare constant (async)", "/bench/constant"),
    ("bare constant (def)", "/bench/constant-sync"),
    ("bare, after all routes", "/bench/constant-last"),
    ("resolver JSON scan", None),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(data_dir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "TRACE_ENV": "test",
        "TRACE_DATA_DIR": str(data_dir),
        "TRACE_MASTER_KEY": MASTER_KEY,
        "TRACE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TRACE_RESOLVER_RATE": "1000000000",
        "TRACE_RESOLVER_BURST": "1000000000",
        "TRACE_LOG_LEVEL": "warning",
        "TRACE_CODES_ISSUE_WORKERS": "0",
    }


def prepare(data_dir: Path, codes: int) -> list[str]:
    """A tenant, a product, a batch of ``codes`` codes, anchored; their resolver paths."""
    from trace_api.app import create_app
    from trace_api.codes import service as codes_service
    from trace_api.codes.gs1 import item_uri
    from trace_api.db import transaction
    from trace_api.models import Code
    from trace_api.settings import get_settings
    from trace_api.tenancy import service as tenancy_service

    app = create_app(get_settings())
    with transaction(Components.of(app).sessions) as session:
        tenant, _ = tenancy_service.create_tenant(
            session=session, master_key=Components.of(app).master_key, name="bench"
        )
        product = codes_service.create_product(
            session=session, tenant_id=tenant.id, gtin="09506000134352", name="龙井绿茶 250 g",
            links={"gs1:pip": "https://brand.example/p"},
        )  # fmt: skip
        batch = codes_service.create_batch(
            session=session, tenant_id=tenant.id, product_id=product.id, lot="L2026-11/A",
            production_date=__import__("datetime").date(2026, 11, 1), factory="杭州二厂",
        )  # fmt: skip
        issuance = codes_service.start_issuance(
            session=session, tenant_id=tenant.id, batch_id=batch.id, count=codes,
            with_pins=False, allocation=None, max_count=codes, actor="bench",
        )  # fmt: skip
        Components.of(app).code_issuer.issue_now(session=session, issuance=issuance)
        serials = list(session.scalars(__import__("sqlalchemy").select(Code.serial)))
    base = ""
    return [item_uri(base, product.gtin, batch.lot, s) for s in serials]


WRK_SCRIPT = textwrap.dedent(
    """
    local paths = {}
    for line in io.lines("%s") do paths[#paths + 1] = line end
    wrk.headers["Accept"] = "application/json"
    math.randomseed(os.time())
    request = function()
      return wrk.format("GET", paths[math.random(#paths)])
    end
    """
)


def run_wrk(url: str, seconds: int, connections: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(\w+)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": rps,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


async def _python_load(
    host: str, port: int, paths: list[str], seconds: int, connections: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def one_connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.monotonic() < deadline:
            path = random.choice(paths)
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
            start = time.perf_counter()
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - start) * 1000)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(len(latencies) * 0.99)],
        "errors": float(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--codes", type=int, default=1000)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        env = environment(data_dir, port)
        os.environ.update(env)
        paths = prepare(data_dir, args.codes)
        (data_dir / "paths.txt").write_text("\n".join(paths) + "\n")
        (data_dir / "server.py").write_text(SERVER)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "server:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=data_dir, env={**env, "PYTHONPATH": str(data_dir)},
        )  # fmt: skip
        try:
            _wait_up(port)
            base = f"http://127.0.0.1:{port}"
            _anchor_wait(base, paths[0])
            use_wrk = shutil.which("wrk") is not None
            script = data_dir / "paths.lua"
            script.write_text(WRK_SCRIPT % (data_dir / "paths.txt"))

            def measure(target: str | None, seconds: int) -> dict[str, float]:
                cpu = _cpu_seconds(server.pid)
                if use_wrk:
                    url = base + (target or "/")
                    result = run_wrk(url, seconds, args.connections, None if target else script)
                else:
                    load_paths = [target] if target else paths
                    result = asyncio.run(
                        _python_load("127.0.0.1", port, load_paths, seconds, args.connections)
                    )
                served = result["rps"] * seconds
                result["cpu_us"] = (_cpu_seconds(server.pid) - cpu) / served * 1e6
                return result

            for _, target in ENDPOINTS:  # warm up; the resolver's first scans happen here
                measure(target, 2)
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _ in ENDPOINTS}
            for _ in range(args.rounds):
                for name, target in ENDPOINTS:
                    rounds[name].append(measure(target, args.seconds))
            check = json.loads(
                subprocess.run(
                    ["curl", "-s", "-H", "Accept: application/json", base + paths[0]],
                    capture_output=True, text=True, check=False,
                ).stdout or "{}"
            )  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    results = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for name, runs in rounds.items()
    }
    generator = "wrk -t1" if use_wrk else "asyncio client"
    cores = os.cpu_count()
    print(f"{args.connections} connections, {args.rounds} rounds of {args.seconds} s per endpoint "
          f"(medians), load from {generator}, one uvicorn process on SQLite, {cores} cores "
          "shared with the load generator")  # fmt: skip
    print(f"{'endpoint':<26}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'server CPU µs/req':>19}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:<26}{r['rps']:>10,.0f}{r['p50']:>9.1f}{r['p99']:>9.1f}{r['errors']:>9.0f}"
              f"{r['cpu_us']:>19,.0f}")  # fmt: skip
    scan = results["resolver JSON scan"]
    bare, sync, last = (results[name] for name, _ in ENDPOINTS[:3])
    print(f"resolver / bare async: {scan['rps'] / bare['rps']:.0%} (target: 50% or more); "
          f"/ bare def: {scan['rps'] / sync['rps']:.0%}; "
          f"/ bare after all routes: {scan['rps'] / last['rps']:.0%}")  # fmt: skip
    print(f"as server CPU per request: bare async / resolver "
          f"{bare['cpu_us'] / scan['cpu_us']:.0%}, bare after all routes / resolver "
          f"{last['cpu_us'] / scan['cpu_us']:.0%}")  # fmt: skip
    print(f"after the run, one code: verdict {check.get('verdict')}, "
          f"{(check.get('scans') or {}).get('count')} scans, anchor "
          f"{((check.get('proof') or {}).get('anchor') or {}).get('status')}")  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _anchor_wait(base: str, path: str) -> None:
    """Wait until the server's worker anchored the batch (proofs then say confirmed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["curl", "-s", "-H", "Accept: application/linkset+json", f"{base}{path}"],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        proof_url = json.loads(out)["linkset"][0]["https://gs1.org/voc/traceability"][0]["href"]
        proof = subprocess.run(["curl", "-s", proof_url], capture_output=True, text=True).stdout
        if json.loads(proof)["anchor"]["status"] == "confirmed":
            return
        time.sleep(0.5)


if __name__ == "__main__":
    main()
