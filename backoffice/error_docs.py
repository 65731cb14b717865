"""The error envelope every route may answer with, as OpenAPI documents it.

All 4xx bodies come from the handlers in ``backoffice.app`` (domain errors, validation errors,
Starlette's 404/405), so one ``4XX`` entry per operation describes them truthfully; it also
replaces FastAPI's default ``422 HTTPValidationError``, which is not the shape we send. The schema
is inline JSON rather than a model because FastAPI would document a model under the route's own
media type (``text/plain`` for the WeChat endpoint, ``text/event-stream`` for streams), while the
errors are always JSON.

``allowed_methods`` fills a 405's ``Allow`` header: Starlette lists only the methods of the first
route whose path matched, while a path served by several routes (GET and POST) allows them all.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorOut",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "稳定的错误码，如 not_found、invalid_request"},
                "message": {"type": "string", "description": "可展示给用户的中文说明"},
                "problems": {
                    "type": "array",
                    "description": "请求格式错误时逐项列出（invalid_request）",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {"type": "string"}},
                            "msg": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": (
            "请求被拒绝：未登录 401、无权限 403、不存在 404、状态冲突 409、"
            "格式或业务规则 422（文本含空字符 U+0000 时为 nul_character）、过于频繁 429 等"
        ),
        "content": {"application/json": {"schema": ERROR_SCHEMA}},
    }
}


def allowed_methods(request: Request, fallback: str | None) -> str | None:
    """The documented methods of the path, as OpenAPI matches paths: when a fixed path and a template
    both match (``/campaigns/preview`` and ``/campaigns/{campaign_id}``), the fixed one is the
    resource. Paths outside the schema (pages) keep what Starlette said."""
    path = request.url.path
    best: tuple[int, set[str]] | None = None
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if not re.fullmatch(pattern, path):
            continue
        params = template.count("{")
        methods = {method.upper() for method in operations} & set(_METHODS)
        if best is None or params < best[0]:
            best = (params, methods)
        elif params == best[0]:
            best[1].update(methods)
    if best is None:
        return fallback
    return ", ".join(method for method in _METHODS if method in best[1])
