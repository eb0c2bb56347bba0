"""Verifying an audit bundle offline, and its anchors on chain when given an RPC URL.

`verify_bundle` never raises on a bad bundle: whatever is wrong (a damaged
zip, a changed byte, garbage JSON, a missing file, a rewritten history, a
forged cosignature) comes back as a `Failure` in the `BundleVerdict`, naming
the file, the checkpoint ("checkpoint size 1000"), the witness or the entry
("entry seq 42") concerned. The checks, in order:

1. every file listed in ``manifest.json`` is present with its SM3 digest and
   length, and nothing else is in the zip;
2. ``manifest.sig`` verifies over ``manifest.json`` under the bundle's SM2
   key (and that key is `expected_public_key`, when given);
3. every checkpoint: SM2 signature, tenant and log, increasing sizes, its
   signed link to the previous one and the RFC 9162 consistency proof from it;
4. every witness's proof of possession, and each aggregate cosignature;
5. every entry: it hashes to its logged leaf, parses, and has the right seq,
   tenant and log; seqs increase;
6. the logged leaves and ``multiproof.txt`` reproduce the latest checkpoint's root;
7. with `rpc_url`: each anchored checkpoint is on chain under the anchor id
   derived from tenant and size, with its root and size, enough
   confirmations, and the signing key's fingerprint as ``meta`` (and in
   `expected_contract`, when given).

Checks 1 to 7 show a bundle is internally consistent (`BundleVerdict.ok`).
That alone proves nothing about who made it: anyone with an SM2 key can
write a consistent bundle. It is *verified* (`BundleVerdict.verified`) only
when a trust root also held (`BundleVerdict.trust_roots`): the caller
pinned the signing key (`expected_public_key`) or its SM3 fingerprint
(`expected_key_fingerprint`), or the anchors bound the key in the contract
the caller named (`rpc_url` with `expected_contract`). The chain without a
pinned contract is no trust root: the bundle names the contract, and
anyone can deploy one and anchor a forged history in it.

Entries are streamed: memory stays flat for any number of them.
"""

from __future__ import annotations

import enum
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from compliance import _layout as layout
from compliance._bundle_files import ZIP_ERRORS, BundleFiles, Listed
from compliance._findings import Failure, Findings
from compliance._verify_chain import check_anchors
from compliance._verify_checkpoints import CheckpointChecker, ListedCheckpoint, check_witnesses
from compliance._verify_entries import check_entries
from compliance._wire import hex32, hex_bytes, loads_strict, parse_utc
from crypto import sm2
from crypto.errors import CryptoError
from crypto.sm3 import sm3

__all__ = ["BundleVerdict", "Failure", "Outcome", "TrustRoot", "verify_bundle"]

_CONTRACT = re.compile(r"0x[0-9a-fA-F]{40}")


class TrustRoot(enum.Enum):
    """What tied the bundle's signing key to the service, beyond the bundle's own word."""

    PINNED_KEY = "pinned key"
    """The caller gave the service's public key, and the bundle is signed by it."""
    PINNED_FINGERPRINT = "pinned key fingerprint"
    """The caller gave the SM3 fingerprint of the service's key, and it is the bundle's key's."""
    CHAIN = "chain"
    """Every anchored checkpoint is on chain, in the contract the caller named, with the
    fingerprint of the bundle's key as its meta."""


Outcome = Literal["verified", "untrusted", "not verified"]
"""`verified`: consistent and bound to a trust root; `untrusted`: consistent, no trust
root checked; `not verified`: some check failed."""

_MANIFEST_KEYS = frozenset(
    (
        "v",
        "type",
        "hash",
        "tenant",
        "log",
        "created_at",
        "filters",
        "entries",
        "checkpoint",
        "multiproof",
        "files",
    )
)
_MANIFEST_CAP = 1 << 20
_KEY_CAP = 4096
_SIGNATURE_CAP = 1024
_WITNESSES_CAP = 16 << 20
_CHECKPOINT_LINE_CAP = 64 << 20


