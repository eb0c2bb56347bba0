"""Bundle verification, steps 3 and 4: the signed checkpoints, then the witnesses' cosignatures."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from chain.anchor import anchor_id_for
from compliance import _layout as layout
from compliance._findings import Findings
from compliance._wire import hex32, hex_bytes, loads_strict
from compliance.checkpoint import ANCHOR_NAMESPACE, Checkpoint, verify_checkpoint
from compliance.errors import InvalidCheckpointSignature, MalformedCheckpoint
from compliance.witness import (
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    RegisteredWitness,
    verify_cosignatures,
    verify_witness_registration,
)
from crypto import sm2
from crypto.merkle import verify_consistency

_LINE_KEYS = frozenset(("body", "signature", "anchor", "consistency", "cosignatures"))
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class AnchorReference:
    """Where the bundle says a checkpoint was anchored (the id is re-derived, never trusted)."""

    chain_id: int
    contract: str
    tx: str
    block: int
    block_hash: str
    network: str


@dataclass(frozen=True)
class ListedCheckpoint:
    """A checkpoint line that parsed, with what the later steps need of it."""

    checkpoint: Checkpoint
    body: bytes
    anchor: AnchorReference | None
    cosigners: tuple[str, ...] | None
    aggregate: bytes | None

    @property
    def where(self) -> str:
        return f"checkpoint size {self.checkpoint.size}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _anchor(value: Any, tenant_id: str, size: int) -> AnchorReference | None:
    """Parse an anchor reference; ValueError says what is wrong."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.keys() != set(layout.ANCHOR_FIELDS):
        raise ValueError(f"its anchor reference must hold exactly {list(layout.ANCHOR_FIELDS)}")
    if not _is_int(value["chain_id"]) or not _is_int(value["block"]) or value["block"] < 0:
        raise ValueError("its anchor's chain_id and block must be integers")
    if not isinstance(value["contract"], str) or not _ADDRESS.fullmatch(value["contract"]):
        raise ValueError("its anchor's contract is not an address")
    for name in ("tx", "block_hash", "anchor_id"):
        if not isinstance(value[name], str) or not _HASH.fullmatch(value[name]):
            raise ValueError(f"its anchor's {name} is not a 0x-prefixed 32-byte hex value")
    if not isinstance(value["network"], str):
        raise ValueError("its anchor's network must be a string")
    expected = anchor_id_for(ANCHOR_NAMESPACE, tenant_id, str(size))
    if bytes.fromhex(value["anchor_id"][2:]) != expected:
        raise ValueError(
            "its anchor reference names anchor id "
            f"{value['anchor_id']}, not the one derived from tenant and size (0x{expected.hex()})"
        )
    return AnchorReference(
        chain_id=value["chain_id"],
        contract=value["contract"],
        tx=value["tx"],
        block=value["block"],
        block_hash=value["block_hash"],
        network=value["network"],
    )


