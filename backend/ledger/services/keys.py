"""API keys and onboarding of on-chain participants.

Rights holders' and platforms' keys are tied to an on-chain account: the one that owns and
manages works, or registers models and outputs. In custodial mode (default) the ledger creates
that account and keeps its key encrypted; otherwise the participant names their own address and
signs for themselves. Either way the operator grants the account its role on the contracts
(RIGHTS_HOLDER_ROLE on WorkRegistry; PLATFORM_ROLE on ModelRegistry, OutputRegistry and
UsageAnchor; ACCOUNTANT_ROLE on RoyaltyDistributor, which publishes statements; a holder's
CLAIMANT_ROLE and an arbiter's ARBITER_ROLE on DisputeRegistry, and ARBITER_ROLE on WorkRegistry
and OutputRegistry to carry out upheld disputes; ENROLLER_ROLE on ProductionRecords for holders
and platforms, who enrol the devices that record production).
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address
from sqlalchemy import Connection, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from ledger.chain.keys import decrypt_key, encrypt_key, keystore_password
from ledger.db import session_scope
from ledger.models import ApiKey, CustodialAccount, Role
from ledger.runtime import Ledger
from ledger.services.errors import Forbidden, InvalidInput

KEY_PREFIX = "lk"


@dataclass(frozen=True)
class IssuedKey:
    """The only time the secret is visible; afterwards only its hash exists."""

    token: str
    role: Role
    holder_address: str | None
    custodial: bool


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


#: The on-chain roles each API role's account is granted, per contract.
ONCHAIN_ROLES: dict[Role, list[tuple[str, bytes]]] = {
    Role.rights_holder: [
        ("WorkRegistry", keccak(text="RIGHTS_HOLDER_ROLE")),
        ("DisputeRegistry", keccak(text="CLAIMANT_ROLE")),
        ("ProductionRecords", keccak(text="ENROLLER_ROLE")),
    ],
    Role.platform: [
        ("ModelRegistry", keccak(text="PLATFORM_ROLE")),
        ("OutputRegistry", keccak(text="PLATFORM_ROLE")),
        ("UsageAnchor", keccak(text="PLATFORM_ROLE")),
        ("ProductionRecords", keccak(text="ENROLLER_ROLE")),
    ],
    Role.accountant: [("RoyaltyDistributor", keccak(text="ACCOUNTANT_ROLE"))],
    Role.arbiter: [
        ("DisputeRegistry", keccak(text="ARBITER_ROLE")),
        ("WorkRegistry", keccak(text="ARBITER_ROLE")),
        ("OutputRegistry", keccak(text="ARBITER_ROLE")),
    ],
}


def _onboard(ledger: Ledger, role: Role, address: str | None) -> tuple[str, bool]:
    """The on-chain account for a key of ``role`` (the given address, or a new custodial one) with
    its roles granted on the contracts; returns (address, custodial)."""
    if address is not None:
        if not is_address(address):
            raise InvalidInput(f"not an Ethereum address: {address!r}")
        holder, custodial = to_checksum_address(address), False
    else:
        account: LocalAccount = Account.create()
        holder, custodial = account.address, True
        with session_scope(ledger.engine) as s:
            s.add(CustodialAccount(address=holder, keystore_json=encrypt_key(account, keystore_password(ledger.settings))))
    contracts = ledger.indexed_contracts
    for name, onchain_role in ONCHAIN_ROLES[role]:
        if not contracts[name].functions.hasRole(onchain_role, holder).call():
            ledger.sender.send(ledger.call(name, "grantRole", onchain_role, holder))
    return holder, custodial


def ensure_onchain_account(ledger: Ledger, key: ApiKey) -> ApiKey:
    """A key whose role acts on chain but that was issued before the role did (accountant keys
    before statements existed) gets a custodial account with its roles, on first use."""
    if key.holder_address is not None or key.role not in ONCHAIN_ROLES:
        return key
    holder, custodial = _onboard(ledger, key.role, None)
    with session_scope(ledger.engine) as s:
        row = s.get_one(ApiKey, key.id)
        row.holder_address, row.custodial = holder, custodial
        s.flush()
        s.refresh(row)
        s.expunge(row)
    return row


def create_api_key(ledger: Ledger, role: Role, label: str = "", address: str | None = None) -> IssuedKey:
    holder: str | None = None
    custodial = False
    if role in ONCHAIN_ROLES:
        holder, custodial = _onboard(ledger, role, address)
    elif address is not None:
        raise InvalidInput("an address only applies to rights_holder, platform and accountant keys")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    with session_scope(ledger.engine) as s:
        s.add(ApiKey(prefix=prefix, secret_hash=_hash(secret), role=role, label=label, holder_address=holder, custodial=custodial))
    return IssuedKey(f"{KEY_PREFIX}_{prefix}_{secret}", role, holder, custodial)


_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
#: Built once: every request authenticates, and building the ORM query and loading its entity
#: cost about a third of the lookup.
_BY_PREFIX = sa_select(_KEYS).where(_KEYS.c.prefix == bindparam("prefix"))


def authenticate(db: Session | Connection, token: str) -> ApiKey | None:
    """The live key ``token`` is, or None. The key comes back detached (read its fields)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    conn = db.connection() if isinstance(db, Session) else db
    row = conn.execute(_BY_PREFIX, {"prefix": parts[1]}).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, _hash(parts[2])):
        return None
    return ApiKey(**row._mapping)


def revoke_api_key(ledger: Ledger, prefix: str) -> None:
    with session_scope(ledger.engine) as s:
        key = s.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if key is None:
            raise InvalidInput(f"no API key with prefix {prefix!r}")
        key.revoked_at = datetime.now(timezone.utc)


class SignerCache:
    """Decrypted custodial keys, kept for a bounded time: the keystore's PBKDF2 costs about 21 ms
    a decryption, paid by every write otherwise. At most ``size`` keys, each for ``ttl_s``
    seconds of ``clock`` (injectable, so tests control time)."""

    def __init__(self, ttl_s: float = 300.0, size: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.size, self.clock = ttl_s, size, clock
        self._kept: OrderedDict[str, tuple[LocalAccount, float]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, address: str) -> LocalAccount | None:
        """The key of ``address`` if it is kept, without reading its keystore (an address is its
        key's: whichever keystore holds it decrypts to the same key)."""
        now = self.clock()
        with self._lock:
            hit = self._kept.get(address)
            if hit is not None and hit[1] > now:
                self._kept.move_to_end(address)
                return hit[0]
        return None

    def get(self, address: str, keystore_json: str, password: str) -> LocalAccount:
        hit = self.cached(address)
        if hit is not None:
            return hit
        account = decrypt_key(keystore_json, password)
        if account.address != address:
            raise ValueError(f"the keystore kept for {address} holds the key of {account.address}")
        now = self.clock()
        with self._lock:
            self._kept[address] = (account, now + self.ttl_s)
            self._kept.move_to_end(address)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return account


SIGNERS = SignerCache()


def custodial_signer(ledger: Ledger, key: ApiKey) -> LocalAccount:
    if not key.custodial or key.holder_address is None:
        raise Forbidden("this key's holder signs for themselves; the ledger holds no key for it")
    cached = SIGNERS.cached(key.holder_address)
    if cached is not None:
        return cached
    with Session(ledger.engine) as s:
        row = s.get(CustodialAccount, key.holder_address)
    if row is None:
        raise Forbidden(f"no custodial key for {key.holder_address}")
    return SIGNERS.get(key.holder_address, row.keystore_json, keystore_password(ledger.settings))
