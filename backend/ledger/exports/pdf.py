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

    def bar_chart(self, heading: str, rows: list[tuple[str, int, str]]) -> None:
        """Horizontal bars, one per (label, value, value as text): the text is the exact amount;
        the bar's length is only its picture (values at or below zero draw no bar)."""
        self.heading(heading, size=10)
        self.pdf.set_font(self.family, size=7)
        largest = max((v for _, v, _ in rows), default=0)
        label_w, bar_w, row_h = 70.0, 150.0, 5.0
        for label, value, text in rows:
            if self.pdf.will_page_break(row_h):
                self.pdf.add_page()
            x, y = self.pdf.l_margin, self.pdf.get_y()
            self.pdf.set_xy(x, y)
            self.pdf.cell(label_w, row_h, self.text(label[:48]))
            length = bar_w * value / largest if largest > 0 and value > 0 else 0.0
            if length:
                self.pdf.set_fill_color(47, 111, 223)
                self.pdf.rect(x + label_w, y + 1, max(length, 0.4), row_h - 2, style="F")
            self.pdf.set_xy(x + label_w + length + 2, y)
            self.pdf.cell(40, row_h, self.text(text))
            self.pdf.set_xy(x, y + row_h)
        self.pdf.ln(3)

    def note(self, content: str) -> None:
        self.pdf.set_font(self.family, "I", 7)
        self.pdf.multi_cell(0, 4, self.text(content))

    def output(self) -> bytes:
        return bytes(self.pdf.output())
