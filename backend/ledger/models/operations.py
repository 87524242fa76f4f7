"""Writes a caller chose not to wait for (``Prefer: respond-async``): answered 202 at once, run in
the background, and their outcome kept here for ``GET /operations/{id}``."""

from datetime import datetime, timezone

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel


class Operation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)  # random hex: not guessable, not sequential
    key_id: int = Field(index=True)  # the API key that started it: only it (or an admin) reads it
    kind: str = Field(max_length=50)  # e.g. "register_works"
    status: str = Field(max_length=16)  # running, done, interrupted (the process stopped before it finished)
    http_status: int | None = None  # what the synchronous request would have answered
    body: str | None = Field(default=None, sa_column=Column(Text))  # that answer's JSON
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    finished_at: datetime | None = None
