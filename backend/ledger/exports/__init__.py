"""Statement writers, one module per format, all fed by the same ``StatementView`` (the statement
document, optionally narrowed to one holder), so every format shows the same amounts."""

from ledger.exports.view import StatementView
from ledger.exports.writers import FORMATS, render

__all__ = ["FORMATS", "StatementView", "render"]
