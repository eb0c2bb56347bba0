"""Label PDFs on every stock, read back as a printer and a phone would see them.

Each page is rendered at 300 dpi and every QR code on it decoded with zxing-cpp; the text
of the label around each code (pdfium's text layer, by position) must say what that code
holds. The sheets' geometry below is the paper makers', written out here rather than read
from the code under test, so a layout that drifts off the stickers fails.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
import zxingcpp
from fastapi.testclient import TestClient

from compliance import printing
from fixtures.app import TenantKeys
from fixtures.codes import issue_batch, make_batch, make_product
from trace_api.codes import label_stock, labels
from trace_api.codes.gs1 import parse_item_link

DPI = 300
PT = 72 / 25.4  # points per mm
LOT = "L/26%1&A"  # "/", "%" and "&" are percent-encoded in the URI
NAME = "龙井绿茶 250 g"  # fixtures.codes.make_product's product


@dataclass(frozen=True)
class Rect:
    """Millimetres from the page's top left corner."""

    left: float
    top: float
    right: float
    bottom: float

    def inset(self, by: float) -> Rect:
        return Rect(self.left + by, self.top + by, self.right - by, self.bottom - by)

    def holds(self, other: Rect, slack: float = 0.0) -> bool:
        return (
            other.left >= self.left - slack
            and other.top >= self.top - slack
            and other.right <= self.right + slack
            and other.bottom <= self.bottom + slack
        )


@dataclass(frozen=True)
class Paper:
    """A stock as sold: page size, where each label is, and where nothing may be printed."""

    page: tuple[float, float]
    labels: list[Rect]
    page_margin: float  # from every page edge: the printer's unprintable strip
    label_margin: float  # from every label edge: die-cut registration


def _a4_l7160() -> list[Rect]:  # Avery L7160: 3 x 7 labels of 63.5 x 38.1 mm
    return [
        Rect(7.25 + c * 66.04, 15.15 + r * 38.1, 7.25 + c * 66.04 + 63.5, 15.15 + (r + 1) * 38.1)
        for r in range(7)
        for c in range(3)
    ]


PAPER = {
    "a4-3x7-63.5x38.1": Paper((210.0, 297.0), _a4_l7160(), page_margin=10.0, label_margin=3.0),
    "thermal-40x30": Paper((40.0, 30.0), [Rect(0, 0, 40, 30)], page_margin=1.5, label_margin=1.5),
    "thermal-50x30": Paper((50.0, 30.0), [Rect(0, 0, 50, 30)], page_margin=1.5, label_margin=1.5),
}


@dataclass
class ReadLabel:
    """What one label of a page says: its QR code's text, position and the text around it."""

    uri: str
    symbol: Rect
    area: Rect
    text: str
    boxes: list[Rect] = field(default_factory=list)  # stroked rectangles (the PIN field)


def read_pdf(pdf: bytes, paper: Paper) -> Iterator[ReadLabel]:
    """Every label of every page, checking that nothing is printed outside the safe areas."""
    document = pypdfium2.PdfDocument(pdf)
    for page in document:
        width, height = page.get_size()
        assert (round(width / PT, 1), round(height / PT, 1)) == paper.page
        safe = [area.inset(paper.label_margin) for area in paper.labels]
        printable = Rect(0, 0, *paper.page).inset(paper.page_margin)
        textpage = page.get_textpage()
        for i in range(textpage.count_chars()):
            if textpage.get_text_range(i, 1).isspace():
                continue
            glyph = _from_points(textpage.get_charbox(i), height)
            assert printable.holds(glyph), f"{textpage.get_text_range(i, 1)!r} at {glyph}"
            assert any(s.holds(glyph) for s in safe), f"{textpage.get_text_range(i, 1)!r} off"
        strokes = list(_stroked(page, height))
        image = page.render(scale=DPI / 72).to_pil()
        found = zxingcpp.read_barcodes(image)
        assert found, "no QR code on a page"
        taken: set[int] = set()
        for result in found:
            assert result.format == zxingcpp.BarcodeFormat.QRCode
            symbol = _symbol(result.position)
            assert printable.holds(symbol), f"QR code at {symbol} in the page margin"
            at = next(n for n, s in enumerate(safe) if s.holds(symbol, slack=0.3))
            assert at not in taken, "two QR codes on one label"
            taken.add(at)
            area = paper.labels[at]
            yield ReadLabel(
                uri=result.text,
                symbol=symbol,
                area=area,
                text=textpage.get_text_bounded(
                    area.left * PT,
                    height - area.bottom * PT,
                    area.right * PT,
                    height - area.top * PT,
                ),
                boxes=[b for b in strokes if area.holds(b)],
            )


