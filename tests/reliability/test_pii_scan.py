"""No unmasked phone or ID card number in logs, error reports or exports; every unmasking audited.

The scanner (``evals/reliability/pii_scan.py``) is tested on its own first: GB 11643 check digits,
the spellings residents use, masked forms, its command line. Then a realistic day runs against the
real app served by uvicorn exactly as ``warmline serve`` serves it (``log_config=None``, the app's
own ``configure_logging`` writing JSON lines to a file, access log on): a resident types a
checksum-valid synthetic phone and ID number into the chat in several spellings, reports a fault,
asks for a human; an agent searches by the phone and takes over; a WeChat follower sends the same
numbers; a handler crashes with both numbers in its exception; a supervisor unmasks a contact and
exports the dashboards. The log file and every export must scan clean, while a file of what the
resident actually typed must not (so a blind scanner cannot pass the test).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import structlog
import uvicorn
from sqlalchemy import func, select

from backoffice.app import create_app
from evals.reliability.pii_scan import find_pii, id_check_char, is_valid_id_card, main, scan_paths, total_hits
from tools.audit import AuditLog
from tools.db import make_engine, make_sessionmaker
from tools.demo.seed import seed_demo
from tools.logging import configure_logging
from tools.masking import mask_text

PHONE = "13987654321"
ID_NO = "11010519900307123" + id_check_char("11010519900307123")
BO = "/api/v1/backoffice"


# --- the scanner ---


def test_the_check_digit_follows_gb_11643() -> None:
    assert is_valid_id_card("11010519491231002X")  # the standard's own example
    assert is_valid_id_card(ID_NO)
    wrong = ID_NO[:17] + ("0" if ID_NO[17] != "0" else "1")
    assert not is_valid_id_card(wrong)
    assert not is_valid_id_card("110105194913310028")  # month 13 is no birth date
    assert not is_valid_id_card("11010519491231002")  # 17 characters


@pytest.mark.parametrize(
    "text",
    [
        f"电话{PHONE}",
        f"电话 +86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}",
        f"tel:86{PHONE}",
        f"{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}",
        f'{{"phone": "+86{PHONE}"}}',
        f"身份证{ID_NO}",
        f"id={ID_NO.lower()}",
        repr(f"号码{PHONE}，身份证{ID_NO}".encode()),  # bytes quoted in a log line: \xe7\xa0\x81139…
        json.dumps(f"号码{PHONE}"),  # escaped JSON: \u7801139…
    ],
)
def test_each_spelling_is_found_raw_and_gone_once_masked(text: str) -> None:
    assert list(find_pii(text)), "the scanner must see the raw number"
    assert list(find_pii(mask_text(text))) == [], f"masking left a number in {mask_text(text)!r}"


@pytest.mark.parametrize(
    "text",
    [
        "139****4321",
        "110***********1237",
        "工单T202611220001，户号2026010001，金额2327.00元",
        "trace 1139876543210",  # a longer run of digits is not a phone
        '"id": "97d5f089f15146848948d4c0102553de"',  # nor digits inside a hex id (a flaky hit once)
        "order 4200001234567890123456",
        ID_NO[:17] + ("0" if ID_NO[17] != "0" else "1"),  # checksum fails
    ],
)
def test_masked_forms_and_other_numbers_are_not_hits(text: str) -> None:
    assert list(find_pii(text)) == []


def test_the_command_line_counts_per_file_and_fails_on_hits(tmp_path: Path, capsys) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text(f"ok 139****4321\nleak {PHONE} {ID_NO}\n", encoding="utf-8")
    with gzip.open(tmp_path / "logs" / "old.log.gz", "wt", encoding="utf-8") as old:
        old.write(f"{PHONE}\n{PHONE}\n")
    (tmp_path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + PHONE.encode())
    (tmp_path / "clean.csv").write_text("\ufeff指标,数值\nfirst_response,12\n", encoding="utf-8")
    assert main([str(tmp_path), "--show"]) == 1
    out = capsys.readouterr().out
    assert "app.log\tmobile=1\tid_card=1" in out and "old.log.gz\tmobile=2\tid_card=0" in out
    assert "scanned 3 files\tmobile=3\tid_card=1" in out  # the PNG is skipped as binary
    assert PHONE not in out and ID_NO not in out and "139****4321" in out
    assert main([str(tmp_path / "clean.csv")]) == 0


# --- a realistic day, scanned ---


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """The app's own logging setup, writing to a file; the process's logging is restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    watched = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved_servers = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in watched}
    with path.open("w", encoding="utf-8") as stream:
        configure_logging(level="DEBUG", json=True, stream=stream)
        try:
            yield
        finally:
            for handler in root.handlers:
                handler.flush()
            root.handlers = saved[0]
            root.setLevel(saved[1])
            structlog.reset_defaults()
            structlog.configure(**saved[2])
            for name, (handlers, propagate) in saved_servers.items():
                server = logging.getLogger(name)
                server.handlers, server.propagate = handlers, propagate


