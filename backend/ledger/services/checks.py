"""A verifier's list of checks: each runs, records whether it passed and why, and never stops
the others (a malformed document or an RPC failure is a failed check with its reason). Shared by
the statement and provenance verifiers, whose answers read the same."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class Checks:
    def __init__(self) -> None:
        self.results: list[Check] = []

    def check(self, name: str, test: Callable[[], tuple[bool, str]]) -> bool:
        try:
            ok, detail = test()
        except Exception as exc:  # a failed check, with its reason: the verifier goes on
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        self.results.append(Check(name, ok, detail))
        return ok