def _from_points(box: tuple[float, float, float, float], page_height: float) -> Rect:
    left, bottom, right, top = box
    return Rect(left / PT, (page_height - top) / PT, right / PT, (page_height - bottom) / PT)


def _symbol(position: zxingcpp.Position) -> Rect:
    corners = [position.top_left, position.top_right, position.bottom_left, position.bottom_right]
    mm = 25.4 / DPI
    xs, ys = [p.x * mm for p in corners], [p.y * mm for p in corners]
    return Rect(min(xs), min(ys), max(xs), max(ys))


def _stroked(page: pypdfium2.PdfPage, page_height: float) -> Iterator[Rect]:
    """The bounds of each stroked (outlined, not filled) path: QR modules are all filled."""
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
        fill, stroke = ctypes.c_int(), ctypes.c_int()
        assert pdfium_c.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill), ctypes.byref(stroke))
        if stroke.value:
            yield _from_points(obj.get_bounds(), page_height)


def hri_of(uri: str) -> str:
    """The GS1 element string a URI holds, by the project's own Digital Link parser."""
    link = parse_item_link(uri)
    text = f"(01){link.gtin}"
    text += f"(10){link.lot}" if link.lot is not None else ""
    text += f"(21){link.serial}" if link.serial is not None else ""
    return text + "".join(f"({ai}){v}" for ai, v in sorted(link.attributes.items()))


def hri_printed(text: str) -> str:
    """The printed HRI lines (those that start with an AI in parentheses), joined."""
    return "".join(ln.strip() for ln in text.splitlines() if _AI.match(ln.strip()))


def name_printed(text: str) -> list[str]:
    """The lines above the prompt that are not HRI: the product name."""
    before = text.split("扫码验真")[0]
    return [ln.strip() for ln in before.splitlines() if ln.strip() and not _AI.match(ln.strip())]


_AI = re.compile(r"\(\d{2,4}\)")


