"""HTTP models of the scan-record recount, flag reviews and consumer reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from trace_api.request_models import DisplayText, RequestModel
from trace_api.resolver.recount import ScanRecount


class ScanFindingOut(BaseModel):
    check: str = Field(
        description="seal_entry_changed, seal_chain, seal_count, seal_root, "
        "counter_behind_records, counter_ahead_of_records, records_missing, first_scan_changed"
    )
    detail: str
    serial: str | None = None
    entry_seq: int | None = Field(default=None, description="the scans.sealed audit entry")
    from_id: int | None = None
    to_id: int | None = None


class CodeCountOut(BaseModel):
    serial: str
    counter: int = Field(description="scan_count as the code's state holds it")
    records: int = Field(description="its scan records")
    last_seq: int = Field(description="the highest scan number among its records")


class ScanRecountOut(BaseModel):
    ok: bool
    findings: list[ScanFindingOut]
    more_findings: int = Field(description="findings beyond the first 1,000, not listed")
    seals: int
    sealed_records: int
    unsealed_records: int = Field(description="records after the last seal (sealed next)")
    codes_checked: int
    code: CodeCountOut | None = None

    @classmethod
    def of(cls, recount: ScanRecount) -> ScanRecountOut:
        code = recount.code
        findings = recount.findings
        return cls(
            ok=recount.ok,
            findings=[ScanFindingOut.model_validate(f, from_attributes=True) for f in findings],
            more_findings=recount.more_findings,
            seals=recount.seals,
            sealed_records=recount.sealed_records,
            unsealed_records=recount.unsealed_records,
            codes_checked=recount.codes_checked,
            code=None if code is None else CodeCountOut.model_validate(code, from_attributes=True),
        )


class FlagReviewIn(RequestModel):
    outcome: Literal["cleared", "confirmed"] = Field(
        description="cleared: a false alarm, the flags go; confirmed: the label was copied, "
        "every later scan says so"
    )
    note: DisplayText = Field(default="", max_length=1000)


class FlagStateOut(BaseModel):
    serial: str
    flags: dict[str, dict[str, Any]] = Field(description="warning code -> its latest warning")
    flagged_at: str | None
    review: dict[str, Any] | None


class FlagReviewOut(BaseModel):
    serial: str
    outcome: str
    reviewed_at: str
    flags: dict[str, dict[str, Any]] = Field(description="the flags the review covered")
    scan_count: int


class ReportStatusIn(RequestModel):
    status: Literal["open", "closed"]


class ConsumerReportOut(BaseModel):
    id: str
    reference: str = Field(description="the short reference the shopper was shown")
    gtin: str
    lot: str | None
    serial: str = Field(description="as the shopper's link read it")
    verdict: str = Field(description="what the scan page said when the report was sent")
    reason: str
    message: str
    where_bought: str
    contact: str = Field(description="personal data: only to answer this report")
    status: str
    created_at: str


class ConsumerReportPage(BaseModel):
    items: list[ConsumerReportOut]
    next_cursor: str | None
