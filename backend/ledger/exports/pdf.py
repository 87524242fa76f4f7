"""The one way the ledger lays out a PDF document (statements, provenance certificates, training
data summaries): landscape A4, the Unicode font when the machine has one (``fonts``), a title,
a block of label/value lines, headed tables, a closing note. Each document module says only
what goes in it."""

from collections.abc import Callable, Iterable
from typing import Any

from ledger.exports.fonts import latin1, unicode_font


class Document:
    def __init__(self, title: str) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(orientation="L", format="A4")
        self.pdf.set_title(title)
        self.pdf.set_auto_page_break(True, margin=12)
        font = unicode_font()
        if font is not None:  # one face for every style: CJK fonts ship no bold or italic
            for style in ("", "B", "I"):
                self.pdf.add_font("Text", style, str(font))
        self.family = "Text" if font is not None else "Helvetica"
        self.text: Callable[[str], str] = (lambda t: t) if font is not None else latin1
        self.pdf.add_page()

    def _line(self, height: float, content: str, width: float = 0) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.cell(width, height, self.text(content), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, content: str, size: int = 14, colour: tuple[int, int, int] | None = None) -> None:
        self.pdf.set_font(self.family, "B", size)
        if colour:
            self.pdf.set_text_color(*colour)
        self._line(9 if size >= 14 else 7, content)
        self.pdf.set_text_color(0, 0, 0)

    def facts(self, rows: Iterable[tuple[str, str]], label_width: int = 62) -> None:
        self.pdf.set_font(self.family, size=8)
        for label, value in rows:
            self.pdf.cell(label_width, 4.5, self.text(label))
            self._line(4.5, value)
        self.pdf.ln(3)

    def table(self, heading: str, header: tuple[str, ...], widths: tuple[int, ...], body: list[tuple[str, ...]], right: set[int] | None = None) -> None:
        self.heading(heading, size=10)
        self.pdf.set_font(self.family, size=7)
        if not body:
            self._line(5, "none")
        else:
            align: Any = tuple("RIGHT" if i in (right or set()) else "LEFT" for i in range(len(header)))
            with self.pdf.table(col_widths=widths, text_align=align, line_height=4) as t:
                t.row(header)
                for r in body:
                    t.row(tuple(self.text(c) for c in r))
        self.pdf.ln(3)

    def note(self, content: str) -> None:
        self.pdf.set_font(self.family, "I", 7)
        self.pdf.multi_cell(0, 4, self.text(content))

    def output(self) -> bytes:
        return bytes(self.pdf.output())
