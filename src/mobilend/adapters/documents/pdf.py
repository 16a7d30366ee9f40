"""PDF copies of the loan contract and of payment receipts, with fpdf2.

Chinese needs a CJK font embedded in the file (only the glyphs used, so a receipt stays
small and any viewer shows it). The first font found of ``FONT_CANDIDATES`` is used —
``MOBILEND_PDF_FONT`` first, then Debian's WenQuanYi Micro Hei (``fonts-wqy-microhei``,
which ``make browser-deps`` installs) and Noto Sans CJK; none found is
``PdfUnavailable``. Text is written as text (not drawn), so it can be searched, copied
and read back, which the tests do.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_ENV = "MOBILEND_PDF_FONT"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
_FAMILY = "cjk"


class PdfUnavailable(Exception):
    """No font able to write Chinese was found on this machine."""


def font_path() -> Path:
    configured = os.environ.get(FONT_ENV, "")
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    raise PdfUnavailable(
        f"no CJK font for PDFs: install fonts-wqy-microhei or set {FONT_ENV} to a .ttf/.ttc"
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled value; ``strong`` rows are set in a larger size (e.g. the APR)."""

    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: Sequence[Row] = ()
    text: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    subtitle: str
    sections: Sequence[Section]
    footer: str
    #: When the file was made (shown; also the PDF's creation date).
    made_at: dt.datetime


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(_FAMILY, size=8)
        self.set_text_color(110, 115, 133)
        self.cell(0, 6, f"{self.footer_text}    {self.page_no()}/{{nb}}", align="C")


def render(document: Document) -> bytes:
    """The document as PDF bytes."""
    pdf = _Pdf(document.footer)
    try:
        pdf.add_font(_FAMILY, fname=str(font_path()))
    except PdfUnavailable:
        raise
    except Exception as exc:  # a broken or unsupported font file
        raise PdfUnavailable(f"the PDF font could not be loaded: {type(exc).__name__}") from exc
    pdf.set_creation_date(document.made_at)
    pdf.set_title(document.title)
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=18)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_text_color(20, 86, 240)
    pdf.set_font(_FAMILY, size=18)
    pdf.multi_cell(width, 9, document.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(110, 115, 133)
    pdf.set_font(_FAMILY, size=9)
    pdf.multi_cell(width, 5, document.subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    for section in document.sections:
        pdf.set_text_color(26, 31, 44)
        pdf.set_font(_FAMILY, size=12)
        pdf.multi_cell(width, 7, section.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(230, 233, 240)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)
        for row in section.rows:
            pdf.set_font(_FAMILY, size=9)
            pdf.set_text_color(110, 115, 133)
            pdf.multi_cell(width, 5, row.label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(26, 31, 44)
            pdf.set_font(_FAMILY, size=14 if row.strong else 10.5)
            pdf.multi_cell(
                width, 7 if row.strong else 6, row.value, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            pdf.ln(0.8)
        if section.text:
            pdf.set_font(_FAMILY, size=9.5)
            pdf.set_text_color(26, 31, 44)
            pdf.multi_cell(width, 5.2, section.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
    return bytes(pdf.output())
