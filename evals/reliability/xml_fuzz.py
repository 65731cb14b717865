"""Hypothesis-generated XML bodies against the two XML webhooks: the official account and WeChat Pay.

The official account is driven over HTTP (ASGI, in-process) with genuinely signed traffic: in
plaintext mode a valid URL signature, in 安全模式 a valid ``msg_signature`` over the encrypted body
(so garbage survives to decryption and parsing). A share of the requests is forged on purpose.

The payment callback has no HTTP route of its own yet, so it is driven where a route would hand
over: ``handle_payment_notification`` in its own transaction. There a ``DomainError`` is what the
app's one handler turns into a 4xx and anything else is a 5xx, so that is what is counted.

For every body: never a 5xx; a refused body (4xx / DomainError / ``ignored``) leaves no trace (no
message, conversation, identity or outbox row; no payment, bill or order change); bodies of the
kinds in ``MUST_REFUSE`` are always refused. The ``valid`` control bodies must get through.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from evals.reliability.xml_bodies import MUST_REFUSE, Body, pay_bodies, wechat_bodies
from tools.audit import AuditLog
from tools.billing.models import Bill, Payment, PaymentOrder
from tools.billing.notify import handle_payment_notification
from tools.billing.payments import create_payment_order
from tools.billing.wechat_pay import MAX_NOTIFY_BYTES, build_notify_xml, format_time_end, sign, to_fen
from tools.conversations.models import Conversation, Message
from tools.crm.models import Account, ChannelIdentity
from tools.db import make_engine, make_sessionmaker, transaction
from tools.errors import DomainError
from tools.outbox import OutboxMessage

WECHAT_MAX_BODY = 64 * 1024  # channels.wechat.protocol.MAX_BODY (channels is above evals)


@dataclass
class KindStats:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    trace_after_refusal: int = 0  # refused, yet something was written
    accepted_but_must_refuse: int = 0
    valid_refused: int = 0  # a genuine push turned away: WeChat retries, the resident gets nothing
    max_ms: float = 0.0
    samples: list[str] = field(default_factory=list)


@dataclass
class XmlFuzzReport:
    target: str
    kinds: dict[str, KindStats]
    elapsed_s: float
    control_ok: bool = True  # a valid body did get through (the fuzzer is not stuck at the door)

    @property
    def sent(self) -> int:
        return sum(k.sent for k in self.kinds.values())

    @property
    def server_errors(self) -> int:
        return sum(k.server_errors for k in self.kinds.values())

    @property
    def violations(self) -> int:
        return sum(
            k.server_errors + k.trace_after_refusal + k.accepted_but_must_refuse + k.valid_refused
            for k in self.kinds.values()
        )


def _note(stats: KindStats, outcome: str, problem: str | None, body: Body, elapsed_ms: float) -> None:
    stats.sent += 1
    stats.statuses[outcome] += 1
    stats.max_ms = max(stats.max_ms, elapsed_ms)
    if problem and len(stats.samples) < 3:
        stats.samples.append(f"{problem}: {body!r}"[:400])


def _drive(
    examples: int, run_seed: int, strategy: st.SearchStrategy[Any], one: Callable[[Any], None]
) -> None:
    @seed(run_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(example: Any) -> None:
        one(example)

    run()


# --- the official account -----------------------------------------------------------------------


class WeChatEndpoint:
    """Signs and posts bodies to ``/wechat`` like WeChat's servers (or a forger) would."""

    def __init__(self, app: Any, *, token: str, app_id: str, aes_key: str | None) -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30)
        self.app = app
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def _signature(self, *parts: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, *parts])).encode()).hexdigest()

    async def post(self, body: bytes, *, forge: bool, raw_envelope: bool = False) -> httpx.Response:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
        params = {"timestamp": timestamp, "nonce": nonce, "signature": self._signature(timestamp, nonce)}
        if self.crypto is not None:
            if raw_envelope:  # a genuine signature over an Encrypt field that is garbage
                encrypt = base64.b64encode(body[:3000]).decode() or "AAAA"
                body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
                params["msg_signature"] = self._signature(timestamp, nonce, encrypt)
            else:
                envelope = self.crypto.encrypt_message(body, nonce, timestamp)
                encrypt = envelope.split("<![CDATA[", 1)[1].split("]]>", 1)[0]
                params["msg_signature"] = self._signature(timestamp, nonce, encrypt)
                body = envelope.encode()
        if forge:
            params["signature"] = uuid.uuid4().hex + "0" * 8
            if "msg_signature" in params:
                params["msg_signature"] = uuid.uuid4().hex + "0" * 8
        return await self.client.post("/wechat", params=params, content=body)

    async def footprint(self) -> tuple[int, ...]:
        async with self.app.state.services.sessions() as session:
            counts = []
            for model in (Message, Conversation, ChannelIdentity, OutboxMessage):
                counts.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
            return tuple(counts)


