"""Structured logging with personal data masked on the way out.

structlog renders both structlog and stdlib records (uvicorn, SQLAlchemy, LangGraph) through one
processor chain, so the masking step cannot be bypassed by a library that logs on its own.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from tools.masking import mask_value


def mask_event(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {key: mask_value(value) for key, value in event_dict.items()}


def _render_exception_then_mask(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    # Tracebacks quote local values (a message text, a phone): render them first, then mask.
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    return mask_event(logger, method, event_dict)


def configure_logging(*, level: str = "INFO", json: bool = True, stream: Any = None) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.PositionalArgumentsFormatter(),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _render_exception_then_mask,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # wechatpy logs its signing string, API key included, at DEBUG: never let that through; aiosqlite
    # logs every statement with its parameters (password hashes, raw checkpoint transcripts).
    for noisy in ("httpx", "httpcore", "chromadb", "jieba", "urllib3", "wechatpy", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Every record goes through the one masking handler: an earlier uvicorn Config (its own dictConfig,
    # log_level, access_log=False) gives its loggers handlers, levels or no propagation of their own.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server = logging.getLogger(name)
        server.handlers, server.propagate, server.disabled = [], True, False
        server.setLevel(logging.NOTSET)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
