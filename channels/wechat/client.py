"""The official account's outbound API (access token, 客服消息, 模板消息, 菜单) on wechatpy's client.

wechatpy's ``WeChatClient`` is synchronous (requests), so every call runs in a worker thread.
It is pointed at ``settings.wechat_api_base`` (a test fake or an API gateway) by overriding its
base URL and token endpoint. Its own 40001 retry is turned off because it retries without limit;
here an invalid/expired token (40001/40014/42001) refreshes the token once and repeats the call
once. The token lives in wechatpy's session storage: Redis when configured (all workers share
one token, as WeChat requires: each fetch invalidates the previous token), else process memory.

Errors: every failure is a ``WeChatApiError``; ``errcode`` is WeChat's code, or None for HTTP
and network failures; ``transient`` says whether trying again later can help.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import requests
from wechatpy.client import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from tools.settings import Settings

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
WINDOW_CLOSED = frozenset({45015, 45047})  # out of the 48 h window / over its message quota
TRANSIENT_ERRORS = frozenset({-1, 45009, 45011, *TOKEN_ERRORS})  # busy, rate limits, token churn


class WeChatApiError(Exception):
    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"wechat {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg

    @property
    def transient(self) -> bool:
        return self.errcode is None or self.errcode in TRANSIENT_ERRORS


class _BaseUrlClient(WeChatClient):
    def __init__(self, app_id: str, secret: str, *, api_base: str, storage: Any, timeout: float) -> None:
        super().__init__(app_id, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base.rstrip("/") + "/cgi-bin/"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatApi:
    """Async facade over one wechatpy client; build one per process (it holds the token cache)."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        api_base: str,
        redis_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        storage: Any = MemoryStorage()
        if redis_url:
            import redis
            from wechatpy.session.redisstorage import RedisStorage

            storage = RedisStorage(redis.Redis.from_url(redis_url), prefix="warmline:wechat")
        self._client = _BaseUrlClient(app_id, app_secret, api_base=api_base, storage=storage, timeout=timeout)
        self._token_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatApi:
        return cls(
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret.get_secret_value(),
            api_base=settings.wechat_api_base,
            redis_url=settings.redis_url,
        )

    async def send_text(self, openid: str, content: str) -> dict[str, Any]:
        """客服消息 (message/custom/send): only inside the resident's 48-hour window."""
        return await self._call(lambda c: c.message.send_text(openid, content))

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, Any], *, url: str | None = None
    ) -> dict[str, Any]:
        """模板消息 (message/template/send): service notices outside the window."""
        return await self._call(lambda c: c.message.send_template(openid, template_id, data, url=url))

    async def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        return await self._call(lambda c: c.menu.create(menu))

    async def _call(self, fn: Callable[[WeChatClient], dict[str, Any]]) -> dict[str, Any]:
        return await asyncio.to_thread(self._call_sync, fn)

    def _call_sync(self, fn: Callable[[WeChatClient], dict[str, Any]]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                with self._token_lock:  # one token fetch at a time, not one per concurrent send
                    _ = self._client.access_token
                return fn(self._client)
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    self._refresh()
                    continue
                raise WeChatApiError(exc.errcode, _errmsg(exc)) from None
            except requests.RequestException as exc:
                raise WeChatApiError(None, f"{type(exc).__name__}") from None
        raise AssertionError("unreachable")

    def _refresh(self) -> None:
        try:
            with self._token_lock:
                self._client.fetch_access_token()
        except WeChatClientException as exc:
            raise WeChatApiError(exc.errcode, _errmsg(exc)) from None
        except requests.RequestException as exc:
            raise WeChatApiError(None, f"{type(exc).__name__}") from None


def _errmsg(exc: WeChatClientException) -> str:
    if exc.errcode is None and getattr(exc, "response", None) is not None:
        return f"HTTP {exc.response.status_code}"
    return str(exc.errmsg)
