"""The company app's chat API: the shared chat under /api/v1/app, channel "app", documented in OpenAPI."""

from sqlalchemy import select

from tools.conversations.models import Conversation


async def test_app_session_is_an_app_conversation_whatever_the_body_says(client, sessions) -> None:
    response = await client.post(
        "/api/v1/app/sessions", json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"}
    )
    assert response.status_code == 201, response.text
    opened = response.json()
    headers = {"Authorization": f"Bearer {opened['token']}"}
    async with sessions() as session:
        conversation = await session.scalar(
            select(Conversation).where(Conversation.id == opened["session_id"])
        )
    assert conversation.channel == "app" and opened["resident"]["phone"] == "139****0001"

    reply = await client.post(
        f"/api/v1/app/sessions/{opened['session_id']}/messages", json={"text": "我欠多少钱"}, headers=headers
    )
    assert reply.status_code == 200 and "2327.00" in reply.json()["reply"]
    state = (await client.get(f"/api/v1/app/sessions/{opened['session_id']}", headers=headers)).json()
    assert state["channel"] == "app" and state["owner"] == "bot" and not state["waiting_for_agent"]
    history = (
        await client.get(f"/api/v1/app/sessions/{opened['session_id']}/messages", headers=headers)
    ).json()
    assert [m["sender"] for m in history] == ["resident", "bot"]


async def test_web_widget_tokens_do_not_open_app_routes(client) -> None:
    web = (await client.post("/api/v1/chat/sessions", json={"channel": "web"})).json()
    headers = {"Authorization": f"Bearer {web['token']}"}
    response = await client.get(f"/api/v1/app/sessions/{web['session_id']}/messages", headers=headers)
    assert response.status_code == 401
    assert (await client.get(f"/api/v1/app/sessions/{web['session_id']}/messages")).status_code == 401


async def test_app_binding_errors_are_the_same_clear_403(client) -> None:
    response = await client.post(
        "/api/v1/app/sessions", json={"account_no": "2026010001", "phone_last4": "1234"}
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "binding_failed"


async def test_state_shows_a_human_agent_after_take_over(client) -> None:
    opened = (await client.post("/api/v1/app/sessions", json={})).json()
    headers = {"Authorization": f"Bearer {opened['token']}"}
    login = await client.post("/api/v1/auth/login", json={"username": "agent1", "password": "warmline-agent"})
    staff = {"Authorization": f"Bearer {login.json()['token']}"}
    taken = await client.post(
        f"/api/v1/backoffice/conversations/{opened['session_id']}/take-over", headers=staff
    )
    assert taken.status_code == 200, taken.text
    state = (await client.get(f"/api/v1/app/sessions/{opened['session_id']}", headers=headers)).json()
    assert state["owner"] == "agent" and state["agent_name"]


async def test_openapi_documents_the_app_api_with_chinese_summaries_and_models(client) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/app/sessions",
        "/api/v1/app/sessions/{session_id}/messages",
        "/api/v1/app/sessions/{session_id}/messages/stream",
        "/api/v1/app/sessions/{session_id}/events",
        "/api/v1/app/sessions/{session_id}/tickets",
        "/api/v1/app/sessions/{session_id}/attachments",
    ):
        assert path in paths, path
    post = paths["/api/v1/app/sessions/{session_id}/messages"]["post"]
    assert post["summary"] == "发送消息并获取回复" and post["tags"] == ["app"]
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReplyOut")
    assert {"HTTPBearer": []} in post["security"]
    events = paths["/api/v1/app/sessions/{session_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]
    assert "TicketTrack" in schema["components"]["schemas"]
