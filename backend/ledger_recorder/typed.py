"""The EIP-712 types of production records and device enrolments, hashed and checked fast.

A device signs each record itself, in the ``ProductionRecords`` contract's domain; the record's
identity is its EIP-712 digest (``record_hash``): the same record always has the same hash, so a
retried submission is recognised, and the digest is what batches anchor. Hashing is done here
with keccak directly (``safe-pysha3``, six times faster per call than pycryptodome, the
default of eth-hash) and signatures are recovered with libsecp256k1 (``coincurve``): the general
EIP-712 encoder of eth-account runs at a few thousand records a second, too slow for a studio's
render farm. ``tests/test_production_records.py`` checks every digest against eth-account's.
"""

from dataclasses import dataclass
from functools import lru_cache

import coincurve
from sha3 import keccak_256


def keccak(data: bytes) -> bytes:
    return keccak_256(data).digest()


@lru_cache(maxsize=4096)
def _text_hash(text: str) -> bytes:
    """keccak of a string field: tools and versions repeat across a device's records."""
    return keccak(text.encode())


@lru_cache(maxsize=65_536)
def checksum(address: bytes | str) -> str:
    """EIP-55 checksummed address (20 bytes, or hex); cached: the same few devices and authors
    sign almost every record."""
    raw = address.hex() if isinstance(address, bytes) else address.lower().removeprefix("0x")
    if len(raw) != 40:
        raise ValueError(f"an address is 20 bytes, not {raw!r}")
    digest = keccak(raw.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(raw))

DOMAIN_NAME = "AI Rights Ledger Records"  # at most 31 bytes: OpenZeppelin EIP712 keeps it as a short string
DOMAIN_VERSION = "1"
ACTIONS = ("create", "edit", "generate", "import", "export")  # scope bit of action i: 1 << i
ALL_ACTIONS = (1 << len(ACTIONS)) - 1
MAX_INPUTS = 256
MAX_TOOL = 200

RECORD_TYPE = (
    "ProductionRecord(uint8 action,bytes32 contentHash,bytes32[] inputs,string tool,string toolVersion,"
    "uint64 modelId,address author,uint64 createdAt,bytes32 promptHash)"
)
ENROLMENT_TYPE = "DeviceEnrolment(address owner,uint16 scope,uint40 expiresAt)"
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
RECORD_TYPEHASH = keccak(RECORD_TYPE.encode())
ENROLMENT_TYPEHASH = keccak(ENROLMENT_TYPE.encode())
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadSignature(ValueError):
    """A signature that is not 65 bytes, is malleable (high s), or recovers no key."""


@dataclass(frozen=True)
class Record:
    action: int  # index into ACTIONS
    content_hash: bytes  # 32 bytes: SHA-256 of the resulting file
    inputs: tuple[bytes, ...]  # 32 bytes each: SHA-256 of each input file, in the order the tool used them
    tool: str
    tool_version: str
    model_id: int  # 0 unless AI generated it with a registered model
    author: bytes  # 20 bytes: the account of the person at the device
    created_at: int  # unix seconds, by the device's clock
    prompt_hash: bytes = bytes(32)  # SHA-256 of a generation's prompt (zero: none); the text stays on the device


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def domain_separator(chain_id: int, contract: str) -> bytes:
    return keccak(
        keccak(DOMAIN_TYPE.encode()) + keccak(DOMAIN_NAME.encode()) + keccak(DOMAIN_VERSION.encode())
        + _word(chain_id) + bytes(12) + bytes.fromhex(contract[2:])
    )  # fmt: skip


def struct_hash(r: Record) -> bytes:
    return keccak(
        RECORD_TYPEHASH + _word(r.action) + r.content_hash + keccak(b"".join(r.inputs)) + _text_hash(r.tool)
        + _text_hash(r.tool_version) + _word(r.model_id) + bytes(12) + r.author + _word(r.created_at) + r.prompt_hash
    )  # fmt: skip


def record_digest(domain: bytes, r: Record) -> bytes:
    """The record's EIP-712 digest: what the device signs, and the record's identity."""
    return keccak(b"\x19\x01" + domain + struct_hash(r))


def enrolment_digest(domain: bytes, owner: str, scope: int, expires_at: int) -> bytes:
    body = keccak(ENROLMENT_TYPEHASH + bytes(12) + bytes.fromhex(owner[2:]) + _word(scope) + _word(expires_at))
    return keccak(b"\x19\x01" + domain + body)


def recover(digest: bytes, signature: bytes) -> str:
    """The checksummed address that signed ``digest`` (r ‖ s ‖ v, v 27/28 or 0/1; low s only,
    as OpenZeppelin's ECDSA requires, so a record has one valid signature form per key)."""
    if len(signature) != 65:
        raise BadSignature("a signature is 65 bytes: r, s, v")
    v = signature[64]
    if v >= 27:
        v -= 27
    s = int.from_bytes(signature[32:64], "big")
    if v not in (0, 1) or not 0 < s <= _SECP256K1_N // 2:
        raise BadSignature("signature v must be 27 or 28 and s in the lower half of the curve order")
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes([v]), digest, hasher=None)
    except Exception as exc:  # libsecp256k1 refuses points off the curve in its own exception type
        raise BadSignature("the signature recovers no public key") from exc
    return checksum(keccak(key.format(compressed=False)[1:])[-20:])


def sign(private_key: bytes, digest: bytes) -> bytes:
    """r ‖ s ‖ v (v 27/28), low s: what devices send (the recorder client signs with this)."""
    raw = coincurve.PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def _fields(type_string: str) -> list[dict[str, str]]:
    """EIP-712 field list from an encodeType string such as ``Name(uint16 a,address b)``."""
    inside = type_string[type_string.index("(") + 1 : -1]
    return [{"name": n, "type": t} for t, n in (p.split(" ") for p in inside.split(","))]


def typed_envelope(primary: str, type_string: str, chain_id: int, contract: str, message: dict[str, object]) -> dict[str, object]:
    """EIP-712 typed data in this domain (records, device enrolments), for wallets and other
    languages' signers: one place states the domain."""
    return {
        "types": {"EIP712Domain": _fields(DOMAIN_TYPE), primary: _fields(type_string)},
        "primaryType": primary,
        "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": contract},
        "message": message,
    }


def typed_data(r: Record, chain_id: int, contract: str) -> dict[str, object]:
    """The record as EIP-712 typed data, for wallets and other languages' signers."""
    return typed_envelope("ProductionRecord", RECORD_TYPE, chain_id, contract, {
        "action": r.action, "contentHash": "0x" + r.content_hash.hex(), "inputs": ["0x" + i.hex() for i in r.inputs],
        "tool": r.tool, "toolVersion": r.tool_version, "modelId": r.model_id, "author": checksum(r.author),
        "createdAt": r.created_at, "promptHash": "0x" + r.prompt_hash.hex(),
    })  # fmt: skip


def as_request(r: Record, signature: bytes) -> dict[str, object]:
    """The record as ``POST /records`` takes it."""
    return {
        "action": ACTIONS[r.action], "content_hash": "0x" + r.content_hash.hex(), "inputs": ["0x" + i.hex() for i in r.inputs],
        "tool": r.tool, "tool_version": r.tool_version, "model_id": r.model_id, "author": checksum(r.author),
        "created_at": r.created_at, "prompt_hash": "0x" + r.prompt_hash.hex(), "signature": "0x" + signature.hex(),
    }  # fmt: skip