async def _check_wechat(endpoint: WeChatEndpoint, body: Body, forge: bool, stats: KindStats) -> None:
    before = await endpoint.footprint()
    started = time.perf_counter()
    raw = endpoint.crypto is not None and body.kind == "garbage" and len(body.data) % 2 == 0
    response = await endpoint.post(body.data, forge=forge, raw_envelope=raw)
    elapsed_ms = (time.perf_counter() - started) * 1000
    status = response.status_code
    problem = None
    if status >= 500:
        stats.server_errors += 1
        problem = f"{status} {response.text[:120]}"
    elif status >= 400:
        if await endpoint.footprint() != before:
            stats.trace_after_refusal += 1
            problem = f"refused with {status} but wrote rows"
        elif body.kind == "valid" and not forge:
            stats.valid_refused += 1
            problem = f"valid body refused: {status} {response.text[:120]}"
    elif forge or body.kind in MUST_REFUSE:
        stats.accepted_but_must_refuse += 1
        problem = f"accepted ({status}) a body it must refuse"
    _note(stats, str(status), problem, body, elapsed_ms)


def run_wechat_fuzz(
    app: Any, *, token: str, app_id: str, aes_key: str | None, examples: int, run_seed: int = 1
) -> XmlFuzzReport:
    """Post ``examples`` generated bodies; ``app``'s lifespan is run here, on this thread's loop."""
    kinds: dict[str, KindStats] = {}
    label = "wechat-encrypted" if aes_key else "wechat-plaintext"
    started = time.monotonic()
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        runner.run(stack.enter_async_context(app.router.lifespan_context(app)))
        endpoint = WeChatEndpoint(app, token=token, app_id=app_id, aes_key=aes_key)
        try:

            def one(example: tuple[Body, bool]) -> None:
                body, forge = example
                key = f"{body.kind}{'+forged' if forge else ''}"
                runner.run(_check_wechat(endpoint, body, forge, kinds.setdefault(key, KindStats())))

            strategy = st.tuples(
                wechat_bodies(max_body=WECHAT_MAX_BODY, create_time=int(time.time())),
                st.sampled_from([False] * 7 + [True]),
            )
            _drive(examples, run_seed, strategy, one)
            control_ok = kinds.get("valid", KindStats()).statuses.get("200", 0) > 0
        finally:
            runner.run(endpoint.client.aclose())
            runner.run(stack.aclose())
    return XmlFuzzReport(label, dict(sorted(kinds.items())), time.monotonic() - started, control_ok)


# --- WeChat Pay callbacks ------------------------------------------------------------------------


class PayCallback:
    """The payment callback at the boundary an HTTP route would call, on a seeded demo database."""

    def __init__(self, sessions: Any, *, settings: Any, clock: Any) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock

    async def open_order(self, account_no: str) -> Any:
        async with transaction(self.sessions) as session:
            account_id = await session.scalar(select(Account.id).where(Account.account_no == account_no))
            return await create_payment_order(
                session, account_id=account_id, clock=self.clock, settings=self.settings
            )

    async def deliver(self, body: bytes) -> str:
        """The outcome (``credited`` ...) or ``4xx:<code>`` for a DomainError; other errors propagate."""
        try:
            async with transaction(self.sessions) as session:
                result = await handle_payment_notification(
                    session, xml_body=body, clock=self.clock, settings=self.settings
                )
        except DomainError as refused:
            return f"{refused.status_code}:{refused.code}"
        return result.outcome

    async def ledger(self) -> tuple[Any, ...]:
        async with self.sessions() as session:
            rows: list[Any] = []
            for model in (Payment, OutboxMessage, AuditLog):
                rows.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
            rows.append(
                tuple(
                    await session.execute(
                        select(Bill.id, Bill.status, Bill.amount_paid, Bill.late_fee_paid).order_by(Bill.id)
                    )
                )
            )
            rows.append(tuple(await session.execute(select(PaymentOrder.id, PaymentOrder.status))))
            return tuple(rows)


