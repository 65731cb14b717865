"""The agent console in headless Chromium against the real app serving the demo company.

A resident asks for a human through the chat API; agent1 logs in, sees the conversation arrive live,
takes it over, replies (the resident reads it through the chat API), notes, and hands back. Screenshots
land in reports/screenshots/console-*.png for a human to look at.
"""

from __future__ import annotations

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import browser, screenshot, served_demo  # noqa: F401  (pytest fixtures)

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
