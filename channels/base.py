"""What every channel shares: the agent's inbound/reply types and the outbound sender protocol.

Channels only translate between a platform and the agent; conversations never know their channel
beyond its name, and nothing outside channels/ branches on it.

Outbound: the outbox delivery (``channels/delivery.py``) resolves who a queued message is for and
hands each recipient's copy to the sender registered for that recipient's channel::

    class OutboundSender(Protocol):
        channel: str
        async def send(self, message: OutboundMessage) -> DeliveryResult: ...

A sender never raises for a platform problem: it returns ``DeliveryResult.retry`` (transient:
timeouts, 5xx, rate limits; the delivery backs off and tries again) or ``DeliveryResult.rejected``
(permanent: the resident unsubscribed, no template for a closed service window). Bugs propagate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from agent.inbound import AgentReply, InboundMessage

__all__ = [
    "AgentReply",
    "DeliveryResult",
    "InboundMessage",
    "OutboundMessage",
    "OutboundSender",
]


@dataclass(frozen=True)
class OutboundMessage:
    """One recipient's copy of an outbox row."""

    outbox_id: str
    kind: str  # tools.outbox.OUTBOX_KINDS
    text: str
    channel: str
    external_user_id: str | None  # openid / device id; None for a conversation-only recipient
    conversation_id: str | None = None
    account_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Literal["sent", "retry", "rejected"]
    detail: dict[str, Any] = field(default_factory=dict)  # e.g. {"via": "template", "msgid": ...}
    error: str | None = None

    @classmethod
    def sent(cls, **detail: Any) -> DeliveryResult:
        return cls("sent", detail)

    @classmethod
    def retry(cls, error: str, **detail: Any) -> DeliveryResult:
        return cls("retry", detail, error)

    @classmethod
    def rejected(cls, error: str, **detail: Any) -> DeliveryResult:
        return cls("rejected", detail, error)


class OutboundSender(Protocol):
    """Delivers a message the resident did not just ask for (late replies, notifications)."""

    channel: str

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...
