"""Settings for every part of Warmline, read from ``WARMLINE_*`` environment variables and ``.env``.

The defaults are the embedded mode: everything lives under ``data_dir`` (SQLite file, Chroma
files, uploads), so a fresh directory is a fresh company. The distributed profile sets
``database_url``, ``redis_url`` and ``chroma_url`` instead; no code path branches on anything else.
Settings are built once by a composition root (CLI, app factory) and passed down, never read
from the environment inside domain code.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WARMLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in data_dir"
    )
    redis_url: str | None = None
    chroma_url: str | None = Field(default=None, description="Chroma server URL; default embedded files")
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    log_json: bool = True

    secret_key: SecretStr | None = Field(
        default=None, description="token signing key; default a random key kept in data_dir"
    )
    token_ttl: timedelta = timedelta(hours=12)

    # Language model: unset base URL means the offline policy backend.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "qwen2.5-7b-instruct"
    llm_timeout_s: float = 30.0
    # A token placed in the system prompt; replies carrying it are blocked (agent/guard.py). Random
    # unless set (each worker then has its own); an empty value turns the canary off.
    prompt_canary: str = Field(default_factory=lambda: f"wl-{secrets.token_hex(8)}")
    # Consumption caps per conversation: messages a resident may send per minute, and their length.
    chat_rate_per_minute: int = Field(default=20, ge=1)
    max_input_chars: int = Field(default=2000, ge=1)
    # Turns one process works on at once (agent/limits.TurnGate); the rest wait their turn in order.
    turn_concurrency: int = Field(default=8, ge=1)
    reply_link_hosts: list[str] = Field(
        default_factory=list,
        description="hosts bot replies may link to (subdomains included); other links are removed",
    )
    embedding_model_dir: Path | None = Field(
        default=None, description="sentence-transformers model directory; default bundled e5"
    )

    # Service levels: minutes from acceptance to a worker on site, per urgency label.
    sla_minutes: dict[str, int] = {"emergency": 60, "high": 240, "normal": 1440, "low": 2880}
    building_alert_threshold: int = 3
    building_alert_window: timedelta = timedelta(hours=2)
    # Dispatch: assign a worker as soon as a ticket is opened; routing's travel model and limits.
    auto_dispatch: bool = True
    sla_at_risk_minutes: int = 30
    dispatch_speed_kmh: float = 20.0
    routing_time_limit_s: float = 1.0
    upload_max_bytes: int = 5 * 1024 * 1024
    # Chat event streams look at the resident's tickets this often (seconds) for progress to push.
    chat_ticket_poll_s: float = 3.0
    # Conversations: closed after this long without a message (unless a resident waits for a human);
    # a WeChat resident writing within the reopen window continues the closed one, later a new one.
    conversation_auto_close_hours: float = Field(default=4.0, gt=0)
    conversation_reopen_hours: float = Field(default=48.0, ge=0)
    # Retention (PIPL Art. 19): chat content, photos and survey answers older than this are purged
    # (tools/retention.py); the audit log is kept. One season plus its complaint/follow-up period.
    retention_days: int = Field(default=365, ge=1)

    # Jobs: "inprocess" (the scheduler in the API process, or in ``warmline worker`` when Redis is
    # set) or "celery" (``warmline worker`` is a Celery worker, ``warmline beat`` the scheduler).
    job_engine: Literal["inprocess", "celery"] = "inprocess"
    celery_broker_url: str | None = Field(default=None, description="default: redis_url")

    wechat_token: str = "warmline"
    wechat_app_id: str = "wx0000000000000000"
    wechat_app_secret: SecretStr = SecretStr("")
    wechat_aes_key: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_templates: dict[str, str] = Field(
        default_factory=dict,
        description='template ids per outbox kind for the 48 h window fallback, e.g. {"survey": "..."}',
    )
    pay_mch_id: str = "1900000001"
    pay_api_key: SecretStr = SecretStr("warmline-demo-pay-key-32-chars-0")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        """The async SQLAlchemy URL the service uses."""
        if self.database_url:
            return to_async_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'warmline.db').resolve()}"

    @property
    def sync_database_url(self) -> str:
        """The same database for sync users (Alembic, LangGraph's checkpointers)."""
        return to_sync_url(self.effective_database_url)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @cached_property
    def signing_key(self) -> str:
        """The configured key, or one generated once per data directory (so tokens survive restarts)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        self.ensure_dirs()
        path = self.data_dir / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.chroma_dir, self.uploads_dir):
            path.mkdir(parents=True, exist_ok=True)


_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _split_scheme(url: str) -> tuple[str, str]:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    backend = scheme.split("+", 1)[0]
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
    return backend, rest


def to_async_url(url: str) -> str:
    backend, rest = _split_scheme(url)
    return f"{_ASYNC_DRIVERS[backend]}://{rest}"


def to_sync_url(url: str) -> str:
    backend, rest = _split_scheme(url)
    return f"{_SYNC_DRIVERS[backend]}://{rest}"
