"""The production record's EIP-712 types live with the recorder devices run (``ledger_recorder``,
importable without the ledger); the ledger checks records with the very same code."""

from ledger_recorder.typed import (  # noqa: F401
    ACTIONS, ALL_ACTIONS, DOMAIN_NAME, DOMAIN_VERSION, ENROLMENT_TYPE, MAX_INPUTS, MAX_TOOL, RECORD_TYPE, BadSignature, Record,
    checksum, domain_separator, enrolment_digest, keccak, record_digest, recover, sign, typed_data, typed_envelope,
)
