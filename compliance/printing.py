"""What every PDF the product prints shares: the CJK font and QR symbols drawn as vectors.

Labels (`trace_api.codes.labels`) and certificates (`compliance.evidence.certificate_pdf`)
both need a font with Chinese glyphs and QR codes that stay sharp at any scale, and both
find and draw them here.

The font is Noto Sans CJK (Debian: ``fonts-noto-cjk``), its Simplified Chinese face, with
its bold face beside it when installed; else the first font fontconfig knows for Chinese.
`CjkFontMissing` names what to install when there is none.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import qrcode
from fontTools.ttLib import TTCollection, TTFont, TTLibError  # type: ignore[import-untyped]
from fpdf import FPDF

from compliance.errors import ComplianceError

__all__ = [
    "QUIET_ZONE",
    "CjkFace",
    "CjkFontMissing",
    "CjkFonts",
    "cjk_fonts",
    "draw_qr",
    "qr_matrix",
]

# Where the CJK font is looked for, in order; then among fontconfig's fonts for Chinese.
FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch: noto-fonts-cjk
    "/usr/share/fonts/noto/NotoSansCJK-Regular.ttc",  # Alpine: font-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian, Ubuntu: fonts-wqy-microhei
)
# Characters every document prints (labels, then certificates): a font lacking one is no use.
MUST_HAVE = "扫码验真刮开涂层证…" + "存证证书当事方签署验证链上锚定"
QUIET_ZONE = 4  # modules of white around a QR symbol (ISO/IEC 18004)


class CjkFontMissing(ComplianceError):
    """No font with Chinese glyphs is installed, so no PDF can be printed."""


@dataclass(frozen=True)
class CjkFace:
    """A font file, and the face in it when it is a collection."""

    path: str
    index: int

    def add_to(self, pdf: FPDF, family: str, style: str = "") -> None:
        pdf.add_font(family, style, fname=self.path, collection_font_number=self.index)


@dataclass(frozen=True)
class CjkFonts:
    regular: CjkFace
    bold: CjkFace  # the regular face again when no bold one is installed


@lru_cache(maxsize=1)  # a miss raises, and is looked for again on the next call
def cjk_fonts() -> CjkFonts:
    """The first CJK font of `FONT_FILES`, else of fontconfig; CjkFontMissing if none."""
    candidates = [(path, None) for path in FONT_FILES] + _fontconfig_chinese()
    for path, index in candidates:
        regular = _face(path, index)
        if regular is not None:
            bold_path = path.replace("-Regular.", "-Bold.")
            bold = _face(bold_path, None) if bold_path != path else None
            return CjkFonts(regular, bold or regular)
    raise CjkFontMissing(
        "printing a PDF needs a font with Chinese glyphs and none is installed "
        f"(looked at {', '.join(FONT_FILES)} and fontconfig's fonts for zh-cn): "
        "install fonts-noto-cjk"
    )


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of ``text`` (error correction M), quiet zone included."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(text)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def draw_qr(pdf: FPDF, matrix: list[list[bool]], x: float, y: float, module: float) -> None:
    """Draw QR modules with their top left corner at (x, y), ``module`` mm each: one filled
    rectangle per horizontal run of dark modules, sharp at any resolution."""
    pdf.set_fill_color(0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")


def _face(path: str, index: int | None) -> CjkFace | None:
    """The face of ``path`` that prints `MUST_HAVE`, Simplified Chinese first."""
    if not Path(path).is_file():
        return None
    try:
        if index is None and path.lower().endswith((".ttc", ".otc")):
            with TTCollection(path, lazy=True) as collection:
                names = [str(face["name"].getDebugName(1)) for face in collection.fonts]
                faces = [i for i, face in enumerate(collection.fonts) if _covers(face)]
            # Collections hold a face per region (JP, KR, SC, TC, HK): pick the SC one.
            faces.sort(key=lambda i: ("Mono" in names[i], not names[i].endswith(" SC")))
            return CjkFace(path, faces[0]) if faces else None
        with TTFont(path, fontNumber=index or 0, lazy=True) as font:
            return CjkFace(path, index or 0) if _covers(font) else None
    except (OSError, TTLibError, KeyError):
        return None


def _covers(font: Any) -> bool:
    cmap = font.getBestCmap() or {}
    return all(ord(char) in cmap for char in MUST_HAVE)


def _fontconfig_chinese() -> list[tuple[str, int | None]]:
    """Fontconfig's fonts for Chinese, sans-serif first; none when fontconfig is absent."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(  # noqa: S603 (a fixed argument list, no shell)
            [fc_list, ":lang=zh-cn", "--format", "%{file}\t%{index}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = [line.partition("\t") for line in listed.splitlines()]
    found: list[tuple[str, int | None]] = [
        (path, int(index)) for path, _, index in faces if index.isdigit()
    ]
    return sorted(found, key=lambda face: ("Sans" not in face[0], face))
