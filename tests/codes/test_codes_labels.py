"""Labels: every QR code we print (PNG, SVG, PDF) decodes back to its URI with zxing-cpp."""

from __future__ import annotations

import csv
import io

import pypdfium2
import resvg_py
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from fixtures.app import TenantKeys
from fixtures.codes import issue_batch
from trace_api.components import Components


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_png_and_svg_decode_to_the_code_uri(client: TestClient, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=3, lot="L/26%1&A")
    auth = tenant.auth("operator")
    for code in issued.codes:
        png = client.get(f"/v1/codes/{code['serial']}/qr.png", headers=auth)
        assert png.headers["content-type"] == "image/png"
        assert decode(png.content) == [code["uri"]]
        svg = client.get(f"/v1/codes/{code['serial']}/qr.svg", headers=auth)
        assert svg.headers["content-type"].startswith("image/svg+xml")
        rendered = bytes(resvg_py.svg_to_bytes(svg_string=svg.text))
        assert decode(rendered) == [code["uri"]]
    assert "%2F" in issued.codes[0]["uri"]  # the lot's "/" is percent-encoded


def test_csv_print_file_streams_every_code_in_leaf_order(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=12)
    response = client.get(f"/v1/batches/{issued.batch_id}/labels.csv", headers=tenant.auth("admin"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["serial"] for r in rows] == [c["serial"] for c in issued.codes]
    assert [r["uri"] for r in rows] == [c["uri"] for c in issued.codes]
    first = rows[0]
    assert first["hri"] == f"(01){first['gtin']}(10){first['lot']}(21){first['serial']}"
    assert first["expiry"] == "2028-10-31"


def test_pdf_sheet_holds_every_label_and_each_decodes(
    client: TestClient, tenant: TenantKeys
) -> None:
    issued = issue_batch(client, tenant, count=23)  # two pages of 21
    response = client.get(f"/v1/batches/{issued.batch_id}/labels.pdf", headers=tenant.auth("admin"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    document = pypdfium2.PdfDocument(response.content)
    found: list[str] = []
    for page in document:
        image = page.render(scale=4).to_pil()
        found.extend(r.text for r in zxingcpp.read_barcodes(image))
    assert sorted(found) == sorted(c["uri"] for c in issued.codes)


def test_pdf_refuses_large_batches_and_points_to_the_csv(
    client: TestClient, tenant: TenantKeys, app
) -> None:
    Components.of(app).settings.label_pdf_max = 4
    issued = issue_batch(client, tenant, count=5)
    response = client.get(f"/v1/batches/{issued.batch_id}/labels.pdf", headers=tenant.auth("admin"))
    assert response.status_code == 413
    assert "labels.csv" in response.json()["detail"]
