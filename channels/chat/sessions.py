"""Chat sessions for the web widget and the app: a bearer token per conversation.

The token is random, shown once, and stored only as a SHA-256 hash, so a database leak does not
let anyone post into residents' conversations. Binding happens when the session opens (户号 +
phone last four); a wrong pair is a 4xx whose message does not reveal whether the account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.conversations.service import get_conversation, open_conversation
from tools.crm.binding import attempt_binding, get_or_create_identity
from tools.crm.models import Account
from tools.errors import NotFound, Unauthenticated


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class OpenedSession:
    conversation: Conversation
    token: str
    account: Account | None
    binding_error: str | None = None
    locked: bool = False


async def open_chat_session(
    session: AsyncSession,
    *,
    channel: str,
    clock: Clock,
    account_no: str | None = None,
    phone_last4: str | None = None,
    visitor_id: str | None = None,
) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    identity = await get_or_create_identity(
        session, channel=channel, external_id=visitor_id or f"session:{secrets.token_hex(12)}"
    )
    account = None
    if account_no or phone_last4:
        outcome = await attempt_binding(
            session,
            identity=identity,
            account_no=account_no or "",
            phone_last4=phone_last4 or "",
            clock=clock,
        )
        if not outcome.ok:
            return OpenedSession(
                conversation=None,  # type: ignore[arg-type]
                token="",
                account=None,
                binding_error=outcome.message,
                locked=outcome.locked_until is not None,
            )
        account = outcome.account
    conversation = await open_conversation(
        session,
        channel=channel,
        clock=clock,
        identity_id=identity.id,
        account_id=account.id if account else None,
        token_hash=hash_token(token),
    )
    return OpenedSession(conversation=conversation, token=token, account=account)


async def authorize(session: AsyncSession, *, conversation_id: str, token: str | None) -> Conversation:
    """The conversation this token opens; any mismatch reads the same, so ids cannot be probed."""
    if not token:
        raise Unauthenticated("缺少会话令牌")
    try:
        conversation = await get_conversation(session, conversation_id)
    except NotFound:
        conversation = None
    if (
        conversation is None
        or not conversation.token_hash
        or not hmac.compare_digest(conversation.token_hash, hash_token(token))
    ):
        raise Unauthenticated("会话不存在或令牌无效")
    return conversation
