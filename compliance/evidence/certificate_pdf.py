"""The certificate of a contract proof as a printable PDF, in Chinese and English (存证证书).

Pure: a certificate document (`compliance.evidence.certificate`) in, PDF bytes out. It
shows what the JSON certificate holds (the proof, its document's digests, each party and
signer, the batch and its anchor), the public verification URL as text and as a QR code,
and how to check it offline with ``trace verify-evidence``: the PDF is for people, the
JSON certificate is what verifies. Long titles and many parties flow onto more pages.

The CJK font and the QR symbol are `compliance.printing`'s (`CjkFontMissing` when no
font with Chinese glyphs is installed).
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from compliance.evidence.certificate import Certificate, read_certificate
from compliance.evidence.statement import key_fingerprint
from compliance.printing import cjk_fonts, draw_qr, qr_matrix

__all__ = ["certificate_pdf"]

_FAMILY = "cjk"
_LABEL_WIDTH = 42.0  # mm
_QR_SIZE = 38.0  # mm
_GREY = 90

KINDS = {
    "contract": "合同",
    "agreement": "协议",
    "quality_report": "质量报告",
    "recall_notice": "召回通知",
    "other": "其他",
}
STATUSES = {
    "pending_signatures": "待签署 / pending signatures",
    "complete": "已签署，待上链 / signed, not anchored yet",
    "anchored": "已上链 / anchored",
}


def certificate_pdf(document: dict[str, Any]) -> bytes:
    """The certificate document as an A4 PDF (MalformedEvidence if it is not one)."""
    cert = read_certificate(document)
    fonts = cjk_fonts()
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(18, 16, 18)
    pdf.set_title(f"存证证书 Evidence certificate {cert.statement.evidence_id}")
    pdf.set_creator("tracechain")
    fonts.regular.add_to(pdf, _FAMILY)
    fonts.bold.add_to(pdf, _FAMILY, "B")
    pdf.add_page()
    _header(pdf, cert)
    _proof(pdf, cert)
    _parties(pdf, cert)
    _signatures(pdf, cert)
    _anchor(pdf, cert)
    _verification(pdf, cert)
    return bytes(pdf.output())


def _header(pdf: FPDF, cert: Certificate) -> None:
    pdf.set_font(_FAMILY, "B", 20)
    pdf.cell(0, 10, "存证证书", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font(_FAMILY, "", 12)
    pdf.cell(0, 7, "Evidence certificate", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font(_FAMILY, "", 8)
    pdf.set_text_color(_GREY)
    pdf.multi_cell(
        0,
        4,
        "本证书列出一份文件的摘要、各当事方的签名及其在区块链上的锚定；可离线验证。\n"
        "This certificate lists a document's digests, its parties' signatures and where "
        "they are anchored on chain; anyone can verify it offline.",
        align="C",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0)
    pdf.ln(3)


def _proof(pdf: FPDF, cert: Certificate) -> None:
    statement = cert.statement
    _section(pdf, "存证", "Proof")
    _row(pdf, "标题", "Title", statement.title)
    _row(pdf, "类型", "Kind", f"{KINDS[statement.kind]} / {statement.kind.replace('_', ' ')}")
    _row(pdf, "存证编号", "Evidence ID", statement.evidence_id)
    _row(pdf, "租户", "Tenant", statement.tenant)
    _row(pdf, "创建时间", "Created", _time(statement.created_at))
    _row(pdf, "状态", "Status", STATUSES[cert.status])
    digests = "\n".join(f"{name.upper()}: {value}" for name, value in statement.digests.items())
    _row(pdf, "文件摘要", "Document digests", digests)
    size = "—" if statement.size is None else f"{statement.size:,} 字节 / bytes"
    _row(pdf, "文件大小", "Document size", size)
    for link_type, link_id in statement.links:
        _row(pdf, "关联对象", "Linked object", f"{link_type.replace('_', ' ')}: {link_id}")


def _parties(pdf: FPDF, cert: Certificate) -> None:
    _section(pdf, "当事方", "Parties")
    for party in cert.statement.parties:
        lines = [party.name, f"统一社会信用代码 USCC: {party.uscc or '—'}"]
        if party.organisation:
            lines.append(f"组织 Organisation: {party.organisation}")
        lines.append("必须签署 / must sign" if party.required else "可选签署 / may sign")
        _row(pdf, party.ref, "", "\n".join(lines))


def _signatures(pdf: FPDF, cert: Certificate) -> None:
    _section(pdf, "签署", "Signatures")
    if not cert.signatures:
        _row(pdf, "—", "", "尚无签名 / no signature yet")
    names = {party.ref: party.name for party in cert.statement.parties}
    for sig in cert.signatures:
        text = (
            f"{names.get(sig.party, sig.party)}\n"
            f"公钥指纹 Key fingerprint (SM3):\n{key_fingerprint(sig.public_key)}\n"
            f"签署时间 Signed at: {_time(sig.signed_at)}"
        )
        _row(pdf, sig.party, "", text)


def _anchor(pdf: FPDF, cert: Certificate) -> None:
    _section(pdf, "上链锚定", "Anchor")
    proof = cert.proof
    if proof is None:
        _row(pdf, "批次", "Batch", "尚未进入批次 / not in a batch yet")
        return
    anchor = proof.anchor
    _row(pdf, "批次根", "Batch root (SM3)", proof.root.hex())
    _row(pdf, "叶子", "Leaf", proof.leaf.hex())
    _row(pdf, "叶子序号 / 树大小", "Leaf index / tree size", f"{proof.index} / {proof.tree_size}")
    _row(pdf, "锚定主题", "Anchor subject", anchor.subject)
    _row(pdf, "锚定编号", "Anchor ID", anchor.anchor_id)
    if anchor.status != "confirmed":
        _row(pdf, "锚定状态", "Anchor status", f"尚未确认 / not confirmed yet ({anchor.status})")
        return
    _row(pdf, "链 ID", "Chain ID", str(anchor.chain_id))
    _row(pdf, "合约", "Contract", anchor.contract or "")
    _row(pdf, "交易", "Transaction", anchor.tx or "")
    _row(pdf, "区块", "Block", f"{anchor.block}\n{anchor.block_hash}")


def _verification(pdf: FPDF, cert: Certificate) -> None:
    if pdf.will_page_break(_QR_SIZE + 22):
        pdf.add_page()
    _section(pdf, "验证", "Verification")
    top = pdf.get_y()
    _qr(pdf, cert.verify_url, pdf.l_margin, top, _QR_SIZE)
    pdf.set_xy(pdf.l_margin + _QR_SIZE + 6, top)
    pdf.set_font(_FAMILY, "", 9)
    pdf.multi_cell(
        0,
        5,
        "在线验证（扫描二维码）/ Verify online (scan the QR code):\n"
        f"{cert.verify_url}\n\n"
        "离线验证 / Verify offline, with no server: save the JSON certificate and run\n"
        "trace verify-evidence CERT.json --document FILE --rpc URL --contract ADDRESS\n"
        "它核对文件摘要、每个签名、默克尔包含证明及链上锚定；不必信任本服务。\n"
        "It checks the digests, every signature, the Merkle inclusion proof and the anchor "
        "on any Ethereum JSON-RPC node; nothing of this service needs to be trusted.",
        align="L",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_y(max(pdf.get_y(), top + _QR_SIZE) + 2)


def _section(pdf: FPDF, chinese: str, english: str) -> None:
    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(_FAMILY, "B", 12)
    pdf.cell(0, 7, f"{chinese}  {english}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)


def _row(pdf: FPDF, chinese: str, english: str, value: str) -> None:
    """A label (both languages) and its value, which wraps and may run onto the next page."""
    if pdf.will_page_break(10):
        pdf.add_page()
    top, page = pdf.get_y(), pdf.page
    pdf.set_font(_FAMILY, "", 8)
    pdf.set_text_color(_GREY)
    label = f"{chinese}\n{english}" if english else chinese
    pdf.multi_cell(_LABEL_WIDTH, 4.5, label, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom, label_page = pdf.get_y(), pdf.page
    pdf.page = page  # the value starts beside the label
    pdf.set_xy(pdf.l_margin + _LABEL_WIDTH, top)
    pdf.set_font(_FAMILY, "", 9.5)
    pdf.set_text_color(0)
    pdf.multi_cell(0, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if pdf.page == label_page:
        pdf.set_y(max(pdf.get_y(), bottom))
    elif pdf.page < label_page:  # a long label, a short value
        pdf.page = label_page
        pdf.set_y(bottom)
    pdf.ln(1)


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """The QR code, quiet zone included, ``size`` mm square."""
    matrix = qr_matrix(text)
    draw_qr(pdf, matrix, x, y, size / len(matrix))


def _time(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S.%f} UTC"
