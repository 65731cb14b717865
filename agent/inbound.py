"""What a channel hands the agent, and what it gets back. Channels translate; the agent decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InboundMessage:
    conversation_id: str
    text: str
    external_id: str | None = None  # the platform's message id: retries carry the same one
    attachments: tuple[str, ...] = ()  # stored upload paths
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentReply:
    message_id: str  # the resident's stored message
    reply: str | None  # None: a human agent owns the conversation, the bot stays silent
    classification: dict[str, Any]
    suggestions: list[str] = field(default_factory=list)
    handoff: bool = False
    ticket: dict[str, Any] | None = None
    payment_order: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False  # the same external id was seen before; this is the earlier answer