def genuine_fields(order: Any, settings: Any, clock: Any, transaction_id: str) -> dict[str, str]:
    return {
        "appid": settings.wechat_app_id,
        "mch_id": settings.pay_mch_id,
        "nonce_str": "fuzz" + transaction_id[-8:],
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "openid": "oWarmlineTestPayer000000000",
        "trade_type": "JSAPI",
        "total_fee": str(to_fen(order.amount)),
        "fee_type": "CNY",
        "transaction_id": transaction_id,
        "out_trade_no": order.order_no,
        "time_end": format_time_end(clock.now()),
    }


async def _check_pay(callback: PayCallback, body: Body, stats: KindStats) -> None:
    before = await callback.ledger()
    started = time.perf_counter()
    problem = None
    try:
        outcome = await callback.deliver(body.data)
    except Exception as exc:  # a bug: the app would answer 500 and WeChat would retry for a day
        outcome = "500"
        stats.server_errors += 1
        problem = f"{type(exc).__name__}: {exc}"[:200]
    elapsed_ms = (time.perf_counter() - started) * 1000
    if outcome != "500":
        if await callback.ledger() != before:
            stats.trace_after_refusal += 1
            problem = f"{outcome} and the ledger changed"
        elif not (outcome.startswith("4") or outcome == "ignored"):
            stats.accepted_but_must_refuse += 1
            problem = f"accepted as {outcome}"
    _note(stats, outcome.split(":")[0], problem, body, elapsed_ms)


def run_pay_fuzz(
    settings: Any, *, clock: Any, examples: int, account_no: str, run_seed: int = 1
) -> XmlFuzzReport:
    """Deliver ``examples`` generated notifications for a real order; then a genuine one as control."""
    kinds: dict[str, KindStats] = {}
    started = time.monotonic()
    with asyncio.Runner() as runner:
        engine = make_engine(settings)
        try:
            callback = PayCallback(make_sessionmaker(engine), settings=settings, clock=clock)
            order = runner.run(callback.open_order(account_no))
            real = genuine_fields(order, settings, clock, "4200002026112200000001")
            api_key = settings.pay_api_key.get_secret_value()

            def one(body: Body) -> None:
                runner.run(_check_pay(callback, body, kinds.setdefault(body.kind, KindStats())))

            _drive(
                examples,
                run_seed,
                pay_bodies(real, sign=sign, api_key=api_key, max_bytes=MAX_NOTIFY_BYTES),
                one,
            )
            control = build_notify_xml(
                settings=settings,
                out_trade_no=order.order_no,
                total_fee=to_fen(order.amount),
                transaction_id="4200002026112299999999",
                time_end=clock.now(),
            )
            control_ok = runner.run(_control(callback, control))
        finally:
            runner.run(engine.dispose())
    return XmlFuzzReport(
        "wechat-pay-notify", dict(sorted(kinds.items())), time.monotonic() - started, control_ok
    )


async def _control(callback: PayCallback, body: bytes) -> bool:
    before = await callback.ledger()
    return await callback.deliver(body) == "credited" and await callback.ledger() != before


def format_xml_report(report: XmlFuzzReport) -> list[str]:
    lines = [f"{report.target}: {report.sent} 个报文，用时 {report.elapsed_s:.1f} 秒"]
    lines.append(f"  {'类型':<22}{'报文':>7}{'5xx':>6}{'拒绝后留痕':>10}{'应拒未拒':>8}{'最慢ms':>9}  状态")
    for kind, stats in report.kinds.items():
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(stats.statuses.items()))
        lines.append(
            f"  {kind:<22}{stats.sent:>7}{stats.server_errors:>6}{stats.trace_after_refusal:>10}"
            f"{stats.accepted_but_must_refuse:>8}{stats.max_ms:>9.1f}  {statuses}"
        )
        lines += [f"      {sample}" for sample in stats.samples]
    lines.append(
        f"  合计：5xx {report.server_errors}，违规 {report.violations}，"
        f"对照（有效报文被受理）{'通过' if report.control_ok else '未通过'}"
    )
    return lines


def random_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]
