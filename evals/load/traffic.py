"""Virtual residents for the season-start surge: web chat sessions and WeChat followers.

A WeChat follower posts encrypted (安全模式) XML built with wechatpy's own crypto, signed like the
platform signs it, with a fresh MsgId per message; a web resident opens a chat session (a share of
them bound to a demo account) and posts messages. Every request is timed; nothing is retried, so
an error is counted, never hidden.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto

# The midnight mix: mostly no heat, then paying and progress, a few leaks and questions.
MESSAGE_MIX: tuple[tuple[str, float], ...] = (
    ("暖气不热", 0.30),
    ("家里暖气一点都不热，屋里才15度", 0.15),
    ("暖气片上热下凉怎么办", 0.07),
    ("在哪交费", 0.12),
    ("暖气费多少钱一平米", 0.08),
    ("我的报修进度怎么样了", 0.10),
    ("今年什么时候开始供暖", 0.06),
    ("暖气片接头渗水了", 0.05),
    ("转人工", 0.04),
    ("怎么开电子发票", 0.03),
)
WECHAT_LIMIT_S = 5.0
CONNECTIONS_PER_CLIENT = 25


@contextlib.asynccontextmanager
async def http_clients(
    connections: int, *, base_url: str = "", timeout: float = 60.0
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients holding ``connections`` between them, 25 each. One httpx client with a thousand
    connections spends its time scanning its own pool (httpcore's request assignment is quadratic:
    81% of the load generator's CPU in a py-spy profile), and its latencies then measure itself."""
    count = max(1, -(-connections // CONNECTIONS_PER_CLIENT))
    limits = httpx.Limits(
        max_connections=CONNECTIONS_PER_CLIENT + 5,
        max_keepalive_connections=CONNECTIONS_PER_CLIENT + 5,
        # retire idle connections before the server's 5 s keep-alive closes them, or a reused one
        # races the close and fails with a ReadError no server fault caused
        keepalive_expiry=3.0,
    )
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)
            )
            for _ in range(count)
        ]


@dataclass
class Sample:
    channel: str
    seconds: float
    status: int
    error: str = ""
    reply_kind: str = ""  # "passive" | "success" (late reply) | "json"
    msg_id: str = ""
    user: str = ""  # the WeChat openid, to match late replies sent through the API

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.error


def pick_message(rng: random.Random) -> str:
    texts, weights = zip(*MESSAGE_MIX, strict=True)
    return rng.choices(texts, weights=weights, k=1)[0]


@dataclass(frozen=True)
class WeChatPeer:
    token: str
    app_id: str
    aes_key: str

    def envelope(self, *, openid: str, text: str, msg_id: str) -> tuple[dict[str, str], bytes]:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
        plain = (
            f"<xml><ToUserName><![CDATA[gh_hengnuan]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
            f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        body = crypto.encrypt_message(plain, nonce, timestamp)
        signature = hashlib.sha1("".join(sorted([self.token, timestamp, nonce])).encode()).hexdigest()
        query = {
            "signature": signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
            "encrypt_type": "aes",
            "msg_signature": xmltodict.parse(body)["xml"]["MsgSignature"],
        }
        return query, body.encode()


async def wechat_resident(
    http: httpx.AsyncClient, peer: WeChatPeer, *, index: int, messages: int, rng: random.Random
) -> list[Sample]:
    openid = f"oLoad{index:06d}{uuid.uuid4().hex[:8]}"
    samples = []
    for turn in range(messages):
        msg_id = f"{int(time.time() * 1000)}{index:06d}{turn:02d}"
        query, body = peer.envelope(openid=openid, text=pick_message(rng), msg_id=msg_id)
        started = time.perf_counter()
        try:
            response = await http.post("/wechat", params=query, content=body)
            kind = "success" if response.text == "success" else "passive"
            status, error = response.status_code, ""
        except httpx.HTTPError as failure:
            kind, status, error = "", 0, type(failure).__name__
        samples.append(
            Sample("wechat", time.perf_counter() - started, status, error, kind, msg_id=msg_id, user=openid)
        )
    return samples


async def web_resident(
    http: httpx.AsyncClient,
    *,
    index: int,
    messages: int,
    rng: random.Random,
    account: tuple[str, str] | None,
) -> list[Sample]:
    body: dict[str, str] = {"channel": "web"}
    if account:
        body |= {"account_no": account[0], "phone_last4": account[1]}
    started = time.perf_counter()
    try:
        opened = await http.post("/api/v1/chat/sessions", json=body)
    except httpx.HTTPError as error:
        return [Sample("web", time.perf_counter() - started, 0, type(error).__name__)]
    if opened.status_code != 201:
        return [Sample("web", time.perf_counter() - started, opened.status_code, opened.text[:80])]
    session = opened.json()
    headers = {"Authorization": f"Bearer {session['token']}"}
    samples = []
    for turn in range(messages):
        client_id = f"load-{index}-{turn}"
        started = time.perf_counter()
        try:
            response = await http.post(
                f"/api/v1/chat/sessions/{session['session_id']}/messages",
                json={"text": pick_message(rng), "client_message_id": client_id},
                headers=headers,
            )
            error = "" if response.status_code == 200 else response.text[:80]
            samples.append(
                Sample("web", time.perf_counter() - started, response.status_code, error, "json", client_id)
            )
        except httpx.HTTPError as error:
            samples.append(
                Sample("web", time.perf_counter() - started, 0, type(error).__name__, msg_id=client_id)
            )
    return samples


def server_errors(log: Path, top: int = 5) -> dict[str, int]:
    """What the service logged as errors, by the last line of each traceback (before the log goes)."""
    counts: Counter[str] = Counter()
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            tail = next((ln for ln in lines[index + 1 :] if ln and not ln.startswith((" ", "Traceback"))), "")
            counts[tail[:160]] += 1
        elif '"level": "error"' in line:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            counts[str(record.get("exception", record.get("event", "")))[-160:]] += 1
    return dict(counts.most_common(top))
