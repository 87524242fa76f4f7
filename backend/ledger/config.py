"""All runtime settings in one place, read from the environment (prefix ``LEDGER_``) or ``.env``."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger import PROJECT_ROOT


class Settings(BaseSettings):
    """Settings with embedded defaults: a SQLite file and a local anvil, both under ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Where chain state, blocks, keys and the DB live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/ledger.db.")
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int | None = Field(default=None, ge=1, description="The chain the node at rpc_url must be; another is refused (default: whichever it is).")
    chain_port: int = 8545
    #: Operator (relayer/admin) key: a hex private key, or a V3 keystore file plus its password.
    operator_key: SecretStr | None = None
    operator_keystore: Path | None = None
    keystore_password: SecretStr | None = Field(
        default=None, description="Encrypts keystores the ledger creates (operator on a dev chain, custodial holders)."
    )
    deployment_file: Path | None = Field(default=None, description="Deployment record; default <data_dir>/deployments/<chain id>.json.")
    ipfs_api_url: str | None = Field(default=None, description="Kubo RPC multiaddr, e.g. /ip4/127.0.0.1/tcp/5001/http.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(default=1, ge=1, le=64, description="API processes `ledger up` starts (more than one needs PostgreSQL).")
    api_background: bool = Field(
        default=True, description="This API process polls the indexer and anchors evidence; `ledger up` turns it off in its workers and does it once itself.",
    )
    log_chunk_blocks: int = Field(default=5000, description="Block span of one eth_getLogs call while indexing.")
    index_interval_s: float = Field(default=1.0, description="Pause between indexer polls in the API process.")
    max_upload_bytes: int = Field(default=256 * 1024 * 1024, description="Largest file upload (a work's file, a usage report).")
    max_json_bytes: int = Field(default=32 * 1024 * 1024, description="Largest JSON request body (a 100,000-line usage report fits).")
    auth_failures_per_minute: int = Field(default=20, ge=1, description="Invalid API keys one client may send per minute before it is answered 429.")
    max_json_depth: int = Field(default=32, ge=4, description="Deepest nesting of a JSON body or metadata document.")
    max_fingerprint_pixels: int = Field(default=64_000_000, ge=1, description="Largest picture (width x height) the ledger decodes to fingerprint; larger ones are refused (422).")
    evidence_anchor_interval_s: float = Field(default=60.0, ge=0, description="How often the API anchors new evidence reports on chain as one batch (0: never; `ledger evidence anchor` does it by hand).")
    image_embedding_model: Path | None = Field(
        default=None,
        description="An ONNX image encoder on disk (taking [N, 3, H, W]) to run as an extra similarity method beside the perceptual "
        "hashes (needs the `embedding` extra: onnxruntime). Nothing is downloaded; unset: perceptual methods only.",
    )
    c2pa_cert_chain: Path | None = Field(default=None, description="PEM certificate chain (leaf first) the ledger signs C2PA manifests with.")
    c2pa_private_key: Path | None = Field(default=None, description="PEM private key (EC P-256) of the C2PA signing certificate.")
    c2pa_trust_anchors: Path | None = Field(default=None, description="PEM root certificates uploaded files' C2PA manifests are judged against.")
    one_creator_share_bps: int = Field(
        default=5000, ge=1, le=10_000,
        description="A fine-tune whose own training set is at least this share (basis points, by work count) one holder's works is "
        "aimed at that holder: the clean-model audit flags it and needs that holder's creator_finetune use.",
    )
    similarity_k: int = Field(default=10, ge=1, le=100, description="Neighbours a similarity search returns by default.")
    platform_share_bps: int = Field(default=3000, ge=0, le=10_000, description="Platform's share of reported revenue, in basis points.")
    reserve_bps: int = Field(
        default=0, ge=0, le=10_000,
        description="Reserve against refunds: the share of each positive statement entry withheld (basis points, rounded down); 0: none.",
    )
    reserve_release_after: int = Field(
        default=2, ge=1, le=120, description="A reserve withheld by a statement is released by the statement this many statements later in its currency."
    )
    max_outputs_per_tx: int = Field(default=1000, description="Outputs per registerOutputs transaction (fit the chain's gas limit).")
    finality_depth: int = Field(default=12, ge=0, description="Blocks below the head after which /health reports a block as final (reorgs deeper than this are not expected).")
    chain_state_file: Path | None = Field(
        default=None, description="The local anvil's --state file: written before every write is answered (set by `ledger up` when it starts anvil)."
    )
    confirmations: int = Field(default=1, ge=1, description="Blocks that must include a transaction before a write is answered 201 (1: mined).")
    tx_bump_after_s: float = Field(default=30.0, gt=0, description="A transaction not mined after this long is re-sent with higher fees (same nonce).")
    tx_max_fee_per_gas: int | None = Field(default=None, gt=0, description="Wei per gas the ledger never offers more than (None: no cap).")
    signature_ttl_s: int = Field(default=3600, description="Lifetime (deadline) of the forward requests the ledger signs or prepares.")
    relay_gather_ms: float = Field(
        default=10.0, ge=0, le=1000,
        description="Under load, how long a relayed transaction waits for more concurrent writes to join it (0: never; a lone write never waits).",
    )  # fmt: skip
    relay_overlap_ms: float = Field(
        default=500.0, ge=0, le=60_000,
        description="How long a relayed transaction sent and not yet mined holds back the next one; then both are in flight (0: never held back).",
    )  # fmt: skip
    operation_keep_days: int = Field(
        default=30, ge=1, le=36_500,
        description="How long the outcome of a write answered 202 (`Prefer: respond-async`) stays readable at /operations/{id} once done; older ones are removed at start.",
    )  # fmt: skip

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ledger.db'}"

    def deployment_record(self, chain_id: int) -> Path:
        """Where the contracts' addresses on chain ``chain_id`` are recorded: one file per chain, so
        pointing ``rpc_url`` at another chain deploys there without touching the first's record."""
        return self.deployment_file or self.data_dir / "deployments" / f"{chain_id}.json"

    @property
    def legacy_deployment_record(self) -> Path:
        """The single record data directories had before records were per chain."""
        return self.data_dir / "deployment.json"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def blocks_dir(self) -> Path:
        return self.data_dir / "blocks"

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def similarity_dir(self) -> Path:
        """The nearest-neighbour indexes, one file per method: a cache rebuilt from the database."""
        return self.data_dir / "similarity"

    @property
    def outbox_path(self) -> Path:
        """Signed transactions before broadcast: the signer's own state, beside its keystore."""
        return self.keys_dir / "outbox.db"


@lru_cache
def get_settings() -> Settings:
    """Process-wide settings; tests build their own ``Settings`` and pass them explicitly."""
    return Settings()
