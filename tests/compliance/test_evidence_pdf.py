"""The PDF certificate: its QR code decodes (zxing-cpp) to the verify URL, its text is real text.

Pages are rendered with pdfium at 200 dpi and every QR code on them decoded; the text
layer is read back with pdfium too, so Chinese that was drawn as missing glyphs (tofu)
would not be found; and fpdf2, which logs each glyph its font lacks, must log none.
"""

from __future__ import annotations

import logging

import pypdfium2
import pytest
from evidence_proofs import (
    KEYS,
    Proof,
    fake_anchor,
    make_proof,
    make_statement,
    sign,
)

from compliance import printing
from compliance.errors import MalformedEvidence
from compliance.evidence.certificate_pdf import certificate_pdf
from compliance.evidence.statement import Party, key_fingerprint
from compliance.printing import CjkFontMissing
from crypto import sm2
from crypto.sm3 import sm3
from fixtures.pdf_reading import assert_has, pdf_text, qr_codes


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _render(document: dict[str, object]) -> bytes:
    """The PDF, with no glyph missing from its font (fpdf2 logs each one it lacks)."""
    records, logger = _Records(), logging.getLogger("fpdf")
    logger.addHandler(records)
    try:
        pdf = certificate_pdf(document)
    finally:
        logger.removeHandler(records)
    assert not records.messages, records.messages
    return pdf


@pytest.fixture(scope="module")
def proof() -> Proof:
    return make_proof()


@pytest.fixture(scope="module")
def document(proof: Proof) -> dict[str, object]:
    return proof.certificate(fake_anchor(proof))


@pytest.fixture(scope="module")
def pdf(document: dict[str, object]) -> bytes:
    return _render(document)


def test_the_qr_code_reads_back_as_the_verify_url(pdf: bytes, document: dict[str, object]) -> None:
    assert pdf.startswith(b"%PDF-")
    assert qr_codes(pdf) == [document["verify_url"]]


def test_the_chinese_and_english_text_is_in_the_text_layer(pdf: bytes, proof: Proof) -> None:
    text = pdf_text(pdf)
    assert_has(text, "存证证书", "Evidence certificate", "当事方", "Parties", "签署", "Signatures")
    assert_has(text, "上链锚定", "Anchor", "验证", "Verification", "已上链 / anchored")
    assert_has(text, proof.statement.title, "协议 / agreement", proof.statement.evidence_id)
    for party in proof.statement.parties:
        assert_has(text, party.name, party.uscc or "—")


def test_it_shows_the_digests_signers_batch_anchor_and_how_to_verify(
    pdf: bytes, proof: Proof, document: dict[str, object]
) -> None:
    text = pdf_text(pdf)
    assert_has(text, *proof.statement.digests.values(), "3,640 字节 / bytes")
    for signature in proof.signatures:
        assert_has(text, key_fingerprint(signature.public_key))
    assert_has(text, "2026-12-06 08:35:00.000000 UTC")  # the brand's signature
    anchor = fake_anchor(proof)
    assert_has(text, proof.tree.root().hex(), "2 / 5", proof.subject, proof.anchor_id)
    assert_has(
        text, str(anchor["chain_id"]), anchor["contract"], anchor["tx"], anchor["block_hash"]
    )
    assert_has(text, str(document["verify_url"]), "trace verify-evidence CERT.json")


def test_long_titles_and_many_parties_flow_onto_more_pages() -> None:
    title = ("很长的合同标题，" * 120) + ("A" * 400) + " and a long English title " * 40
    parties = tuple(Party(f"p{n}", f"第{n}号经销商 Dealer number {n}") for n in range(60))
    statement = make_statement(parties=parties, title=title)
    keys = {p.ref: sm2.PrivateKey.from_bytes(sm3(p.ref.encode())) for p in parties}
    signatures = tuple(sign(statement, p.ref, keys[p.ref]) for p in parties)
    proof = make_proof(statement, signatures=signatures)
    document = proof.certificate(fake_anchor(proof))

    pdf = _render(document)

    assert len(pypdfium2.PdfDocument(pdf)) > 5
    assert qr_codes(pdf) == [document["verify_url"]]
    text = pdf_text(pdf)
    assert_has(text, title)
    for party in parties:
        assert_has(text, party.name, key_fingerprint(keys[party.ref].public_key.hex()))


def test_a_certificate_not_yet_signed_nor_anchored_renders_saying_so() -> None:
    statement = make_statement()
    proof = make_proof(statement, signatures=())
    pdf = _render(proof.certificate(None, status="pending_signatures"))
    text = pdf_text(pdf)
    assert_has(text, "待签署 / pending signatures", "尚无签名 / no signature yet")
    assert_has(text, "尚未进入批次 / not in a batch yet")
    assert len(qr_codes(pdf)) == 1


def test_a_late_signer_is_shown_once_signed() -> None:
    statement = make_statement()
    proof = make_proof(statement, signatures=(sign(statement, "brand"),))
    pending = {"status": "pending", "anchor_id": proof.anchor_id}
    text = pdf_text(_render(proof.certificate(pending, status="pending_signatures")))
    assert_has(
        text, key_fingerprint(KEYS["brand"].public_key.hex()), "尚未确认 / not confirmed yet"
    )
    assert key_fingerprint(KEYS["dealer"].public_key.hex()) not in text


def test_a_glyph_the_font_lacks_is_noticed() -> None:
    proof = make_proof(make_statement(title="Emoji 😀 title"))
    with pytest.raises(AssertionError, match="missing the following glyphs"):
        _render(proof.certificate(fake_anchor(proof)))


def test_a_document_that_is_no_certificate_is_refused(document: dict[str, object]) -> None:
    with pytest.raises(MalformedEvidence):
        certificate_pdf({**document, "status": "signed"})


def test_without_a_cjk_font_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, document: dict[str, object]
) -> None:
    monkeypatch.setattr(printing, "FONT_FILES", ("/nonexistent/font.ttc",))
    monkeypatch.setattr(printing, "_fontconfig_chinese", lambda: [])
    printing.cjk_fonts.cache_clear()
    try:
        with pytest.raises(CjkFontMissing, match="fonts-noto-cjk"):
            certificate_pdf(document)
    finally:
        printing.cjk_fonts.cache_clear()
