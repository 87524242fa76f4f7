"""The font PDFs are written in. Anime credits are Japanese (and Chinese, Korean): the PDF core
fonts cover Latin-1 only, so a Unicode TrueType font with CJK glyphs is used when one is
installed (Debian's fonts-ipaexfont-gothic, which ``scripts/setup.sh`` installs, or
``LEDGER_PDF_FONT``). Without one, characters outside Latin-1 print as "?", never as an error.
"""

import os
from pathlib import Path

#: Looked for in this order; the first that exists is used.
CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
)


def unicode_font() -> Path | None:
    """A TrueType font with CJK glyphs, if this machine has one."""
    chosen = os.environ.get("LEDGER_PDF_FONT")
    for candidate in ([chosen] if chosen else []) + list(CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def latin1(text: str) -> str:
    """What the core fonts can print of ``text``."""
    return text.encode("latin-1", "replace").decode("latin-1")
