"""HTTP output models of the scan-record recount."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
