"""Synthetic audit logs for the compliance tests: SM2 keys, entries, trees, checkpoints, witnesses.

No database and no server: a `SyntheticLog` is what the service would hold for
one tenant, and `SyntheticLog.bundle()` writes the bundle the export would.
`rezip` and `redigest` rewrite a bundle the way an attacker without the
signing key can.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chain.anchor import anchor_id_for
from compliance.bundle import BundleEntry, CheckpointRecord, write_bundle
from compliance.checkpoint import Checkpoint, sign_checkpoint
from compliance.entry import entry_body, entry_leaf_hash
from compliance.verify import BundleVerdict, verify_bundle
from compliance.witness import RegisteredWitness, WitnessKey, aggregate, cosign
from crypto import sm2
from crypto.merkle import MerkleTree
from crypto.sm3 import sm3

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KINDS = ("code.issued", "event.captured", "event.captured", "invoice.issued", "alert.raised")


@dataclass
class SyntheticLog:
    """One tenant's log as the service holds it: entries, tree, signed checkpoints, witnesses."""

    tenant_id: str
    key: sm2.PrivateKey
    bodies: list[bytes] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=MerkleTree)
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    witnesses: list[RegisteredWitness] = field(default_factory=list)

    @property
    def log_id(self) -> str:
        return f"tracechain/audit/{self.tenant_id}"

    def append(self, count: int) -> None:
        for _ in range(count):
            seq = len(self.bodies)
            kind = KINDS[seq % len(KINDS)]
            at = START + timedelta(hours=7 * seq)
            body = entry_body(
                log_id=self.log_id,
                tenant_id=self.tenant_id,
                seq=seq,
                kind=kind,
                at=at,
                actor="key_42" if seq % 3 else "system",
                org=f"org-{seq % 4}" if seq % 2 else None,
                items=[f"item-{seq}", f"item-{seq + 1}"] if seq % 5 == 0 else [],
                data={"n": seq, "note": "caf\u00e9 \u4e2d\u6587", "ok": seq % 2 == 0},
            )
            self.bodies.append(body)
            self.kinds.append(kind)
            self.times.append(at)
            self.tree.append_leaf_hash(entry_leaf_hash(body))

    def checkpoint(
        self, size: int | None = None, *, key: sm2.PrivateKey | None = None
    ) -> CheckpointRecord:
        """Sign a checkpoint of the log's first `size` entries (all), chained to the last one."""
        previous = self.checkpoints[-1].checkpoint if self.checkpoints else None
        size = self.tree.size if size is None else size
        cp = Checkpoint(
            log_id=self.log_id,
            tenant_id=self.tenant_id,
            size=size,
            root=self.tree.root(size),
            issued_at=START + timedelta(days=size),
            previous_size=previous.size if previous else None,
            previous_root=previous.root if previous else None,
        )
        record = CheckpointRecord(cp, sign_checkpoint(key or self.key, cp))
        self.checkpoints.append(record)
        return record

    def set_anchor(self, position: int, anchor: dict[str, Any] | None) -> None:
        self.checkpoints[position] = replace(self.checkpoints[position], anchor=anchor)

    def fake_anchor(self, position: int) -> dict[str, Any]:
        """A well-formed reference (offline tests only: nothing is on any chain)."""
        size = self.checkpoints[position].checkpoint.size
        return {
            "chain_id": 31337,
            "contract": "0x" + "5f" * 20,
            "tx": "0x" + sm3(b"tx%d" % size).hex(),
            "block": 100 + position,
            "block_hash": "0x" + sm3(b"block%d" % size).hex(),
            "anchor_id": "0x" + anchor_id_for("audit_checkpoint", self.tenant_id, str(size)).hex(),
            "network": "anvil (test)",
        }

    def cosign(self, position: int, signers: Sequence[tuple[str, WitnessKey]]) -> None:
        record = self.checkpoints[position]
        body = record.checkpoint.body()
        self.checkpoints[position] = replace(
            record,
            cosigners=[witness_id for witness_id, _ in signers],
            aggregate=aggregate([cosign(key, body) for _, key in signers]),
        )

    def entries(self, selection: Iterable[int] | None = None) -> list[BundleEntry]:
        seqs = range(len(self.bodies)) if selection is None else selection
        return [
            BundleEntry(
                seq=seq,
                body=self.bodies[seq],
                leaf_hash=self.tree.leaf_hash_at(seq),
                kind=self.kinds[seq],
                at=self.times[seq],
            )
            for seq in seqs
            if seq < self.checkpoints[-1].checkpoint.size
        ]

    def bundle(
        self,
        selection: Iterable[int] | None = None,
        *,
        entries: Sequence[BundleEntry] | None = None,
        filters: dict[str, Any] | None = None,
    ) -> bytes:
        out = io.BytesIO()
        write_bundle(
            out,
            tenant_id=self.tenant_id,
            log_id=self.log_id,
            signing_key=self.key,
            entries=entries if entries is not None else self.entries(selection),
            tree=self.tree,
            checkpoints=self.checkpoints,
            witnesses=self.witnesses,
            filters=filters if filters is not None else {},
            created_at=datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
        )
        return out.getvalue()


def make_log(
    tenant_id: str = "acme",
    *,
    key: sm2.PrivateKey | None = None,
    sizes: Sequence[int] = (60, 150, 237),
) -> SyntheticLog:
    """A log checkpointed at each of `sizes`, the latest of which is the whole log."""
    log = SyntheticLog(tenant_id=tenant_id, key=key or sm2.PrivateKey.generate())
    for size in sizes:
        log.append(size - log.tree.size)
        log.checkpoint()
    return log


@dataclass(frozen=True)
class Witnesses:
    keys: dict[str, WitnessKey]
    registered: list[RegisteredWitness]


# --- rewriting zips as an attacker would -----------------------------------------------------


def members(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(
    bundle: bytes,
    changes: dict[str, bytes | None] | None = None,
    *,
    manifest: Callable[[dict[str, bytes]], bytes] | None = None,
) -> bytes:
    """The bundle with members replaced (None removes; new names are added at the end).

    `manifest`, when given, computes a new manifest.json from the new members:
    what an attacker who cannot sign would do to hide a change from the digests.
    """
    files = members(bundle)
    for name, data in (changes or {}).items():
        if data is None:
            files.pop(name, None)
        else:
            files[name] = data
    if manifest is not None:
        files["manifest.json"] = manifest(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def redigest(files: dict[str, bytes], **overrides: Any) -> bytes:
    """manifest.json with every listed file's digest and size recomputed (not re-signed)."""
    import json

    import rfc8785

    manifest = json.loads(files["manifest.json"])
    manifest["files"] = [
        {"name": name, "size": len(files[name]), "sm3": sm3(files[name]).hex()}
        for name in sorted(files)
        if name not in ("manifest.json", "manifest.sig")
    ]
    manifest.update(overrides)
    return rfc8785.dumps(manifest)


# --- verdicts --------------------------------------------------------------------------------


def verify_bytes(bundle: bytes, **options: Any) -> BundleVerdict:
    return verify_bundle(io.BytesIO(bundle), **options)


def mentions(verdict: BundleVerdict, name: str) -> bool:
    """Whether some failure names `name` in its place or its reason."""
    return any(name in f.where or name in f.reason for f in verdict.failures)


def assert_fails_naming(verdict: BundleVerdict, *names: str) -> None:
    """The verdict fails, names every one of `names`, and no check crashed on the input."""
    described = verdict.describe()
    assert not verdict.ok, described
    assert "could not be verified" not in described, described
    for name in names:
        assert mentions(verdict, name), f"{name!r} not named in:\n{described}"
