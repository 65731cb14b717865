"""What every channel shares: the agent's inbound/reply types and the outbound adapter protocol.

Channels only translate between a platform and the agent; conversations never know their channel
beyond its name, and nothing outside channels/ branches on it.
"""

from __future__ import annotations

from typing import Protocol

from agent.inbound import AgentReply, InboundMessage

__all__ = ["AgentReply", "InboundMessage", "OutboundAdapter"]


class OutboundAdapter(Protocol):
    """Delivers a message the resident did not just ask for (agent replies, notifications)."""

    channel: str

    async def send(self, *, external_user_id: str, text: str) -> None: ...
