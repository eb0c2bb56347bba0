"""Checking an invoice file offline, and on chain if asked: `verify_invoice` never raises on
bad input; what is wrong comes back as a `Failure` in the `InvoiceVerdict`, in this order:

1. the file is well-formed XML valid against ``einvoice.xsd`` and reads as an invoice;
2. every figure it prints is what its entered figures compute to (a red line, which takes
   its share of a blue line, may differ from the formula by the platform's tolerance:
   ±0.01 in the amount or, for a price with tax, the total, and ±0.06 in tax), the
   totals are the sums of its lines, the total in capitals is the total's, and it names
   its parties as its kind requires;
3. its ``TraceProof`` is the proof of its digest: the leaf is ``SM3(0x00 || digest)``, the
   path leads to the root, the anchor id is derived from its tenant and batch, confirmed;
4. with ``rpc_url``: the chain holds that root and size under that id as an invoice anchor
   (kind 4), in the contract the proof names (or ``expected_contract``), in the block and
   transaction it names; the block's time is when the invoice was anchored.

Steps 1 to 3 show the file is internally consistent and is the one that was anchored
(one changed figure changes the digest); the chain (4) is what makes it evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from compliance._findings import Failure, Findings
from compliance._wire import format_utc, loads_strict
from compliance.batch_proof import check_batch_on_chain, check_batch_proof, read_batch_proof
from compliance.errors import InvalidInvoice
from compliance.invoice.document import check_parties
from compliance.invoice.words import amount_in_words
from compliance.invoice.xml import ReadInvoice, read_xml
from crypto import merkle

__all__ = ["InvoiceVerdict", "verify_invoice"]

ANCHOR_KIND = "invoice"
INVOICE_KIND_BYTE = 4  # trace_api.anchoring's ANCHOR_KINDS["invoice"]
AMOUNT_TOLERANCE = Decimal("0.01")
TAX_TOLERANCE = Decimal("0.06")
_SUBJECT = re.compile(r"invoice-batch-[1-9][0-9]*")


@dataclass(frozen=True)
class InvoiceVerdict:
    """What the checks found; ``ok`` only when nothing failed."""

    failures: tuple[Failure, ...]
    notes: tuple[str, ...]
    number: str | None = None
    total: Decimal | None = None
    digest: str | None = None
    chain_checked: bool = False
    anchored_at: datetime | None = None
    read: ReadInvoice | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        what = f"invoice {self.number or '(unreadable)'}"
        if self.total is not None:
            what += f", total {self.total}"
        lines = [f"VERIFIED: {what}"] if self.ok else [
            f"NOT VERIFIED: {what}", f"First failure: {self.failures[0]}"
        ]  # fmt: skip
        if self.digest:
            lines.append(f"  digest:    SM3 {self.digest}")
        if self.anchored_at is not None:
            lines.append(f"  anchored:  {format_utc(self.anchored_at)} (the block's time)")
        if len(self.failures) > 1:
            lines.append(f"All {len(self.failures)} failures:")
            lines.extend(f"  - {failure}" for failure in self.failures)
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "number": self.number,
            "total": None if self.total is None else str(self.total),
            "digest_sm3": self.digest,
            "first_failure": str(self.failures[0]) if self.failures else None,
            "failures": [{"where": f.where, "reason": f.reason} for f in self.failures],
            "notes": list(self.notes),
            "chain_checked": self.chain_checked,
            "anchored_at": format_utc(self.anchored_at) if self.anchored_at else None,
        }


def verify_invoice(
    data: bytes,
    *,
    rpc_url: str | None = None,
    expected_contract: str | None = None,
    min_confirmations: int = 1,
) -> InvoiceVerdict:
    """Check an invoice file (and the chain); never raises."""
    findings = Findings()
    try:
        read = read_xml(data)
    except (ValueError, ArithmeticError) as exc:  # InvalidInvoice, and any figure unread
        findings.fail("file", str(exc))
        return InvoiceVerdict(tuple(findings.failures()), tuple(findings.notes))
    invoice = read.invoice
    findings.step = 2
    _check_figures(read, findings)
    try:
        check_parties(invoice.kind, invoice.seller, invoice.buyer)
    except InvalidInvoice as exc:
        findings.fail("parties", str(exc))
    findings.step = 3
    anchored_at = None
    proven = False
    proof = None
    if read.proof_json is None:
        findings.fail("proof", "the file holds no TraceProof: the invoice is not anchored yet")
    else:
        try:
            proof = read_batch_proof(
                loads_strict(read.proof_json.encode()),
                subject=_SUBJECT,
                subject_form="invoice-batch-<n>",
                error=InvalidInvoice,
            )
        except (InvalidInvoice, ValueError) as exc:
            findings.fail("proof", str(exc))
        else:
            proven = check_batch_proof(
                proof,
                leaf=merkle.leaf_hash(read.digest, "sm3"),
                leaf_mismatch="is not the hash of this invoice's digest",
                anchor_kind=ANCHOR_KIND,
                tenant=invoice.tenant,
                findings=findings,
                what="invoice",
            )
    if proven and proof is not None and rpc_url is not None:
        findings.step = 4
        anchored_at = check_batch_on_chain(
            proof,
            rpc_url=rpc_url,
            expected_contract=expected_contract,
            min_confirmations=min_confirmations,
            kind_byte=INVOICE_KIND_BYTE,
            kind_name="invoice",
            findings=findings,
            document_name="the invoice",
        )
    elif proven:
        findings.note("the anchor was not checked on chain: give an RPC URL to check it")
    return InvoiceVerdict(
        failures=tuple(findings.failures()),
        notes=tuple(findings.notes),
        number=str(invoice.number),
        total=read.printed_totals[2],
        digest=read.digest.hex(),
        chain_checked=anchored_at is not None,
        anchored_at=anchored_at,
        read=read,
    )


def _check_figures(read: ReadInvoice, findings: Findings) -> None:
    red = read.invoice.red is not None
    for n, (computed, printed) in enumerate(
        zip(read.invoice.lines, read.printed_lines, strict=True)
    ):
        where = f"line {n}"
        amount_off = abs(printed.amount - computed.amount)
        total_off = abs(printed.amount + printed.tax - computed.total)
        tax_off = abs(printed.tax - computed.tax)
        exact = amount_off == 0 and tax_off == 0
        # A red line takes back its share of the blue line (the whole's figures less the
        # parts' before it), within a fen of the formula in what the price was entered as
        # (with tax: the total; without: the amount), and within the tax tolerance.
        entered_off = total_off if computed.entered.price_includes_tax else amount_off
        tolerated = red and entered_off <= AMOUNT_TOLERANCE and tax_off <= TAX_TOLERANCE
        if not (exact or tolerated):
            findings.fail(
                where,
                f"prints amount {printed.amount} and tax {printed.tax}; its quantity, price "
                f"and rate give {computed.amount} and {computed.tax}",
            )
        if printed.total != printed.amount + printed.tax:
            findings.fail(where, f"total {printed.total} is not its amount plus its tax")
        nature = "1" if computed.entered.discount else "2" if computed.discounted else "0"
        if printed.nature != nature:
            findings.fail(where, f"LineNature is {printed.nature}, but the lines make it {nature}")
    amount = sum((p.amount for p in read.printed_lines), Decimal("0.00"))
    tax = sum((p.tax for p in read.printed_lines), Decimal("0.00"))
    if read.printed_totals != (amount, tax, amount + tax):
        shown = ", ".join(str(t) for t in read.printed_totals)
        findings.fail("totals", f"print {shown}; the lines sum to {amount}, {tax}, {amount + tax}")
    words = amount_in_words(read.printed_totals[2])
    if read.printed_words != words:
        findings.fail("total in capitals", f"reads {read.printed_words}, not {words}")
