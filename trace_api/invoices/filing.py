"""The invoices of a month as CSV, for tax filing: one row per line of every invoice issued
in the month (Beijing time), blue and red, with the invoice's number, date, kind and the
blue number a red one reverses; UTF-8 with a byte-order mark, so spreadsheets read the
Chinese text. Streamed a page of invoices at a time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from trace_api.db import transaction
from trace_api.errors import InvalidInput
from trace_api.invoices.numbering import CHINA
from trace_api.invoices.views import lines_of, original_numbers, yuan_text
from trace_api.models import Invoice

PAGE = 500
HEADER = (
    "发票号码", "开票日期", "发票类型", "蓝红", "对应蓝字发票号码", "红冲原因", "购买方名称",
    "购买方统一社会信用代码", "行号", "项目名称", "税收分类编码", "税率", "数量", "单价",
    "单价含税", "金额", "税额", "价税合计",
)  # fmt: skip
_KINDS = {"special": "增值税专用发票", "normal": "普通发票"}
_COLOURS = {"blue": "蓝字", "red": "红字"}
_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a month ``YYYY-MM`` in Beijing time, as aware datetimes."""
    found = _PERIOD.fullmatch(period)
    if found is None:
        raise InvalidInput("a period is a month, YYYY-MM")
    year, month = int(found[1]), int(found[2])
    start = datetime(year, month, 1, tzinfo=CHINA)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CHINA)
    return start, end


def month_csv(
    sessions: sessionmaker[Session], tenant_id: str, start: datetime, end: datetime
) -> Iterator[bytes]:
    """The CSV, a chunk per page of invoices (each page read in a transaction of its own,
    in issue order, so the rows of a month come out once each)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield "\ufeff".encode() + out.getvalue().encode()
    after: tuple[datetime, str] | None = None
    while True:
        out.seek(0)
        out.truncate()
        with transaction(sessions) as session:
            query = select(Invoice).where(
                Invoice.tenant_id == tenant_id, Invoice.issued_at >= start, Invoice.issued_at < end
            )
            if after is not None:
                query = query.where(
                    (Invoice.issued_at > after[0])
                    | ((Invoice.issued_at == after[0]) & (Invoice.id > after[1]))
                )
            rows = list(session.scalars(query.order_by(Invoice.issued_at, Invoice.id).limit(PAGE)))
            if not rows:
                return
            _write_page(session, writer, rows)
        after = (rows[-1].issued_at, rows[-1].id)
        yield out.getvalue().encode()


def _write_page(session: Session, writer: object, rows: list[Invoice]) -> None:
    lines = lines_of(session, rows)
    numbers = original_numbers(session, rows)
    for row in rows:
        issued = row.issued_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        for line in lines[row.id]:
            writer.writerow(  # type: ignore[attr-defined]
                (
                    row.number, issued, _KINDS[row.kind], _COLOURS[row.colour],
                    numbers.get(row.original_id, "") if row.original_id else "",
                    row.red_reason or "", row.buyer_name, row.buyer_credit_code or "",
                    line.position + 1, line.name, line.tax_code, line.rate,
                    line.quantity or "", line.unit_price or "",
                    "是" if line.price_includes_tax else "否",
                    yuan_text(line.amount_fen), yuan_text(line.tax_fen),
                    yuan_text(line.amount_fen + line.tax_fen),
                )
            )  # fmt: skip