@dataclass
class BundleVerdict:
    """The outcome of `verify_bundle`: `verified` only when nothing failed and a trust root held.

    `ok` says only that the bundle is internally consistent; a bundle anyone made with
    any SM2 key is. Decide on `verified` (or `outcome`).
    """

    source: str = "bundle"
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tenant_id: str | None = None
    log_id: str | None = None
    signing_key: bytes | None = None
    key_pinned: bool = False
    key_fingerprint_pinned: bool = False
    key_on_chain: bool = False
    contract_pinned: bool = False
    entries: int = 0
    checkpoints: int = 0
    witnesses: int = 0
    cosignatures_checked: int = 0
    anchors_checked: int = 0
    latest_size: int | None = None
    latest_root: bytes | None = None

    @property
    def ok(self) -> bool:
        """True when every check held: the bundle is consistent (not that it is trusted)."""
        return not self.failures

    @property
    def trust_roots(self) -> tuple[TrustRoot, ...]:
        """The trust roots that held (empty: the key is only the one the bundle names)."""
        roots = []
        if self.key_pinned:
            roots.append(TrustRoot.PINNED_KEY)
        if self.key_fingerprint_pinned:
            roots.append(TrustRoot.PINNED_FINGERPRINT)
        if self.key_on_chain and self.contract_pinned:
            roots.append(TrustRoot.CHAIN)
        return tuple(roots)

    @property
    def verified(self) -> bool:
        """True when every check held and the signing key was bound to a trust root."""
        return self.ok and bool(self.trust_roots)

    @property
    def outcome(self) -> Outcome:
        """``verified``, ``untrusted`` (consistent, no trust root) or ``not verified``."""
        if not self.ok:
            return "not verified"
        return "verified" if self.trust_roots else "untrusted"

    @property
    def first_failure(self) -> Failure | None:
        """The first thing that does not hold, in check order."""
        return self.failures[0] if self.failures else None

    def describe(self) -> str:
        """A verdict for people: what was verified, or what failed first, then the rest."""
        what = self.source
        if self.tenant_id:
            what += f": audit bundle of tenant {self.tenant_id!r}, log {self.log_id!r}"
        roots = ", ".join(root.value for root in self.trust_roots)
        if self.outcome == "verified":
            lines = [f"VERIFIED: {what} (trust root: {roots})"]
        elif self.outcome == "untrusted":
            lines = [
                f"UNTRUSTED: {what} is internally consistent, but NO TRUST ROOT was checked: "
                "anyone with an SM2 key can make such a bundle"
            ]
        else:
            lines = [f"NOT VERIFIED: {what}", f"First failure: {self.failures[0]}"]
        if self.tenant_id:
            lines.extend(self._figures())
        if len(self.failures) > 1:
            lines.append(f"All {len(self.failures)} failures:")
            lines.extend(f"  - {failure}" for failure in self.failures)
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def _figures(self) -> list[str]:
        latest = (
            f"latest size {self.latest_size:,}, root {self.latest_root.hex()}"
            if self.latest_size is not None and self.latest_root is not None
            else "no usable checkpoint"
        )
        lines = [
            f"  entries:      {self.entries:,}",
            f"  checkpoints:  {self.checkpoints} ({latest})",
            f"  witnesses:    {self.witnesses} registered, "
            f"{self.cosignatures_checked} aggregate cosignature(s) checked",
            f"  anchors:      {self.anchors_checked} checked on chain",
        ]
        if self.signing_key is not None:
            binding = (
                "pinned by the caller"
                if self.key_pinned
                else "fingerprint pinned by the caller"
                if self.key_fingerprint_pinned
                else "bound by the on-chain anchors in the pinned contract"
                if self.key_on_chain and self.contract_pinned
                else "named by anchors in a contract the bundle names: not a trust root"
                if self.key_on_chain
                else "as named by the bundle itself: not a trust root"
            )
            lines.append(f"  signing key:  {self.signing_key.hex()} ({binding})")
        roots = ", ".join(root.value for root in self.trust_roots)
        lines.append(f"  trust root:   {roots or 'NONE'}")
        return lines


