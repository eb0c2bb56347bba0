"""The invoice PDF over the API: its QR code, read back by a real decoder, holds the
platform's fields with the check code drawn from the invoice's digest."""

from __future__ import annotations

from datetime import datetime

import pypdfium2
import zxingcpp
from fastapi import FastAPI
from fastapi.testclient import TestClient
from invoice_support import invoice_body, invoicing_parties

from compliance.invoice.pdf import check_code_of
from fixtures.app import TenantKeys
from trace_api.invoices.numbering import CHINA


def test_the_pdf_of_an_invoice_carries_its_fields_in_a_readable_qr_code(
    app: FastAPI, client: TestClient, tenant: TenantKeys
) -> None:
    parties = invoicing_parties(app, tenant)
    invoice = client.post("/v1/invoices", json=invoice_body(parties),
                          headers=tenant.auth("operator")).json()  # fmt: skip
    number = invoice["number"]
    served = client.get(f"/v1/invoices/{number}/pdf", headers=tenant.auth("dealer"))
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "application/pdf"
    assert served.content.startswith(b"%PDF")
    page = pypdfium2.PdfDocument(served.content)[0]
    [code] = zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())
    day = datetime.fromisoformat(invoice["issued_at"]).astimezone(CHINA)
    check = check_code_of(bytes.fromhex(invoice["digest_sm3"]))
    assert code.text == f"01,31,,{number},385.50,{day:%Y%m%d},{check},"
    assert len(check) == 20 and check.isdigit()
    text = page.get_textpage().get_text_range().replace(" ", "").replace("\n", "")
    assert number in text and "叁佰捌拾伍元伍角" in text
    assert f"/v1/invoices/{number}/verify?date={day:%Y-%m-%d}" in text.replace("\r", "")
