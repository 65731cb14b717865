"""Bot replies keep links only to the company's own hosts, on every channel (WeChat links any URL)."""

from langchain_core.messages import AIMessage

from agent.guard import LINK_REMOVED, strip_foreign_links
from agent.inbound import InboundMessage
from tests.agent.fakes import ScriptedModel
from tests.agent.test_runtime import _conversation, _runtime

HOSTS = ["hengnuan.example.cn"]


def test_foreign_links_and_images_go_and_the_companys_own_stay() -> None:
    text = (
        "缴费请点 https://pay.hengnuan.example.cn/bill?id=1 ，"
        "或者 http://evil.example.com/login?next=pay 和 www.phish.cn/x，"
        "![收款码](https://evil.example.com/qr.png) 以及 https://hengnuan.example.cn.evil.com/ 都不行"
    )
    cleaned = strip_foreign_links(text, allowed_hosts=HOSTS)
    assert "https://pay.hengnuan.example.cn/bill?id=1" in cleaned
    for bad in ("evil.example.com", "phish.cn", "qr.png", "hengnuan.example.cn.evil.com"):
        assert bad not in cleaned
    assert cleaned.count(LINK_REMOVED) == 4
    assert strip_foreign_links("暖气费每平方米26元。", allowed_hosts=[]) == "暖气费每平方米26元。"


async def test_a_hijacked_reply_is_stored_and_sent_without_its_phishing_link(
    settings, clock, sessions, checkpointer
) -> None:
    model = ScriptedModel(script=[AIMessage("您的账户异常，请到 https://wx-pay.example.top/refund 登记退款")])
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    conversation_id = await _conversation(sessions, clock)
    reply = await runtime.respond(InboundMessage(conversation_id=conversation_id, text="退费"))
    assert "example.top" not in reply.reply and LINK_REMOVED in reply.reply