@dataclass(frozen=True)
class _Manifest:
    tenant_id: str
    log_id: str
    entries: int
    checkpoint_size: int
    checkpoint_root: bytes
    files: dict[str, Listed]


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_manifest(data: bytes) -> _Manifest:
    value = loads_strict(data)
    if not isinstance(value, dict) or value.keys() != _MANIFEST_KEYS:
        raise ValueError(f"it must be an object with keys {sorted(_MANIFEST_KEYS)}")
    if (value["v"], value["type"], value["hash"]) != (
        layout.BUNDLE_VERSION,
        layout.BUNDLE_TYPE,
        layout.HASH_NAME,
    ) or isinstance(value["v"], bool):
        raise ValueError("it is not a version 1 tracechain/audit-bundle manifest with SM3")
    for name in ("tenant", "log"):
        if not isinstance(value[name], str) or not value[name]:
            raise ValueError(f"its {name} must be a non-empty string")
    parse_utc(value["created_at"])
    if not isinstance(value["filters"], dict) or not _is_count(value["entries"]):
        raise ValueError("its filters or entry count are malformed")
    checkpoint = value["checkpoint"]
    if not isinstance(checkpoint, dict) or checkpoint.keys() != {"size", "root"}:
        raise ValueError('its checkpoint must be {"size", "root"}')
    if not _is_count(checkpoint["size"]):
        raise ValueError("its checkpoint size is malformed")
    multiproof = value["multiproof"]
    if not isinstance(multiproof, dict) or multiproof.get("order") != layout.MULTIPROOF_ORDER:
        raise ValueError(f"its multiproof order must be {layout.MULTIPROOF_ORDER!r}")
    files: dict[str, Listed] = {}
    if not isinstance(value["files"], list):
        raise ValueError("its files must be a list")
    for item in value["files"]:
        if not isinstance(item, dict) or item.keys() != {"name", "size", "sm3"}:
            raise ValueError('each listed file must be {"name", "size", "sm3"}')
        name = item["name"]
        if not isinstance(name, str) or name in files or not _is_count(item["size"]):
            raise ValueError(f"listed file {name!r} is malformed or listed twice")
        if name in (layout.MANIFEST, layout.MANIFEST_SIGNATURE):
            raise ValueError(f"it lists {name}, which it cannot cover")
        files[name] = Listed(item["size"], hex32(item["sm3"], f"the digest of {name}"))
    return _Manifest(
        tenant_id=value["tenant"],
        log_id=value["log"],
        entries=value["entries"],
        checkpoint_size=checkpoint["size"],
        checkpoint_root=hex32(checkpoint["root"], "the checkpoint root"),
        files=files,
    )


def _parse_signing_key(data: bytes) -> sm2.PublicKey:
    value = loads_strict(data)
    if not isinstance(value, dict) or value.keys() != {
        "alg",
        "public_key",
        "user_id",
        "fingerprint",
    }:
        raise ValueError("it must be {alg, public_key, user_id, fingerprint}")
    if value["alg"] != layout.SIGNING_KEY_ALGORITHM:
        raise ValueError(f"unsupported algorithm {value['alg']!r}")
    if value["user_id"] != sm2.DEFAULT_USER_ID.decode("ascii"):
        raise ValueError(f"unsupported SM2 user id {value['user_id']!r}")
    raw = hex_bytes(value["public_key"], "the public key", 65)
    try:
        key = sm2.PublicKey.from_bytes(raw)
    except CryptoError as exc:
        raise ValueError(str(exc)) from exc
    if hex32(value["fingerprint"], "the fingerprint") != sm3(raw):
        raise ValueError("its fingerprint is not the SM3 of its public key")
    return key


