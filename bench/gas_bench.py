"""Gas per anchored item: one Merkle root per batch versus one transaction per item.

Starts its own anvil (node_modules/@foundry-rs/anvil-<platform>/bin/anvil) on a free loopback
port, deploys TraceAnchor, and measures on that chain:

- one ``anchor()`` of a root covering 1, 1,000 and 1,000,000 items: the transaction costs the
  same whatever the batch size (only the ``size`` argument changes), so gas per item is
  ``gasUsed / size``;
- the same-run baseline: N separate ``anchor()`` transactions, one per item;
- for reference, ``anchorMany()`` with N ids in one transaction.

Prints a table; asserts nothing. Computing the Merkle roots is not part of this figure (random
32-byte roots stand in for them). Usage: ``python bench/gas_bench.py [--quick] [--items N]``.
"""

from __future__ import annotations

import argparse
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from web3 import Web3

from chain import AnchorContract, AnchorItem, connect, deploy_or_attach
from contracts import load_artifact

REPO_ROOT = Path(__file__).resolve().parents[1]
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
BATCH_SIZES = (1, 1_000, 1_000_000)
KIND_BATCH = 1
_PACKAGES = {
    ("Linux", "x86_64"): "anvil-linux-amd64",
    ("Linux", "aarch64"): "anvil-linux-arm64",
    ("Darwin", "arm64"): "anvil-darwin-arm64",
    ("Darwin", "x86_64"): "anvil-darwin-amd64",
}


def _anvil_binary() -> Path:
    package = _PACKAGES.get((platform.system(), platform.machine()), "anvil-linux-amd64")
    return REPO_ROOT / "node_modules" / "@foundry-rs" / package / "bin" / "anvil"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_anvil() -> Iterator[str]:
    """Start anvil on a free port, yield its URL, stop it afterwards."""
    binary = _anvil_binary()
    if not binary.is_file():
        sys.exit(f"anvil not found at {binary}: run `npm ci`")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--silent"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                sys.exit(f"anvil exited with {process.returncode}")
            try:
                request = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
                headers = {"Content-Type": "application/json"}
                requests.post(url, data=request, headers=headers, timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    sys.exit("anvil did not start within 15 s")
                time.sleep(0.02)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _deployment_gas(w3: Web3, address: str) -> int:
    """Gas of the transaction that created ``address`` (in block 1 of this fresh anvil)."""
    for tx_hash in w3.eth.get_block(1)["transactions"]:
        receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        if receipt["contractAddress"] == address:
            return int(receipt["gasUsed"])
    return 0


def _anchor_gas(contract: AnchorContract, size: int) -> int:
    tx_hash = contract.anchor(secrets.token_bytes(32), secrets.token_bytes(32), size, KIND_BATCH)
    receipt = contract.wait_for_receipt(tx_hash)
    assert receipt.succeeded
    return receipt.gas_used


def _anchor_many_gas(contract: AnchorContract, count: int) -> int:
    items = [
        AnchorItem(secrets.token_bytes(32), secrets.token_bytes(32), 1, KIND_BATCH)
        for _ in range(count)
    ]
    receipt = contract.wait_for_receipt(contract.anchor_many(items))
    assert receipt.succeeded
    return receipt.gas_used


def main() -> None:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 individual transactions")
    parser.add_argument("--items", type=int, default=None, help="individual transactions (100)")
    args = parser.parse_args()
    individual = args.items or (20 if args.quick else 100)

    started = time.perf_counter()
    with running_anvil() as url:
        client = connect(url, private_key=ANVIL_DEV_KEY)
        version = str(client.w3.client_version)
        contract = deploy_or_attach(client, None)
        deploy_gas = _deployment_gas(client.w3, contract.address)

        per_tx = [_anchor_gas(contract, 1) for _ in range(individual)]
        batch_gas = {size: _anchor_gas(contract, size) for size in BATCH_SIZES}
        many_gas = _anchor_many_gas(contract, individual)

    baseline = statistics.mean(per_tx)
    artifact = load_artifact()
    print(f"TraceAnchor gas on {version}, chain {client.chain_id}")
    print(
        f"solc {artifact.compiler.split('+')[0]}, evmVersion {artifact.settings['evmVersion']}, "
        f"optimizer runs {artifact.settings['optimizer']['runs']}; "
        f"deployment {deploy_gas:,} gas"
    )
    print(
        f"baseline: {individual} separate anchor() transactions, one per item: "
        f"mean {baseline:,.0f} gas/tx (min {min(per_tx):,}, max {max(per_tx):,})"
    )
    print()
    header = ("items in batch", "anchor tx gas", "gas per item", "1 tx per item", "ratio")
    rows = [
        (
            f"{size:,}",
            f"{gas:,}",
            f"{gas / size:,.3f}",
            f"{baseline * size:,.0f}",
            f"{baseline * size / gas:,.0f}x",
        )
        for size, gas in batch_gas.items()
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join("{:>" + str(w) + "}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    print()
    print(
        f"reference: anchorMany() of {individual} separate roots in one tx: "
        f"{many_gas:,} gas, {many_gas / individual:,.0f} gas per root "
        f"({baseline / (many_gas / individual):.2f}x cheaper than one tx each)"
    )
    print(
        "'1 tx per item' = items x baseline gas; ratio = that / anchor tx gas; "
        f"wall time {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