@contextmanager
def _served_like_production(app) -> Iterator[str]:
    port = _free_port()
    # As backoffice/cli.py serves: uvicorn leaves logging to the app (log_config=None), access log on.
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def _seed(settings, clock) -> None:
    engine = make_engine(settings)
    async with make_sessionmaker(engine)() as session, session.begin():
        await seed_demo(session, clock=clock)
    await engine.dispose()


def _wechat_post(http: httpx.Client, text: str, *, msg_id: str) -> httpx.Response:
    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    signature = hashlib.sha1("".join(sorted(["warmline", timestamp, nonce])).encode()).hexdigest()
    body = (
        "<xml><ToUserName>gh_demo</ToUserName><FromUserName>oPIIFollower01</FromUserName>"
        f"<CreateTime>{timestamp}</CreateTime><MsgType>text</MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    return http.post(
        "/wechat",
        params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
        content=body.encode(),
        headers={"content-type": "text/xml"},
    )


def _resident_day(http: httpx.Client, typed: list[str]) -> str:
    opened = http.post(
        "/api/v1/chat/sessions", json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"}
    ).json()
    chat = {"Authorization": f"Bearer {opened['token']}"}
    for text in (
        f"你好，我手机{PHONE}，身份证{ID_NO}，暖气不热",
        f"家里电话 +86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}，全屋都不热，屋里才14度",
        "从昨天晚上开始的",
        "是的，请帮我报修",
        f"转人工！联系我{PHONE[:3]}-{PHONE[3:7]}-{PHONE[7:]}",
    ):
        typed.append(text)
        answer = http.post(
            f"/api/v1/chat/sessions/{opened['session_id']}/messages", json={"text": text}, headers=chat
        )
        assert answer.status_code == 200, answer.text
    # A URL carrying an ID number ends up in the access log.
    assert http.get(f"/api/v1/chat/sessions/{ID_NO}", headers=chat).status_code == 401
    return opened["session_id"]