@pytest.mark.parametrize("pins", [False, True], ids=["no-pins", "pins"])
@pytest.mark.parametrize(
    ("stock", "count"), [("a4-3x7-63.5x38.1", 23), ("thermal-40x30", 3), ("thermal-50x30", 3)]
)
def test_every_code_prints_once_on_its_own_label_with_text_that_matches_it(
    client: TestClient, tenant: TenantKeys, stock: str, count: int, pins: bool
) -> None:
    issued = issue_batch(client, tenant, count=count, pins=pins, lot=LOT)
    response = client.get(
        f"/v1/batches/{issued.batch_id}/labels.pdf",
        params={"stock": stock},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    read = list(read_pdf(response.content, PAPER[stock]))

    uris = [c["uri"] for c in issued.codes]
    assert sorted(r.uri for r in read) == sorted(uris)  # every code, each exactly once
    assert "%2F" in uris[0] and "%25" in uris[0] and "%26" in uris[0]
    for label in read:
        assert hri_printed(label.text) == hri_of(label.uri), label.text
        assert f"(10){LOT}" in label.text  # the lot as people read it, not percent-encoded
        assert NAME in label.text
        assert "扫码验真" in label.text and "Scan to verify" in label.text
        assert "EXP 2028-10-31" in label.text  # fixtures.codes.make_batch's expiry
        assert ("刮开涂层" in label.text) is pins
        assert ("Scratch for PIN" in label.text) is pins
        assert len(label.boxes) == (1 if pins else 0)
        for box in label.boxes:  # the PIN field: room for a scratch-off sticker, beside the QR
            assert box.right - box.left >= 14 and box.bottom - box.top >= 4
            assert box.left >= label.symbol.right
    for code in issued.codes:
        assert code["pin"] is None or all(code["pin"] not in r.text for r in read)
    if stock.startswith("thermal"):  # a roll: one label per page
        assert len(pypdfium2.PdfDocument(response.content)) == count


def test_default_stock_is_the_a4_sheet(client: TestClient, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=2)
    response = client.get(f"/v1/batches/{issued.batch_id}/labels.pdf", headers=tenant.auth("admin"))
    assert response.status_code == 200
    read = list(read_pdf(response.content, PAPER["a4-3x7-63.5x38.1"]))
    assert sorted(r.uri for r in read) == sorted(c["uri"] for c in issued.codes)


def test_long_names_and_lots_stay_inside_the_label(client: TestClient, tenant: TenantKeys) -> None:
    name = "西湖龙井特级明前绿茶礼盒装 250 g × 2 罐 Limited Edition for the Spring Festival"
    product = make_product(client, tenant, name=name)
    lot = "L/26%1&A-2026/11&B%Z"  # 20 characters, the most AI 10 holds
    batch = make_batch(client, tenant, product["id"], lot=lot)
    body = {"count": 2, "pins": True}
    issued = client.post(
        f"/v1/batches/{batch['id']}/codes", json=body, headers=tenant.auth("admin")
    )
    assert issued.status_code == 201, issued.text
    uris = sorted(c["uri"] for c in issued.json()["codes"])
    for stock, paper in PAPER.items():
        response = client.get(
            f"/v1/batches/{batch['id']}/labels.pdf",
            params={"stock": stock},
            headers=tenant.auth("admin"),
        )
        assert response.status_code == 200
        read = list(read_pdf(response.content, paper))  # checks every glyph's position
        assert sorted(r.uri for r in read) == uris
        for label in read:
            assert hri_printed(label.text) == hri_of(label.uri)
            lines = name_printed(label.text)
            assert len(lines) == 2, stock
            shown = "".join(lines).replace(" ", "")
            assert shown.endswith("…"), stock  # too long for two lines: cut, and says so
            assert name.replace(" ", "").startswith(shown.removesuffix("…"))
            assert len(shown) > 8


def test_a_number_stays_with_its_unit_when_the_name_wraps() -> None:
    pdf = labels.pdf_labels(
        [
            labels.label(
                "https://t.example.cn",
                "09506000134352",
                "A1",
                "6FZCKFB5DT5542AE0",
                date(2028, 10, 31),
                product="西湖龙井茶 250 g",  # "250" would end the first line on this stock
            )
        ],
        label_stock.STOCKS["thermal-40x30"],
        title="t",
    )
    (label,) = read_pdf(pdf, PAPER["thermal-40x30"])
    name_lines = name_printed(label.text)
    assert len(name_lines) == 2
    assert any("250 g" in line for line in name_lines), name_lines


def test_an_unknown_stock_is_a_problem(client: TestClient, tenant: TenantKeys) -> None:
    issued = issue_batch(client, tenant, count=1)
    response = client.get(
        f"/v1/batches/{issued.batch_id}/labels.pdf",
        params={"stock": "a4-3x7-70x42.3"},
        headers=tenant.auth("admin"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/invalid-input"
    assert "stock" in problem["detail"] and "thermal-40x30" in problem["detail"]


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(printing, "FONT_FILES", ())
    monkeypatch.setattr(printing, "_fontconfig_chinese", list)
    printing.cjk_fonts.cache_clear()
    yield
    printing.cjk_fonts.cache_clear()


def test_without_a_cjk_font_the_pdf_is_refused_saying_what_to_install(
    client: TestClient, tenant: TenantKeys, no_cjk_font: None
) -> None:
    issued = issue_batch(client, tenant, count=1)
    response = client.get(f"/v1/batches/{issued.batch_id}/labels.pdf", headers=tenant.auth("admin"))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/label-font-missing"
    assert "fonts-noto-cjk" in response.json()["detail"]
