"""`ServerSettings`: what `llmpulse serve` is configured with (flags or LLMPULSE_* variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PORT = 7600
DEFAULT_GRPC_PORT = 4317


def default_data_dir() -> Path:
    """The data directory used when none is given: ``~/.llmpulse/data``."""
    return Path.home() / ".llmpulse" / "data"


class ServerSettings(BaseModel):
    """Settings of one server process."""

    model_config = ConfigDict(frozen=True)

    host: str = Field("127.0.0.1", description="Interface to listen on (LLMPULSE_HOST).")
    port: int = Field(DEFAULT_PORT, description="HTTP port for UI, REST and OTLP (LLMPULSE_PORT).")
    grpc_port: int = Field(
        DEFAULT_GRPC_PORT, description="OTLP/gRPC port; 0 turns it off (LLMPULSE_GRPC_PORT)."
    )
    data_dir: Path | None = Field(
        default_factory=default_data_dir,
        description="Data directory; None keeps everything in memory (LLMPULSE_DATA_DIR).",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024,
        description="Largest request body accepted, after decompression (LLMPULSE_MAX_BODY_BYTES).",
    )
    max_queued_spans: int = Field(
        200_000,
        description="Spans awaiting commit before ingest answers 503 (LLMPULSE_MAX_QUEUED_SPANS).",
    )
    max_commit_spans: int = Field(50_000, description="Most spans one group commit takes.")
    decode_workers: int = Field(
        -1,
        ge=-1,
        le=64,
        description="Decode processes; 0 = threads, -1 = auto (LLMPULSE_DECODE_WORKERS).",
    )
    min_free_bytes: int = Field(
        16 * 1024 * 1024,
        ge=0,
        description="Free disk space below which /readyz reports the data directory's disk as "
        "full (LLMPULSE_MIN_FREE_BYTES).",
    )
    backup_dir: Path | None = Field(
        None,
        description="Where `POST /api/v1/admin/backup` writes backups; default `backups` "
        "beside the data directory (LLMPULSE_BACKUP_DIR).",
    )
    ingest_journal: bool = Field(
        True,
        description="Journal every ingest batch beside the event store (synced before the "
        "commit) so a damaged write-ahead log loses no acknowledged span "
        "(LLMPULSE_INGEST_JOURNAL).",
    )
    prices_file: Path | None = Field(
        None, description="YAML PriceTable layered over the shipped prices (LLMPULSE_PRICES)."
    )
