"""The chat API as the widget and the app use it, on the demo company with the offline backend."""

import httpx
from sqlalchemy import select

from tools.tickets.models import Ticket


async def _open(client: httpx.AsyncClient, **body) -> tuple[str, dict[str, str], dict]:
    response = await client.post("/api/v1/chat/sessions", json={"channel": "web", **body})
    assert response.status_code == 201, response.text
    data = response.json()
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}, data


async def _say(client, session_id, headers, text: str) -> dict:
    response = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages", json={"text": text}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_anonymous_visitor_gets_a_grounded_answer_with_its_source(client) -> None:
    session_id, headers, opened = await _open(client)
    assert opened["resident"] is None and opened["suggestions"]
    reply = await _say(client, session_id, headers, "暖气费多少钱一平")
    assert reply["classification"]["category"] == "billing"
    assert "26.00" in reply["reply"] and reply["sources"]
    assert not reply["handoff"]


async def test_out_of_domain_questions_get_an_honest_i_dont_know(client) -> None:
    session_id, headers, _ = await _open(client)
    reply = await _say(client, session_id, headers, "帮我写一篇关于春天的作文")
    assert "没有找到确切的答案" in reply["reply"] and "转人工" in reply["reply"]


async def test_wrong_account_pair_is_a_clear_403(client) -> None:
    response = await client.post(
        "/api/v1/chat/sessions", json={"channel": "web", "account_no": "2026010001", "phone_last4": "9999"}
    )
    assert response.status_code == 403
    assert "户号或手机号后四位不正确" in response.json()["error"]["message"]


async def test_no_heat_goes_from_self_check_to_a_ticket_over_turns(client, sessions) -> None:
    session_id, headers, opened = await _open(client, account_no="2026010001", phone_last4="0001")
    assert opened["resident"]["phone"] == "139****0001"
    first = await _say(client, session_id, headers, "暖气不热")
    assert first["classification"]["category"] == "no_heat" and first["ticket"] is None
    assert "放气" in first["reply"]
    second = await _say(client, session_id, headers, "试过了还是不热，全屋都不热，屋里才14度")
    assert second["ticket"] and second["ticket"]["ticket_no"].startswith("BX")
    assert second["ticket"]["ticket_no"] in second["reply"]
    assert "师傅上门，预计上门时段" in second["reply"]  # auto-dispatch: the reply carries worker and window
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket.category == "no_heat" and "14℃" in ticket.description
    progress = await _say(client, session_id, headers, "师傅什么时候来")
    assert ticket.ticket_no in progress["reply"] and "已派工" in progress["reply"]


async def test_a_burst_pipe_gets_an_emergency_ticket_safety_steps_and_a_human(client, sessions) -> None:
    session_id, headers, _ = await _open(client, account_no="2026010001", phone_last4="0001")
    reply = await _say(client, session_id, headers, "家里暖气管爆了，水淹了！")
    assert reply["classification"]["urgency"] == "emergency"
    assert reply["ticket"]["urgency"] == "emergency" and "关闭入户阀门" in reply["reply"]
    assert reply["handoff"] is True


async def test_a_session_token_opens_only_its_own_conversation(client) -> None:
    mine, my_headers, _ = await _open(client)
    _theirs, their_headers, _ = await _open(client)
    await _say(client, mine, my_headers, "你好")
    assert (await client.get(f"/api/v1/chat/sessions/{mine}/messages", headers=my_headers)).status_code == 200
    stolen = await client.get(f"/api/v1/chat/sessions/{mine}/messages", headers=their_headers)
    assert stolen.status_code == 401
    forged = await client.post(
        f"/api/v1/chat/sessions/{mine}/messages", json={"text": "hi"}, headers=their_headers
    )
    assert forged.status_code == 401


async def test_a_client_retry_with_the_same_id_is_answered_once(client) -> None:
    session_id, headers, _ = await _open(client)
    body = {"text": "什么时候供暖", "client_message_id": "abc-1"}
    first = await client.post(f"/api/v1/chat/sessions/{session_id}/messages", json=body, headers=headers)
    again = await client.post(f"/api/v1/chat/sessions/{session_id}/messages", json=body, headers=headers)
    assert again.json()["duplicate"] and again.json()["reply"] == first.json()["reply"]
    history = (await client.get(f"/api/v1/chat/sessions/{session_id}/messages", headers=headers)).json()
    assert [m["sender"] for m in history] == ["resident", "bot"]


async def test_bad_input_is_a_4xx_never_a_500(client) -> None:
    session_id, headers, _ = await _open(client)
    for body in ({"text": ""}, {"text": "x" * 5000}, {"nope": 1}, []):
        response = await client.post(
            f"/api/v1/chat/sessions/{session_id}/messages", json=body, headers=headers
        )
        assert response.status_code == 422, body
    blank = await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages", json={"text": "   "}, headers=headers
    )
    assert blank.status_code == 422


async def test_the_widget_and_demo_page_are_served(client) -> None:
    assert "wl-panel" in (await client.get("/widget.js")).text
    assert "/widget.js" in (await client.get("/")).text


async def test_a_bound_resident_sees_their_bill_and_gets_a_payment_order(client) -> None:
    session_id, headers, _ = await _open(client, account_no="2026010001", phone_last4="0001")
    bill = await _say(client, session_id, headers, "我欠多少钱")
    assert bill["classification"]["category"] == "billing" and "2327.00" in bill["reply"]
    pay = await _say(client, session_id, headers, "我要交暖气费")
    assert pay["payment_order"]["amount"] == "2327.00"
    assert pay["payment_order"]["order_no"] in pay["reply"]
