"""Pictures residents send to the official account, kept as attachment candidates.

WeChat pushes an image as a ``PicUrl`` (its CDN) plus a ``MediaId`` (fetchable for 3 days via
``media/get``). The picture is fetched at once with a short timeout, checked by its bytes, and
stored under ``uploads_dir/wechat/<day>/``; the stored path rides on the resident's message
(``meta.attachments``), where a ticket can adopt it. When the fetch fails, a small JSON record of
the media id and URL is stored instead, so nothing the resident sent is lost and a later fetch
can complete it. Only WeChat's CDN hosts (and the configured API host) are fetched: the URL comes
from a request body and must not make the server fetch arbitrary addresses.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx

from tools.clock import Clock, local_date
from tools.settings import Settings
from tools.tickets.attachments import IMAGE_TYPES, sniff_image

CDN_SUFFIXES = (".qpic.cn", ".qlogo.cn", ".weixin.qq.com")
FETCH_TIMEOUT_S = 2.0


def _allowed(url: str, settings: Settings) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[": the URL comes from the request body
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    return host.endswith(CDN_SUFFIXES) or host == (urlsplit(settings.wechat_api_base).hostname or "").lower()


async def _fetch(url: str, *, max_bytes: int) -> bytes | None:
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                return None
            data = b""
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    return None
            return data
    except httpx.HTTPError:
        return None


async def store_picture(message: Any, *, settings: Settings, clock: Clock) -> str:
    """Store one pushed image; returns its path relative to ``uploads_dir``."""
    day = local_date(clock).strftime("%Y%m%d")
    folder = settings.uploads_dir / "wechat" / day
    folder.mkdir(parents=True, exist_ok=True)
    url = str(getattr(message, "image", "") or "")
    data = await _fetch(url, max_bytes=settings.upload_max_bytes) if _allowed(url, settings) else None
    kind = sniff_image(data) if data else None
    name = uuid.uuid4().hex
    if data and kind:
        (folder / f"{name}{IMAGE_TYPES[kind]}").write_bytes(data)
        return f"wechat/{day}/{name}{IMAGE_TYPES[kind]}"
    record = {"media_id": getattr(message, "media_id", None), "pic_url": url, "msg_id": message.id}
    (folder / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False))
    return f"wechat/{day}/{name}.json"
