"""`ServerSettings`: what `llmpulse serve` is configured with (flags or LLMPULSE_* variables)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from llmpulse.store.memory import DEFAULT_MEMORY_LIMIT, is_memory_limit

DEFAULT_PORT = 7600
DEFAULT_GRPC_PORT = 4317


def is_loopback_host(host: str) -> bool:
    """True for an interface only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
        description=(
            "Largest OTLP/HTTP or OTLP/gRPC body accepted, before and after decompression "
            "(LLMPULSE_MAX_BODY_BYTES)."
        ),
    )
    max_rest_body_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1,
        description="Largest REST or UI request body; larger ones get 413 "
        "(LLMPULSE_MAX_REST_BODY_BYTES).",
    )
    max_inflight_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1,
        description="Request body bytes held at once (read, decoding or awaiting commit); beyond "
        "it requests get 503 + Retry-After before their body is read "
        "(LLMPULSE_MAX_INFLIGHT_BYTES).",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has to send a request's headers (LLMPULSE_HEADER_TIMEOUT).",
    )
    body_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Seconds a client has to send a request's body once its headers arrived "
        "(LLMPULSE_BODY_TIMEOUT).",
    )
    max_connections: int = Field(
        1000,
        ge=8,
        description="Open HTTP connections; past it the longest-idle one is closed "
        "(LLMPULSE_MAX_CONNECTIONS).",
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
    allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Host header names accepted besides localhost, 127.0.0.1, ::1 and the bind "
        "address; * accepts any (LLMPULSE_ALLOWED_HOSTS, comma-separated).",
    )
    insecure: bool = Field(
        False,
        description="Serve a non-loopback interface with no API key (LLMPULSE_INSECURE).",
    )
    session_hours: float = Field(
        12.0, gt=0, description="Lifetime of a UI login (LLMPULSE_SESSION_HOURS)."
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
    search_index: bool = Field(
        True,
        description="Keep the term → block search index behind ingest, so a search reads only "
        "the blocks that can match (LLMPULSE_SEARCH_INDEX; ADR 0038).",
    )
    memory_limit: str = Field(
        DEFAULT_MEMORY_LIMIT,
        description="The event store's buffer pool bound, shared by ingest and every query "
        "(DuckDB's memory_limit: 512MB, 2GB; LLMPULSE_MEMORY_LIMIT).",
    )
    prices_file: Path | None = Field(
        None, description="YAML PriceTable layered over the shipped prices (LLMPULSE_PRICES)."
    )
    monitors_file: Path | None = Field(
        None,
        description="YAML file of `kind: Monitor` manifests the scheduler evaluates, re-read "
        "when it changes (LLMPULSE_MONITORS_FILE).",
    )
    scheduler: bool = Field(
        True,
        description="Evaluate monitors and deliver alert notifications in this process "
        "(LLMPULSE_SCHEDULER).",
    )
    retention_interval_s: float = Field(
        3600.0,
        gt=0,
        description="Seconds between retention rounds, which drop each project's spans older "
        "than its retention days (LLMPULSE_RETENTION_INTERVAL_S).",
    )

    @field_validator("memory_limit")
    @classmethod
    def _a_size(cls, value: str) -> str:
        if not is_memory_limit(value):
            raise ValueError(f"{value!r} is not a size such as 512MB or 2GB")
        return value

    def host_names(self) -> frozenset[str]:
        """Names the ``Host`` header may carry (lower case, no port)."""
        names = {"localhost", "127.0.0.1", "::1", self.host.strip("[]").lower()}
        names.update(h.strip().lower() for h in self.allowed_hosts if h.strip())
        return frozenset(names)

    def open_allowed(self) -> bool:
        """Whether the server may serve without any API key (loopback, or ``insecure``)."""
        return self.insecure or is_loopback_host(self.host)