def _login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    token = http.post("/api/v1/auth/login", json={"username": username, "password": password}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_day_of_chats_errors_and_exports_leaves_no_unmasked_number(
    settings, clock, demo_kb, shared_classifier, tmp_path: Path
) -> None:
    asyncio.run(_seed(settings, clock))
    log_file, exports = tmp_path / "logs" / "warmline.log", tmp_path / "exports"
    log_file.parent.mkdir()
    exports.mkdir()
    typed: list[str] = []
    app = create_app(settings, clock=clock, kb=demo_kb, classifier=shared_classifier, run_jobs=False)

    async def crm_lookup_crash() -> None:
        raise RuntimeError(f"CRM lookup failed for phone={PHONE} id_card={ID_NO}")

    # A handler bug whose exception quotes personal data: the error report must still be masked.
    app.add_api_route("/api/v1/crm-lookup", crm_lookup_crash, methods=["GET"])
    with (
        _logging_to(log_file),
        _served_like_production(app) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        conversation_id = _resident_day(http, typed)
        typed.append(f"我的电话{PHONE}，身份证{ID_NO}")
        assert _wechat_post(http, typed[-1], msg_id="7300000000000000001").status_code == 200
        agent = _login(http, "agent1", "warmline-agent")
        assert http.get(f"{BO}/residents", params={"q": PHONE}, headers=agent).status_code == 200
        assert http.post(f"{BO}/conversations/{conversation_id}/take-over", headers=agent).status_code == 200
        reply = f"已记下您的电话{PHONE}，师傅会联系您"
        assert http.post(
            f"{BO}/conversations/{conversation_id}/reply", json={"text": reply}, headers=agent
        ).is_success
        # uvicorn drops the connection after an app error; a keep-alive client would read a reset.
        crashed = http.get("/api/v1/crm-lookup", headers={"Connection": "close"})
        assert crashed.status_code == 500 and PHONE not in crashed.text
        supervisor = _login(http, "supervisor", "warmline-super")
        revealed = http.post(
            f"{BO}/residents/2026010001/contact", json={"reason": "上门维修需核实门牌"}, headers=supervisor
        )
        assert revealed.status_code == 200  # the one sanctioned full view: audited, never exported
        views = {
            "overview.csv": (f"{BO}/dashboards/overview", {"format": "csv"}),
            **{
                f"volumes-{by}.csv": (f"{BO}/dashboards/volumes", {"format": "csv", "by": by})
                for by in ("channel", "category", "emotion", "urgency")
            },
            "hot-topics.json": (f"{BO}/dashboards/hot-topics", {}),
            "conversation.json": (f"{BO}/conversations/{conversation_id}", {}),
            "queue.json": (f"{BO}/conversations", {}),
            "tickets.json": (f"{BO}/tickets", {}),
            "residents.json": (f"{BO}/residents", {"q": "2026010001"}),
            "audit.json": (f"{BO}/audit", {}),
            "unanswered.json": (f"{BO}/kb/unanswered", {}),
            "quality-flagged.json": (f"{BO}/quality/flagged", {}),
        }
        for name, (path, params) in views.items():
            answer = http.get(path, params=params, headers=supervisor)
            assert answer.status_code == 200, f"{path}: {answer.text}"
            (exports / name).write_bytes(answer.content)
        tickets = http.get(f"{BO}/tickets", headers=supervisor).json()["items"]
        assert tickets, "the fault report opened a ticket"
        for ticket in tickets[:5]:
            detail = http.get(f"{BO}/tickets/{ticket['ticket_no']}", headers=supervisor)
            (exports / f"ticket-{ticket['ticket_no']}.json").write_bytes(detail.content)

    logged = log_file.read_text(encoding="utf-8")
    assert "unhandled_error" in logged and "Traceback" in logged and "CRM lookup failed" in logged
    assert "GET /api/v1/backoffice/residents?q=" in logged, "the access log was written"
    assert f"{PHONE[:3]}****{PHONE[-4:]}" in logged, "personal data reached the log, masked"
    control = tmp_path / "typed.txt"
    control.write_text("\n".join(typed), encoding="utf-8")
    assert total_hits(scan_paths([control])) == {"mobile": 4, "id_card": 2}, "the scanner sees what was typed"
    reports = scan_paths([log_file, exports])
    leaks = {r.path: [(h.kind, h.line, h.masked) for h in r.hits] for r in reports if r.hits}
    assert len(reports) == 1 + len(list(exports.iterdir()))
    assert total_hits(reports) == {"mobile": 0, "id_card": 0}, leaks


# --- unmasking is always audited ---


async def _token(client, username: str, password: str) -> dict[str, str]:
    login = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def test_every_unmasking_writes_an_audit_row_and_a_refused_one_writes_nothing(client, sessions) -> None:
    supervisor = await _token(client, "supervisor", "warmline-super")
    admin = await _token(client, "admin", "warmline-admin")
    agent = await _token(client, "agent1", "warmline-agent")
    asks = [
        (supervisor, "2026010001", "上门维修需核实门牌"),
        (supervisor, "2026010002", "住户来电要求回拨"),
        (admin, "2026010003", "欠费催缴需电话联系"),
        (supervisor, "2026010001", "二次核实联系方式"),
        (admin, "2026010004", "工单改派需通知住户"),
    ]
    for headers, account_no, reason in asks:
        answer = await client.post(
            f"{BO}/residents/{account_no}/contact", json={"reason": reason}, headers=headers
        )
        assert answer.status_code == 200 and answer.json()["phone"], answer.text
    refused = [
        (agent, "2026010001", "想看一下"),  # role
        (supervisor, "2026010001", "看"),  # a reason too short to mean anything
        (supervisor, "2026019999", "上门维修需核实"),  # no such account
        (None, "2026010001", "上门维修需核实"),  # not logged in
    ]
    for headers, account_no, reason in refused:
        answer = await client.post(
            f"{BO}/residents/{account_no}/contact", json={"reason": reason}, headers=headers
        )
        assert answer.status_code in (401, 403, 404, 422) and "phone" not in answer.json()
    async with sessions() as session:
        reveals = select(AuditLog).where(AuditLog.action == "reveal_contact")
        rows = list(await session.scalars(reveals))
        assert await session.scalar(select(func.count()).select_from(reveals.subquery())) == len(asks)
    assert sorted(row.reason for row in rows) == sorted(reason for _, _, reason in asks)
    assert all(
        row.actor.startswith("staff:") and row.target_type == "account" and row.target_id for row in rows
    )
    listed = (await client.get(f"{BO}/audit", params={"action": "reveal_contact"}, headers=supervisor)).json()
    assert len(listed) == len(asks) and {e["reason"] for e in listed} == {r for _, _, r in asks}
