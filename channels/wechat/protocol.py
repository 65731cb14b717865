"""WeChat official-account server protocol: verify, decrypt, parse and answer, with wechatpy.

Safety decisions, each from the protocol's known weak spots:
- the URL signature covers only token/timestamp/nonce, not the body, so in plaintext mode a
  captured signed URL could be replayed with any body: timestamps older than 5 minutes and
  reused (timestamp, nonce) pairs are refused, and production should run in 安全模式, where
  ``msg_signature`` covers the encrypted body and only the decrypted XML is trusted;
- XML with a DOCTYPE/ENTITY is refused before parsing (no entity expansion), bodies are capped;
- anything malformed is a 4xx, so WeChat does not retry into a loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.fields import BaseField, StringField
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from tools.errors import DomainError, InvalidInput, PermissionDenied

MAX_BODY = 64 * 1024
MAX_SKEW_S = 300


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class OnceKeys:
    """Keys remembered for ``ttl_s`` seconds (replayed nonces, late-reply marks); in Redis when
    configured, so every API worker sees them, else in this process."""

    def __init__(self, redis_url: str | None = None, *, prefix: str, ttl_s: int, size: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._prefix, self._ttl, self._size = prefix, ttl_s, size
        self._redis: Any = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)

    async def first_time(self, key: str, now: float) -> bool:
        """Remember ``key``; False when it was already remembered."""
        if self._redis is not None:
            return bool(await self._redis.set(f"warmline:{self._prefix}:{key}", "1", nx=True, ex=self._ttl))
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    async def seen(self, key: str, now: float) -> bool:
        if self._redis is not None:
            return bool(await self._redis.exists(f"warmline:{self._prefix}:{key}"))
        self._expire(now)
        return key in self._seen

    def _expire(self, now: float) -> None:
        while self._seen and next(iter(self._seen.values())) < now - self._ttl:
            self._seen.popitem(last=False)


@dataclass(frozen=True)
class WeChatConfig:
    token: str
    app_id: str
    aes_key: str | None = None  # set: 安全模式 (encrypted)

    @property
    def crypto(self) -> WeChatCrypto | None:
        return WeChatCrypto(self.token, self.aes_key, self.app_id) if self.aes_key else None


def verify_url(config: WeChatConfig, *, signature: str, timestamp: str, nonce: str, now: float) -> None:
    _check_fresh(timestamp, now)
    try:
        check_signature(config.token, signature, timestamp, nonce)
    except InvalidSignatureException:
        raise PermissionDenied("签名校验失败", code="bad_signature") from None


def _check_fresh(timestamp: str, now: float) -> None:
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise InvalidInput("timestamp 无效") from None
    if abs(now - sent) > MAX_SKEW_S:
        raise PermissionDenied("请求已过期", code="stale")


def read_message(
    config: WeChatConfig,
    body: bytes,
    *,
    signature: str,
    timestamp: str,
    nonce: str,
    msg_signature: str | None,
    now: float | None = None,
) -> Any:
    """Verify and parse one pushed message; raises DomainError subclasses (4xx) on anything wrong."""
    now = time.time() if now is None else now
    if len(body) > MAX_BODY:
        raise PayloadTooLarge("消息体过大")
    _refuse_dtd(body)
    crypto = config.crypto
    if crypto is not None:
        _check_fresh(timestamp, now)
        if not msg_signature:
            raise PermissionDenied("安全模式需要 msg_signature", code="bad_signature")
        try:
            body = crypto.decrypt_message(body, msg_signature, timestamp, nonce).encode()
        except InvalidSignatureException:
            raise PermissionDenied("消息签名校验失败", code="bad_signature") from None
        except Exception:
            raise InvalidInput("消息无法解密") from None
        _refuse_dtd(body)  # the decrypted XML is parsed too
    else:
        verify_url(config, signature=signature, timestamp=timestamp, nonce=nonce, now=now)
    try:
        message = parse_message(body)
    except Exception:
        raise InvalidInput("XML 格式错误") from None
    if message is None:  # wechatpy's answer to an empty body
        raise InvalidInput("消息为空")
    _check_fields(message)
    if not message.source or not message.target:
        raise InvalidInput("消息缺少 FromUserName/ToUserName")
    return message


def _check_fields(message: Any) -> None:
    """Read every wechatpy field once, so a bad value is a 422 here rather than a crash later.

    wechatpy converts lazily, on attribute access (``int(MsgId)``, ``int(CreateTime)``, ...), and a
    string field keeps whatever shape xmltodict produced: a dict for a nested tag, a list for a
    repeated one.
    """
    for name in dir(type(message)):
        declared = getattr(type(message), name, None)
        if not isinstance(declared, BaseField):
            continue
        try:
            value = getattr(message, name)
        except (ValueError, TypeError, OverflowError, OSError):
            raise InvalidInput(f"XML 字段格式错误：{declared.name}") from None
        if isinstance(declared, StringField) and value is not None and not isinstance(value, str):
            raise InvalidInput(f"XML 字段格式错误：{declared.name}")


def _refuse_dtd(body: bytes) -> None:
    # Before any parser sees it: no DTD means no entity expansion and no external entities, whatever
    # the expat version. WeChat never sends one.
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise InvalidInput("不接受带 DTD 的 XML")


def render_reply(config: WeChatConfig, message: Any, text: str, *, nonce: str, timestamp: str) -> str:
    xml = TextReply(message=message, content=text).render()
    crypto = config.crypto
    return crypto.encrypt_message(xml, nonce, timestamp) if crypto is not None else xml
