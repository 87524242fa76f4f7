"""Errors services raise; the API maps each to an HTTP status, the CLI to a message and exit code."""


class LedgerError(Exception):
    status = 400

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(LedgerError):
    status = 422


class NotFound(LedgerError):
    status = 404


class Conflict(LedgerError):
    status = 409


class Forbidden(LedgerError):
    status = 403


class TooLarge(LedgerError):
    """An upload or field is larger than the ledger's stated limit."""

    status = 413


class Unavailable(LedgerError):
    """A part the ledger needs (the chain, the content store) does not answer right now."""

    status = 503