def _cosignatures(value: Any) -> tuple[tuple[str, ...], bytes] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.keys() != {"witnesses", "aggregate"}:
        raise ValueError('its cosignatures must be {"witnesses": [ids], "aggregate": hex}')
    ids = value["witnesses"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError("its cosigners must be a non-empty list of witness ids")
    if len(set(ids)) != len(ids):
        raise ValueError("its cosigners list a witness twice")
    return tuple(ids), hex_bytes(value["aggregate"], "the aggregate cosignature", SIGNATURE_SIZE)


def _consistency(value: Any) -> tuple[int, list[bytes]]:
    if not isinstance(value, dict) or value.keys() != {"from_size", "path"}:
        raise ValueError('its consistency proof must be {"from_size": n, "path": [hex]}')
    if not _is_int(value["from_size"]) or not isinstance(value["path"], list):
        raise ValueError("its consistency proof is malformed")
    return value["from_size"], [hex32(h, "a consistency proof hash") for h in value["path"]]


class CheckpointChecker:
    """Checks checkpoint lines one by one against the bundle's key, tenant and log."""

    def __init__(
        self, findings: Findings, key: sm2.PublicKey | None, tenant_id: str, log_id: str
    ) -> None:
        self._findings = findings
        self._key = key
        self._tenant_id = tenant_id
        self._log_id = log_id
        self.listed: list[ListedCheckpoint] = []

    def check(self, lines: Iterable[bytes]) -> list[ListedCheckpoint]:
        """Check every line; return the checkpoints that parsed, in file order."""
        for number, line in enumerate(lines, start=1):
            self._line(number, line)
        if not self.listed:
            self._findings.fail(layout.CHECKPOINTS, "holds no checkpoint")
        return self.listed

    def _line(self, number: int, line: bytes) -> None:
        fail = self._findings.fail
        where = f"{layout.CHECKPOINTS} line {number}"
        try:
            record = loads_strict(line)
            if not isinstance(record, dict) or record.keys() != _LINE_KEYS:
                raise ValueError(f"a checkpoint line is an object with keys {sorted(_LINE_KEYS)}")
            if not isinstance(record["body"], str):
                raise ValueError("its body must be a string")
            body = record["body"].encode("utf-8")
            checkpoint = Checkpoint.from_body(body)
        except (ValueError, UnicodeError) as exc:  # MalformedCheckpoint is a ValueError
            fail(where, f"is not a checkpoint record: {exc}")
            return
        where = f"checkpoint size {checkpoint.size}"
        try:
            signature = hex_bytes(record["signature"], "its signature")
            anchor = _anchor(record["anchor"], self._tenant_id, checkpoint.size)
            cosignatures = _cosignatures(record["cosignatures"])
        except ValueError as exc:
            fail(where, str(exc))
            return
        self._signature(where, body, signature)
        if (checkpoint.tenant_id, checkpoint.log_id) != (self._tenant_id, self._log_id):
            fail(
                where,
                f"belongs to tenant {checkpoint.tenant_id!r} (log {checkpoint.log_id!r}), "
                f"but this bundle is for tenant {self._tenant_id!r} (log {self._log_id!r})",
            )
        previous = self.listed[-1].checkpoint if self.listed else None
        if previous is not None and checkpoint.size <= previous.size:
            fail(where, f"follows checkpoint size {previous.size}: sizes must strictly increase")
            return
        self._chain(where, checkpoint, previous, record["consistency"])
        self.listed.append(
            ListedCheckpoint(
                checkpoint=checkpoint,
                body=body,
                anchor=anchor,
                cosigners=cosignatures[0] if cosignatures else None,
                aggregate=cosignatures[1] if cosignatures else None,
            )
        )

    def _signature(self, where: str, body: bytes, signature: bytes) -> None:
        if self._key is None:
            return  # the unusable key was reported already
        try:
            verify_checkpoint(self._key, body, signature)
        except (InvalidCheckpointSignature, MalformedCheckpoint):
            self._findings.fail(
                where, "its SM2 signature does not verify under the bundle's signing key"
            )

    def _chain(
        self, where: str, checkpoint: Checkpoint, previous: Checkpoint | None, proof: Any
    ) -> None:
        """The link to the previous checkpoint: its signed `prev`, and the consistency proof."""
        fail = self._findings.fail
        if previous is not None:
            if checkpoint.previous_size is None:
                fail(
                    where,
                    f"claims to be the log's first checkpoint yet follows size {previous.size}",
                )
            elif checkpoint.previous_size < previous.size:
                fail(
                    where,
                    f"names checkpoint size {checkpoint.previous_size} as its predecessor, "
                    f"but checkpoint size {previous.size} came between",
                )
            elif (
                checkpoint.previous_size == previous.size
                and checkpoint.previous_root != previous.root
            ):
                fail(
                    where,
                    f"names another root for checkpoint size {previous.size} than that "
                    "checkpoint has: two histories of the log were signed",
                )
            old_size, old_root = previous.size, previous.root
        elif checkpoint.previous_size is not None and checkpoint.previous_root is not None:
            old_size, old_root = checkpoint.previous_size, checkpoint.previous_root
        else:
            if proof is not None:
                fail(where, "carries a consistency proof but has no predecessor")
            return
        if proof is None:
            fail(where, f"lacks the consistency proof from checkpoint size {old_size}")
            return
        try:
            from_size, path = _consistency(proof)
        except ValueError as exc:
            fail(where, str(exc))
            return
        if from_size != old_size:
            fail(where, f"its consistency proof starts at size {from_size}, not {old_size}")
        elif not verify_consistency(old_size, checkpoint.size, old_root, checkpoint.root, path):
            fail(
                where,
                f"the consistency proof from checkpoint size {old_size} does not hold: "
                "the log's history was rewritten",
            )


def _parse_witnesses(data: bytes) -> list[RegisteredWitness]:
    document = loads_strict(data)
    if not isinstance(document, dict) or document.keys() != {"witnesses"}:
        raise ValueError('it must be {"witnesses": [...]}')
    if not isinstance(document["witnesses"], list):
        raise ValueError("its witnesses must be a list")
    witnesses = []
    for item in document["witnesses"]:
        if not isinstance(item, dict) or item.keys() != {"id", "name", "public_key", "pop"}:
            raise ValueError("each witness is {id, name, public_key, pop}")
        if not isinstance(item["id"], str) or not isinstance(item["name"], str):
            raise ValueError("a witness id and name are strings")
        witnesses.append(
            RegisteredWitness(
                id=item["id"],
                name=item["name"],
                public_key=hex_bytes(item["public_key"], "a witness key", PUBLIC_KEY_SIZE),
                pop=hex_bytes(item["pop"], "a proof of possession", SIGNATURE_SIZE),
            )
        )
    if len({w.id for w in witnesses}) != len(witnesses):
        raise ValueError("two witnesses share an id")
    return witnesses


@dataclass(frozen=True)
class WitnessReport:
    """What step 4 found: registered witnesses checked, aggregates checked."""

    witnesses: int
    cosignatures_checked: int
    latest_cosigned: bool


def check_witnesses(
    data: bytes | None,
    listed: Sequence[ListedCheckpoint],
    trusted: Sequence[bytes] | None,
    findings: Findings,
) -> WitnessReport:
    """Every witness's PoP, then every aggregate cosignature the bundle carries."""
    witnesses: list[RegisteredWitness] = []
    if data is not None:
        try:
            witnesses = _parse_witnesses(data)
        except ValueError as exc:
            findings.fail(layout.WITNESSES, f"is not a list of witnesses: {exc}")
    proven: dict[str, RegisteredWitness] = {}
    for witness in witnesses:
        if verify_witness_registration(witness.public_key, witness.pop):
            proven[witness.id] = witness
        else:
            findings.fail(
                f"witness {witness.id} ({witness.name})",
                "its proof of possession does not verify: the key cannot count as a cosigner "
                "(it may be a rogue key)",
            )
    trusted_keys = None if trusted is None else {bytes(k) for k in trusted}
    if trusted_keys is not None:
        for witness in witnesses:
            if witness.public_key not in trusted_keys:
                findings.note(f"witness {witness.id} ({witness.name}) is not among the trusted")
    known = {w.id for w in witnesses}
    checked = 0
    latest_trusted = False
    for position, item in enumerate(listed):
        if item.cosigners is None or item.aggregate is None:
            continue
        unknown = [i for i in item.cosigners if i not in known]
        unproven = [i for i in item.cosigners if i in known and i not in proven]
        if unknown:
            findings.fail(item.where, f"is cosigned by unregistered witness(es) {unknown}")
            continue
        if unproven:
            findings.fail(item.where, f"is cosigned by witness(es) {unproven} without a valid PoP")
            continue
        signers = [proven[i] for i in item.cosigners]
        checked += 1
        if not verify_cosignatures(signers, item.body, item.aggregate):
            findings.fail(
                item.where,
                f"the aggregate cosignature of witness(es) {list(item.cosigners)} does not verify",
            )
        elif position == len(listed) - 1:
            latest_trusted = trusted_keys is None or any(
                s.public_key in trusted_keys for s in signers
            )
    latest_cosigned = bool(listed) and listed[-1].cosigners is not None
    if listed and trusted_keys is not None and not latest_trusted:
        findings.fail(listed[-1].where, "is not cosigned by any trusted witness")
    elif listed and not latest_cosigned:
        findings.note(f"the latest checkpoint (size {listed[-1].checkpoint.size}) is not cosigned")
    return WitnessReport(len(witnesses), checked, latest_cosigned)
