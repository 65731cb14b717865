"""Two server-side guards that hold even when the model is fully hijacked by a prompt injection.

1. ``refuse_undeclared_arguments`` (a ToolNode call wrapper): a tool call carrying an argument the
   tool does not declare (``account_no``, ``resident_id``, ``phone``, ``role``...) is refused, not
   run. Tools already take identity only from the server-side context, so such an argument could
   never pick the account; refusing the call keeps an injection that means "for account X" from
   silently acting on the bound resident instead (a 报停 or payment order nobody asked for).
2. ``leaks_system_prompt`` / ``screen_turn``: a reply carrying the system prompt's canary token or
   a verbatim run of its fixed text is replaced by a safe Chinese reply. Matching survives
   whitespace, punctuation, zero-width and full-width tricks, reversal, and base64/hex/\\u escapes.
   The prompt is not a secret (OWASP LLM07 2025) and a paraphrase gets through; what this stops is
   the canary (a leak detector operators can alert on) and copy-outs of the rules.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent.prompts.system import CANARY_LINE, SYSTEM_PROMPT
from tools.logging import get_logger

log = get_logger(__name__)

SAFE_REPLY = "抱歉，这个问题我不能回答。我可以帮您查询账单、缴费、报修或解答供暖相关的问题。"
SHINGLE = 16  # normalised characters; legit replies and KB passages share at most ~8 with the prompt
_B64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){16,}")
_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4})+")


# --- 1. tool arguments ------------------------------------------------------------------------


def declared_arguments(tool: BaseTool) -> frozenset[str]:
    """The argument names the model may send (injected ones such as ``config`` excluded)."""
    schema = tool.tool_call_schema
    if isinstance(schema, dict):
        return frozenset(schema.get("properties", {}))
    return frozenset(schema.model_fields)


def undeclared_refusal(call: dict[str, Any], tool: BaseTool | None) -> ToolMessage | None:
    if tool is None:
        return None  # an unknown tool: ToolNode answers with its own error
    extra = sorted(set(call.get("args") or {}) - declared_arguments(tool))
    if not extra:
        return None
    log.warning("tool_call_refused", tool=call["name"], arguments=extra)
    return ToolMessage(
        content=(
            f"错误：不接受参数 {'、'.join(extra)}。业务工具只办理本会话已绑定住户本人的业务，"
            "不能指定户号、住户、手机号或角色；不要代他人办理，请不带这些参数重新调用或直接答复住户。"
        ),
        name=call["name"],
        tool_call_id=call["id"],
        status="error",
    )


def refuse_undeclared_arguments_sync(request: Any, execute: Callable[[Any], Any]) -> Any:
    return undeclared_refusal(request.tool_call, request.tool) or execute(request)


async def refuse_undeclared_arguments(request: Any, execute: Callable[[Any], Awaitable[Any]]) -> Any:
    return undeclared_refusal(request.tool_call, request.tool) or await execute(request)


# --- 2. system prompt leaks -------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


@cache
def _prompt_shingles() -> frozenset[str]:
    """Every SHINGLE-long run of the prompt's fixed text (placeholders cut out)."""
    pieces = re.split(r"\{[a-z_]+\}", SYSTEM_PROMPT + CANARY_LINE)
    shingles: set[str] = set()
    for piece in pieces:
        flat = _normalise(piece)
        shingles.update(flat[i : i + SHINGLE] for i in range(len(flat) - SHINGLE + 1))
    return frozenset(shingles)


def _decoded_views(text: str) -> list[str]:
    views = [text, text[::-1]]
    for run in _B64.findall(text):
        with contextlib.suppress(binascii.Error, ValueError):
            views.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "ignore"))
    for run in _HEX.findall(text):
        views.append(bytes.fromhex(run).decode("utf-8", "ignore"))
    for run in _ESCAPES.findall(text):
        views.append(codecs.decode(run, "unicode_escape"))
    return views


def leaks_system_prompt(text: str, *, canary: str | None) -> bool:
    if not text:
        return False
    marker = _normalise(canary) if canary else ""
    shingles = _prompt_shingles()
    for view in _decoded_views(text):
        for flat in (_normalise(view), _normalise(view[::-1])):
            if marker and marker in flat:
                return True
            if any(flat[i : i + SHINGLE] in shingles for i in range(len(flat) - SHINGLE + 1)):
                return True
    return False


def screen_turn(turn: Sequence[Any], *, canary: str | None) -> list[AIMessage]:
    """Replacements (same ids) for this turn's bot messages that leak the prompt: intermediate
    texts are emptied, the last reply becomes ``SAFE_REPLY``; tool calls are kept as they were."""
    bot = [m for m in turn if isinstance(m, AIMessage)]
    replaced: list[AIMessage] = []
    for message in bot:
        if not leaks_system_prompt(str(message.content or ""), canary=canary):
            continue
        log.warning("reply_blocked", reason="system_prompt_leak")
        final = message is bot[-1] and not message.tool_calls
        replaced.append(
            AIMessage(
                SAFE_REPLY if final else "",
                id=message.id,
                tool_calls=message.tool_calls,
                additional_kwargs={**message.additional_kwargs, "guard": "system_prompt_leak"},
            )
        )
    return replaced


_URL = re.compile(r"(?:https?://|www\.)[^\s，。；、<>\"'）)]+", re.IGNORECASE)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
LINK_REMOVED = "[链接已移除]"


def strip_foreign_links(text: str, *, allowed_hosts: Sequence[str]) -> str:
    """Remove links to hosts the company did not list, and every markdown image.

    The widget and console already render text only, but WeChat turns any URL in a text message into
    a tappable link, so a hijacked model could hand residents a phishing page there; this runs on the
    server for every channel before the reply is stored.
    """
    text = _MARKDOWN_IMAGE.sub(LINK_REMOVED, text)

    def keep_or_drop(match: re.Match[str]) -> str:
        url = match.group(0)
        host = (urlsplit(url if "://" in url else f"http://{url}").hostname or "").lower()
        allowed = any(host == h or host.endswith(f".{h}") for h in (h.lower() for h in allowed_hosts))
        return url if allowed else LINK_REMOVED

    return _URL.sub(keep_or_drop, text)
