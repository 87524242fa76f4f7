"""Errors services raise; the API maps each to an HTTP status, the CLI to a message and exit code."""


class LedgerError(Exception):
    """Any refusal a caller can act on; ``status`` is its HTTP answer, ``extra`` joins the body."""

    status = 400

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(LedgerError):
    """The request is well formed but its content is wrong (a bad field, line or combination)."""

    status = 422


class NotFound(LedgerError):
    """The work, model, output, statement or key named does not exist here."""

    status = 404


class Conflict(LedgerError):
    """The request clashes with what is on record (registered already, period closed, id reused)."""

    status = 409


class Forbidden(LedgerError):
    """The key may not do this: wrong role, or another participant's resource."""

    status = 403


class TooLarge(LedgerError):
    """An upload or field is larger than the ledger's stated limit."""

    status = 413


class Unavailable(LedgerError):
    """A part the ledger needs (the chain, the content store) does not answer right now."""

    status = 503
