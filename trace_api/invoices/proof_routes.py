"""The public check of an invoice: anyone holding it gives its number, date and total."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from trace_api.components import InvoiceProofsDep
from trace_api.deps import SessionDep
from trace_api.errors import InvalidInput, NotFound
from trace_api.invoices.proofs import matching, public_answer
from trace_api.ratelimit import admit_client

router = APIRouter(tags=["invoices"])
_NO_STORE = {"Cache-Control": "no-store"}
_NUMBER = re.compile(r"[0-9]{20}")
_AMOUNT = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?")


@router.get("/v1/invoices/{number}/verify", summary="Check an invoice (public)")
def verify_invoice(
    number: str,
    request: Request,
    session: SessionDep,
    proofs: InvoiceProofsDep,
    on: Annotated[date, Query(alias="date", description="The issue date, Beijing time.")],
    amount: Annotated[str, Query(max_length=20, description="The total with tax, e.g. 455.50")],
) -> JSONResponse:
    """Whether an invoice of this number was issued on that date for that total (all three
    must match, or it is 404): its status, what red invoices took back, its digest, and its
    proof and anchor to check offline. Nothing about the buyer."""
    admit_client(proofs.public_requests, request, "invoice checks")
    if _NUMBER.fullmatch(number) is None:
        raise InvalidInput("an invoice number is 20 digits")
    if _AMOUNT.fullmatch(amount) is None:
        raise InvalidInput("amount is the total with tax as printed, e.g. 455.50 or -128.50")
    total = Decimal(amount)
    found = matching(session, number, on, total)
    if not found:
        raise NotFound(f"no invoice {number} issued on {on.isoformat()} for {amount}")
    answers = [public_answer(session, proofs, row) for row in found]
    return JSONResponse({"matches": answers}, headers=_NO_STORE)
