"""Guards around keys and secrets: guessing keys is throttled, the database holding custodial
keystores is private to its owner."""

import stat
from pathlib import Path

import httpx
import pytest

from ledger.api.throttle import FailedAuthThrottle
from ledger.db import make_engine
from ledger.runtime import Ledger
from tests.conftest import Server, client_for


def test_wrong_keys_are_throttled_per_client(ledger: Ledger, holder_key: str) -> None:
    """Regression: 200 wrong keys were answered in 1.9 s, without any limit."""
    ledger.settings.auth_failures_per_minute = 5
    with Server(ledger) as server:
        answers = [httpx.get(f"{server.url}/works", headers={"Authorization": f"Bearer lk_guess_{i}"}).status_code for i in range(8)]
        assert answers[:5] == [401] * 5 and answers[5:] == [429] * 3
        blocked = httpx.get(f"{server.url}/works", headers={"Authorization": "Bearer lk_guess_x"})
        assert 1 <= int(blocked.headers["retry-after"]) <= 60 and "too many invalid API keys" in blocked.json()["detail"]
        with client_for(server, holder_key) as c:  # the client is blocked, whatever key it sends next
            assert c.get("/works").status_code == 429
        assert httpx.get(f"{server.url}/health").status_code == 200  # no key, nothing to throttle


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    now = [0.0]
    throttle = FailedAuthThrottle(limit=3, window_s=60, clock=lambda: now[0], max_clients=2)
    for _ in range(3):
        throttle.failed("a")
    assert throttle.retry_after("a") == 60
    now[0] = 59.5
    assert throttle.retry_after("a") == 0.5
    now[0] = 60.0
    assert throttle.retry_after("a") is None  # the oldest failure left the window
    throttle.failed("b")
    throttle.failed("c")  # only two clients are remembered: the least recent goes
    assert throttle.retry_after("a") is None and len(throttle._failures) == 2


def test_the_sqlite_database_is_private(tmp_path: Path) -> None:
    """Regression: the database holding encrypted custodial keystores was created 0644."""
    db = tmp_path / "data" / "ledger.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    db.chmod(0o644)  # a database made by an earlier version is tightened on the next start
    make_engine(f"sqlite:///{db}").dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_decrypted_custodial_keys_are_kept_for_a_bounded_time() -> None:
    """The signer cache decrypts a keystore once per time-to-live (the clock is the test's), and
    keeps at most its size, by address: a key is kept only if it is that address's own."""
    from eth_account import Account

    from ledger.chain.keys import encrypt_key
    from ledger.services import keys

    now = [1000.0]
    cache = keys.SignerCache(ttl_s=60, size=2, clock=lambda: now[0])
    a, b, c = (Account.create() for _ in range(3))
    stores = {acct.address: encrypt_key(acct, "pw") for acct in (a, b, c)}
    calls: list[str] = []
    real = keys.decrypt_key

    def counting(keystore_json: str, password: str):  # type: ignore[no-untyped-def]
        calls.append(keystore_json)
        return real(keystore_json, password)

    keys.decrypt_key = counting  # type: ignore[assignment]
    try:
        assert cache.get(a.address, stores[a.address], "pw").address == a.address
        assert cache.get(a.address, stores[a.address], "pw").address == a.address and len(calls) == 1  # kept
        now[0] += 61
        cache.get(a.address, stores[a.address], "pw")
        assert len(calls) == 2  # expired: decrypted again
        cache.get(b.address, stores[b.address], "pw")
        cache.get(c.address, stores[c.address], "pw")  # a is the oldest of three: dropped
        cache.get(a.address, stores[a.address], "pw")
        assert len(calls) == 5
        other = encrypt_key(Account.create(), "pw")
        assert cache.get(a.address, other, "pw").address == a.address and len(calls) == 5  # the kept key is a's own
        now[0] += 61
        with pytest.raises(ValueError, match="holds the key of"):
            cache.get(a.address, other, "pw")  # a keystore of another key under a's address is refused, never used
    finally:
        keys.decrypt_key = real  # type: ignore[assignment]
