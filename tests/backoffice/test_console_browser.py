"""The agent console in headless Chromium against the real app serving the demo company.

A resident asks for a human through the chat API; agent1 logs in, sees the conversation arrive live,
takes it over, replies (the resident reads it through the chat API), notes, hands back and closes it.
An admin approves and rejects proposed FAQ entries and reassigns, notes and moves a ticket. Screenshots
land in reports/screenshots/console-*.png for a human to look at.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from kb.models import KbProposal
from tests.browser import browser, screenshot, served_demo  # noqa: F401  (pytest fixtures)
from tools.clock import Clock
from tools.crm.service import get_account_by_no
from tools.db import make_engine, make_sessionmaker
from tools.dispatch.models import Worker
from tools.dispatch.service import assign_ticket
from tools.settings import Settings
from tools.tickets.service import create_or_attach

REPLY = "您好，我是客服小李，已为您加急安排师傅上门。"
NOTE = "老人独居，优先派单"
XSS = '<img src=x onerror="window.__xss=1">'


def _resident_hands_off(http: httpx.Client, text: str, *, bound: bool = True) -> tuple[str, dict[str, str]]:
    body = (
        {"channel": "web", "account_no": "2026010001", "phone_last4": "0001"} if bound else {"channel": "web"}
    )
    opened = http.post("/api/v1/chat/sessions", json=body).json()
    headers = {"Authorization": f"Bearer {opened['token']}"}
    reply = http.post(
        f"/api/v1/chat/sessions/{opened['session_id']}/messages", json={"text": text}, headers=headers
    )
    assert reply.status_code == 200 and reply.json()["handoff"] is True, reply.text
    return opened["session_id"], headers


def _login(driver: WebDriver, url: str, username: str, password: str) -> WebDriverWait:
    driver.get(f"{url}/console")
    wait = WebDriverWait(driver, 20)
    wait.until(visible.visibility_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait.until(visible.visibility_of_element_located((By.ID, "app")))
    return wait


def _bearer(driver: WebDriver) -> dict[str, str]:
    """The logged-in console's own token, to check through the API what the clicks changed."""
    token = driver.execute_script("return sessionStorage.getItem('warmline.token')")
    return {"Authorization": f"Bearer {token}"}


def _queue_item(conversation_id: str) -> tuple[str, str]:
    return (By.CSS_SELECTOR, f'#queue li[data-id="{conversation_id}"]')


def test_an_agent_takes_over_replies_and_hands_back_in_the_browser(served_demo, browser) -> None:  # noqa: F811
    with httpx.Client(base_url=served_demo.url, timeout=30) as http:
        first, resident = _resident_hands_off(http, "转人工！暖气片冰凉三天了，屋里才16度")
        _resident_hands_off(http, "你们到底修不修？投诉！转人工", bound=False)

        wait = _login(browser, served_demo.url, "agent1", "warmline-agent")
        wait.until(visible.visibility_of_element_located(_queue_item(first)))
        assert [b.text for b in browser.find_elements(By.CSS_SELECTOR, "#tabs button")] == ["会话", "工单"]
        wait.until(lambda d: "实时" in d.find_element(By.ID, "live").text)

        # A new handoff reaches the open console through the event stream, without a reload.
        live, _ = _resident_hands_off(http, f"水管爆了，家里跑水了，快来人！转人工 {XSS}", bound=False)
        WebDriverWait(browser, 10).until(visible.visibility_of_element_located(_queue_item(live)))
        items = browser.find_elements(By.CSS_SELECTOR, "#queue li")
        assert items[0].get_attribute("data-id") == live  # the emergency goes to the top
        assert "紧急" in items[0].text
        screenshot(browser, "console-queue")

        # Resident text is shown as text, never run as HTML.
        items[0].click()
        wait.until(lambda d: XSS in d.find_element(By.ID, "transcript").text)
        assert browser.execute_script("return window.__xss") is None
        assert not browser.find_elements(By.CSS_SELECTOR, "#transcript img")

        browser.find_element(By.CSS_SELECTOR, _queue_item(first)[1]).click()
        # Wait for this conversation's view, not the previous one's (their summaries look alike).
        wait.until(lambda d: "锦绣花园" in d.find_element(By.ID, "conv-title").text)
        assert "住户要求转人工" in browser.find_element(By.ID, "handoff-summary").text
        assert browser.find_elements(By.CSS_SELECTOR, "#emotion-trend li .bar")
        assert not browser.find_element(By.ID, "send-reply").is_enabled()  # take over first

        browser.find_element(By.ID, "take-over").click()
        wait.until(lambda d: d.find_element(By.ID, "conv-owner").text == "由我接待")
        wait.until(visible.visibility_of_element_located((By.CSS_SELECTOR, f'#mine li[data-id="{first}"]')))
        assert not browser.find_elements(*_queue_item(first))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#kb-suggestions li strong"))

        box = browser.find_element(By.ID, "reply-text")
        box.send_keys(NOTE)
        browser.find_element(By.ID, "add-note").click()
        wait.until(lambda d: NOTE in d.find_element(By.ID, "notes").text)
        box.send_keys(REPLY)
        browser.find_element(By.ID, "send-reply").click()
        wait.until(lambda d: REPLY in d.find_element(By.ID, "transcript").text)
        screenshot(browser, "console-conversation")

        history = http.get(f"/api/v1/chat/sessions/{first}/messages", headers=resident).json()
        texts = [m["text"] for m in history]
        assert REPLY in texts and NOTE not in texts

        browser.find_element(By.ID, "hand-back").click()
        wait.until(lambda d: d.find_element(By.ID, "conv-owner").text == "机器人接待中")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f'#mine li[data-id="{first}"]'))
        back = http.post(
            f"/api/v1/chat/sessions/{first}/messages", json={"text": "什么时候供暖"}, headers=resident
        )
        assert back.json()["reply"]  # the bot answers again

        browser.find_element(By.ID, "close-conv").click()
        wait.until(lambda d: d.find_element(By.ID, "conv-owner").text.startswith("会话已结束"))
        assert not browser.find_element(By.ID, "take-over").is_displayed()
        agent = _bearer(browser)
        closed = http.get(f"/api/v1/backoffice/conversations/{first}", headers=agent).json()
        assert closed["status"] == "closed" and closed["closed_by"].startswith("staff:")
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors


def test_a_supervisor_sees_tickets_and_the_dashboard_in_the_browser(served_demo, browser) -> None:  # noqa: F811
    with httpx.Client(base_url=served_demo.url, timeout=30) as http:
        _resident_hands_off(http, "转人工，楼上漏水了，水一直往下滴")
    wait = _login(browser, served_demo.url, "supervisor", "warmline-super")
    tabs = {b.text: b for b in browser.find_elements(By.CSS_SELECTOR, "#tabs button")}
    assert {"会话", "工单", "看板", "质检", "知识库"} <= set(tabs)

    tabs["工单"].click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tickets-list tbody tr, #tickets-list .empty"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#tickets-list tbody tr")
    if rows:
        rows[0].click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ticket-detail .timeline li"))
    screenshot(browser, "console-tickets")

    tabs["看板"].click()
    wait.until(
        lambda d: (
            not [p for p in d.find_elements(By.CSS_SELECTOR, "#dashboard-body .panel") if "加载中" in p.text]
        )
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#dashboard-body .panel")
    screenshot(browser, "console-dashboard")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


ANSWER = "暖气片表面可以刷专用耐高温漆，请在停暖期施工，不要刷在温控阀和排气阀上。"
REJECT_REASON = "与供热服务无关"
TICKET_NOTE = "住户白天不在家，下午五点后上门"


async def _seed_actions(settings: Settings, clock: Clock) -> tuple[str, str, str]:
    """A ticket dispatched to 王建国 (W001) and two proposed FAQ entries; returns their ids."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            account = await get_account_by_no(session, "2026010003")
            outcome = await create_or_attach(
                session,
                account_id=account.id,
                category="no_heat",
                urgency="normal",
                description="卧室暖气片不热",
                clock=clock,
                settings=settings,
            )
            w001 = await session.scalar(select(Worker).where(Worker.code == "W001"))
            await assign_ticket(
                session, ticket=outcome.ticket, clock=clock, settings=settings, worker_id=w001.id
            )
            tag = uuid.uuid4().hex[:8]
            paint = KbProposal(
                source="mining",
                dedupe_key=f"browser-paint-{tag}",
                title="暖气片能不能刷漆",
                questions=["暖气片能刷油漆吗", "暖气片生锈了可以自己刷漆吗"],
                note="知识库中没有相关内容，请填写答案后再批准。",
                asked_count=6,
            )
            stray = KbProposal(
                source="mining",
                dedupe_key=f"browser-stray-{tag}",
                title="小区垃圾什么时候清运",
                questions=["小区的垃圾什么时候清运"],
                asked_count=2,
            )
            session.add_all([paint, stray])
        return outcome.ticket.ticket_no, paint.id, stray.id
    finally:
        await engine.dispose()


def test_an_admin_curates_proposals_and_works_a_ticket_in_the_browser(
    served_demo,  # noqa: F811
    browser,  # noqa: F811
    settings,
    clock,
) -> None:
    ticket_no, paint, stray = asyncio.run(_seed_actions(settings, clock))
    document_id = None
    with httpx.Client(base_url=served_demo.url, timeout=30) as http:
        try:
            wait = _login(browser, served_demo.url, "admin", "warmline-admin")
            tabs = {b.text: b for b in browser.find_elements(By.CSS_SELECTOR, "#tabs button")}

            # Knowledge base: approve one proposal with an answer, reject the other with a reason.
            tabs["知识库"].click()
            card = f'li.proposal[data-id="{paint}"]'
            wait.until(visible.visibility_of_element_located((By.CSS_SELECTOR, card)))
            wait.until(
                visible.visibility_of_element_located((By.CSS_SELECTOR, f'li.proposal[data-id="{stray}"]'))
            )
            browser.find_element(By.CSS_SELECTOR, f"{card} .proposal-approve").click()
            wait.until(lambda d: "请先填写答案" in d.find_element(By.CSS_SELECTOR, f"{card} .error").text)
            browser.find_element(By.CSS_SELECTOR, f"{card} .proposal-answer").send_keys(ANSWER)
            screenshot(browser, "console-kb-proposals")
            browser.find_element(By.CSS_SELECTOR, f"{card} .proposal-approve").click()
            wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, card))
            other = f'li.proposal[data-id="{stray}"]'
            browser.find_element(By.CSS_SELECTOR, f"{other} .proposal-reason").send_keys(REJECT_REASON)
            browser.find_element(By.CSS_SELECTOR, f"{other} .proposal-reject").click()
            wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, other))

            admin = _bearer(browser)
            approved = http.get(f"/api/v1/backoffice/kb/proposals/{paint}", headers=admin).json()
            assert approved["status"] == "approved" and approved["decided_by"] == "系统管理员"
            document_id = approved["document_id"]
            faq = http.get(f"/api/v1/backoffice/kb/documents/{document_id}", headers=admin).json()
            assert (faq["kind"], faq["status"], faq["content"]) == ("faq", "active", ANSWER)
            hits = http.post(
                "/api/v1/backoffice/kb/hit-test", json={"query": "暖气片能刷油漆吗"}, headers=admin
            ).json()["hits"]
            assert hits and hits[0]["title"] == "暖气片能不能刷漆"
            rejected = http.get(f"/api/v1/backoffice/kb/proposals/{stray}", headers=admin).json()
            assert rejected["status"] == "rejected" and rejected["decision_note"] == REJECT_REASON

            # Tickets: reassign to 李卫东 (W002), add an internal note, move it along the lifecycle.
            tabs["工单"].click()
            row = (By.CSS_SELECTOR, f'#tickets-list tr[data-ticket="{ticket_no}"]')
            wait.until(visible.element_to_be_clickable(row)).click()
            wait.until(visible.visibility_of_element_located((By.ID, "ticket-reassign")))
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#ticket-worker option[value="W002"]'))
            assert not browser.find_elements(By.CSS_SELECTOR, '#ticket-worker option[value="W001"]')
            Select(browser.find_element(By.ID, "ticket-worker")).select_by_value("W002")
            browser.find_element(By.ID, "ticket-reassign-reason").send_keys("王师傅临时请假")
            browser.find_element(By.ID, "ticket-reassign").click()
            wait.until(lambda d: "李卫东" in d.find_element(By.CSS_SELECTOR, "#ticket-detail .kv").text)

            wait.until(visible.visibility_of_element_located((By.ID, "ticket-note"))).send_keys(TICKET_NOTE)
            browser.find_element(By.ID, "ticket-add-note").click()
            wait.until(
                lambda d: TICKET_NOTE in d.find_element(By.CSS_SELECTOR, "#ticket-detail .timeline").text
            )

            statuses = Select(browser.find_element(By.ID, "ticket-status"))
            assert [o.get_attribute("value") for o in statuses.options] == ["师傅已出发", "已取消"]
            statuses.select_by_value("师傅已出发")
            browser.find_element(By.ID, "ticket-status-reason").send_keys("师傅电话确认已出发")
            browser.find_element(By.ID, "ticket-transition").click()
            wait.until(
                lambda d: d.find_element(By.ID, "ticket-detail").get_attribute("data-status") == "师傅已出发"
            )
            assert not browser.find_element(By.ID, "ticket-error").text
            screenshot(browser, "console-ticket-actions")

            detail = http.get(f"/api/v1/backoffice/tickets/{ticket_no}", headers=admin).json()
            assert (detail["status"], detail["worker_code"]) == ("师傅已出发", "W002")
            assert [e["message"] for e in detail["timeline"] if e["kind"] == "internal"] == [TICKET_NOTE]
            worker = http.post("/api/v1/auth/login", json={"username": "w002", "password": "warmline-worker"})
            route = http.get(
                "/api/v1/worker/route", headers={"Authorization": f"Bearer {worker.json()['token']}"}
            ).json()["visits"]
            assert [v["ticket_no"] for v in route] == [ticket_no]
            errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, errors
        finally:
            if document_id:  # the demo KB is shared by the whole test session
                served_demo.app.state.kb.remove(document_id)