class _Run:
    """One verification: the opened archive, the findings, and what each step learnt."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        findings: Findings,
        verdict: BundleVerdict,
        expected_public_key: bytes | None,
        expected_key_fingerprint: bytes | None,
    ) -> None:
        self.findings = findings
        self.verdict = verdict
        self.files = BundleFiles(archive, findings.fail_file)
        self.expected = expected_public_key
        self.expected_fingerprint = expected_key_fingerprint
        counts = Counter(info.filename for info in archive.infolist())
        for name, count in sorted(counts.items()):
            if count > 1:
                findings.fail_file(name, f"appears {count} times in the zip")

    def manifest(self) -> tuple[bytes | None, _Manifest | None]:
        data = self.files.read(layout.MANIFEST, cap=_MANIFEST_CAP)
        if data is None:
            return None, None
        try:
            manifest = _parse_manifest(data)
        except ValueError as exc:
            self.findings.fail(layout.MANIFEST, f"is not a bundle manifest: {exc}")
            return data, None
        self.files.listing = manifest.files
        self.verdict.tenant_id, self.verdict.log_id = manifest.tenant_id, manifest.log_id
        others = self.files.present - manifest.files.keys()
        for name in sorted(others - {layout.MANIFEST, layout.MANIFEST_SIGNATURE}):
            self.findings.fail_file(name, "is in the zip but not listed in manifest.json")
        for name in layout.LISTED_FILES:
            if name not in manifest.files:
                self.findings.fail(layout.MANIFEST, f"does not list {name}")
        return data, manifest

    def signing_key(self, manifest_bytes: bytes | None) -> sm2.PublicKey | None:
        """The key checkpoints and manifest must verify under (the expected one, if given)."""
        self.findings.step = 2
        fail = self.findings.fail
        data = self.files.read(layout.SIGNING_KEY, cap=_KEY_CAP)
        named: sm2.PublicKey | None = None
        if data is not None:
            try:
                named = _parse_signing_key(data)
            except ValueError as exc:
                fail(layout.SIGNING_KEY, f"is not an SM2 signing key record: {exc}")
        key = named
        if self.expected is not None:
            try:
                key = sm2.PublicKey.from_bytes(bytes(self.expected))
            except CryptoError as exc:
                fail("expected public key", f"is not an SM2 public key: {exc}")
                key = None
            if key is not None and named is not None and named != key:
                fail(
                    layout.SIGNING_KEY,
                    f"the bundle names signing key {named.hex()}, not the expected {key.hex()}",
                )
            self.verdict.key_pinned = key is not None and named == key
        if self.expected_fingerprint is not None:
            self._check_fingerprint(named)
        self.verdict.signing_key = key.to_bytes() if key is not None else None
        signature = self.files.read(layout.MANIFEST_SIGNATURE, cap=_SIGNATURE_CAP)
        if signature is not None and key is None:
            fail(layout.MANIFEST_SIGNATURE, "cannot be checked: there is no usable signing key")
        if signature is not None and key is not None and manifest_bytes is not None:
            try:
                key.verify(signature, manifest_bytes)
            except CryptoError as exc:
                if str(exc).startswith("malformed"):
                    fail(layout.MANIFEST_SIGNATURE, f"is not a DER SM2 signature ({exc})")
                else:
                    fail(
                        layout.MANIFEST,
                        "manifest.sig does not verify over manifest.json under the signing "
                        "key: the manifest was changed after signing, or signed by another key",
                    )
        return key

    def _check_fingerprint(self, named: sm2.PublicKey | None) -> None:
        expected = bytes(self.expected_fingerprint or b"")
        if len(expected) != 32:
            self.findings.fail("expected key fingerprint", "is not 32 bytes (an SM3 digest)")
            return
        if named is None:
            return  # signing_key.json failed already
        actual = sm3(named.to_bytes())
        if actual != expected:
            self.findings.fail(
                layout.SIGNING_KEY,
                f"the bundle's signing key has fingerprint {actual.hex()}, not the expected "
                f"{expected.hex()}",
            )
            return
        self.verdict.key_fingerprint_pinned = True


def _label(source: Any) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name or "bundle"
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "bundle"


def verify_bundle(
    path_or_file: str | os.PathLike[str] | BinaryIO,
    *,
    rpc_url: str | None = None,
    min_confirmations: int = 1,
    expected_public_key: bytes | None = None,
    expected_key_fingerprint: bytes | None = None,
    expected_contract: str | None = None,
    trusted_witnesses: Sequence[bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BundleVerdict:
    """Verify an audit bundle (a path or a seekable binary file); never raises on a bad bundle.

    Trust roots: `expected_public_key` pins the service's 65-byte SM2 key,
    `expected_key_fingerprint` its 32-byte SM3 fingerprint; `rpc_url` checks
    every anchored checkpoint on that chain, which binds the key through the
    anchors' ``meta``, and makes the chain a trust root when the anchors are in
    `expected_contract` (the service's ``TraceAnchor`` address). Without one of
    them the verdict is at best ``untrusted``. With `trusted_witnesses` (BLS
    public keys), the latest checkpoint must be cosigned by one of them.
    `progress(done, total)` is called every 10,000 entries.
    """
    findings = Findings()
    label = _label(path_or_file)
    verdict = BundleVerdict(source=label)
    try:
        archive = zipfile.ZipFile(path_or_file)
    except (*ZIP_ERRORS, TypeError) as exc:
        findings.fail(label, f"is not a readable zip archive ({type(exc).__name__}: {exc})")
    else:
        with archive:
            try:
                _verify(
                    _Run(archive, findings, verdict, expected_public_key, expected_key_fingerprint),
                    rpc_url,
                    min_confirmations,
                    expected_contract,
                    trusted_witnesses,
                    progress,
                )
            except Exception as exc:  # a verifier must answer, whatever the bundle holds
                findings.fail(label, f"could not be verified ({type(exc).__name__}: {exc})")
    verdict.failures = findings.failures()
    verdict.notes = findings.notes
    return verdict


def _verify(
    run: _Run,
    rpc_url: str | None,
    min_confirmations: int,
    expected_contract: str | None,
    trusted_witnesses: Sequence[bytes] | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    findings, verdict, files = run.findings, run.verdict, run.files
    manifest_bytes, manifest = run.manifest()
    key = run.signing_key(manifest_bytes)
    if manifest is None:
        findings.note("the manifest is unusable, so nothing more was checked")
        return
    findings.step = 3
    checker = CheckpointChecker(findings, key, manifest.tenant_id, manifest.log_id)
    listed = checker.check(files.lines(layout.CHECKPOINTS, max_line=_CHECKPOINT_LINE_CAP))
    latest = listed[-1].checkpoint if listed else None
    verdict.checkpoints = len(listed)
    if latest is not None:
        verdict.latest_size, verdict.latest_root = latest.size, latest.root
        if (latest.size, latest.root) != (manifest.checkpoint_size, manifest.checkpoint_root):
            findings.fail(
                layout.MANIFEST,
                f"names checkpoint size {manifest.checkpoint_size}, root "
                f"{manifest.checkpoint_root.hex()}; the latest in checkpoints.jsonl differs",
            )
    findings.step = 4
    report = check_witnesses(
        files.read(layout.WITNESSES, cap=_WITNESSES_CAP), listed, trusted_witnesses, findings
    )
    verdict.witnesses, verdict.cosignatures_checked = report.witnesses, report.cosignatures_checked
    entries = check_entries(
        files,
        findings,
        tenant_id=manifest.tenant_id,
        log_id=manifest.log_id,
        latest=latest,
        listed_count=manifest.entries,
        progress=progress,
    )
    verdict.entries = entries.entries
    files.finish()
    if rpc_url is not None:
        chain = check_anchors(rpc_url, listed, manifest.tenant_id, key, min_confirmations, findings)
        verdict.anchors_checked, verdict.key_on_chain = chain.anchors_checked, chain.key_bound
    else:
        anchored = sum(1 for item in listed if item.anchor is not None)
        if anchored:
            findings.note(f"{anchored} anchored checkpoint(s) not checked on chain (no RPC URL)")
    if expected_contract is not None:
        verdict.contract_pinned = _check_contract(listed, expected_contract, findings)
    _note_trust(verdict, listed, findings)


def _check_contract(listed: Sequence[ListedCheckpoint], expected: str, findings: Findings) -> bool:
    """Whether every anchored checkpoint names the contract the caller expects (step 7)."""
    findings.step = 7
    if not _CONTRACT.fullmatch(expected):
        findings.fail("expected contract", "is not a 0x-prefixed 20-byte address")
        return False
    anchored = [item for item in listed if item.anchor is not None]
    wrong = [
        item
        for item in anchored
        if item.anchor and item.anchor.contract.lower() != expected.lower()
    ]
    for item in wrong:
        assert item.anchor is not None
        findings.fail(
            item.where,
            f"is anchored in contract {item.anchor.contract}, not the expected {expected}",
        )
    return bool(anchored) and not wrong


def _note_trust(
    verdict: BundleVerdict, listed: Sequence[ListedCheckpoint], findings: Findings
) -> None:
    if verdict.trust_roots:
        return
    if verdict.key_on_chain:
        contracts = sorted({item.anchor.contract for item in listed if item.anchor is not None})
        findings.note(
            f"the anchors name the signing key, but in contract {', '.join(contracts)}, which "
            "the bundle itself names: anyone can deploy a contract and anchor there. Pin the "
            "service's contract (--contract) to make the chain a trust root"
        )
    else:
        findings.note(
            "no trust root was checked: the signing key is only the one the bundle names. Pin "
            "it (--key or --key-fingerprint) or check the anchors on chain in the service's "
            "contract (--rpc with --contract) to know who signed"
        )
