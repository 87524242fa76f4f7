"""Private keys: from the environment or V3 keystore files, never from the repository.

On a local development chain the ledger creates its operator key itself (a keystore in the data
directory) so that the README's single command works on a fresh machine; for any other chain the
operator must supply ``LEDGER_OPERATOR_KEY`` or ``LEDGER_OPERATOR_KEYSTORE``.
"""

import json
import os
import secrets
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger.config import Settings

#: PBKDF2 keeps decrypting fast enough for a custodial key per request while still being a real KDF.
_KDF = "pbkdf2"
_ITERATIONS = 100_000


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def keystore_password(settings: Settings) -> str:
    """The password for keystores the ledger creates: from the environment, else a random one kept
    (mode 0600) in the data directory for local use."""
    if settings.keystore_password is not None:
        return settings.keystore_password.get_secret_value()
    path = settings.keys_dir / ".password"
    if not path.exists():
        try:
            _write_private(path, secrets.token_urlsafe(32))
        except FileExistsError:
            pass
    return path.read_text().strip()


def encrypt_key(account: LocalAccount, password: str) -> str:
    return json.dumps(Account.encrypt(account.key, password, kdf=_KDF, iterations=_ITERATIONS))


def decrypt_key(keystore_json: str, password: str) -> LocalAccount:
    return Account.from_key(Account.decrypt(keystore_json, password))


def load_keystore(path: Path, password: str) -> LocalAccount:
    return decrypt_key(path.read_text(), password)


def create_keystore(path: Path, password: str) -> LocalAccount:
    account: LocalAccount = Account.create()
    _write_private(path, encrypt_key(account, password))
    return account


def operator_account(settings: Settings, *, create: bool = False) -> LocalAccount:
    """The account that deploys, administers roles and relays signed registrations."""
    if settings.operator_key is not None:
        return Account.from_key(settings.operator_key.get_secret_value())
    password = keystore_password(settings)
    path = settings.operator_keystore or settings.keys_dir / "operator.json"
    if path.exists():
        return load_keystore(path, password)
    if not create:
        raise RuntimeError(
            f"no operator key: set LEDGER_OPERATOR_KEY or LEDGER_OPERATOR_KEYSTORE (looked for {path})"
        )
    return create_keystore(path, password)
