from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from backoffice.app import create_app
from tools.staff.service import create_staff


@pytest.fixture
async def app(settings, clock) -> AsyncIterator[FastAPI]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _login(client: httpx.AsyncClient, sessions, *, role: str) -> dict[str, str]:
    async with sessions() as session, session.begin():
        await create_staff(
            session, username=f"u_{role}", display_name="测试", password="password-1", role=role
        )
    response = await client.post(
        "/api/v1/auth/login", json={"username": f"u_{role}", "password": "password-1"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_healthz_answers_ok(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_openapi_lists_the_api(client) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/auth/login" in paths and "/api/v1/backoffice/residents" in paths


async def test_wrong_password_is_a_clear_401(client, sessions) -> None:
    await _login(client, sessions, role="agent")
    response = await client.post("/api/v1/auth/login", json={"username": "u_agent", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "用户名或密码错误"


async def test_malformed_body_is_422_with_chinese_message(client) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_residents_need_a_staff_token(client) -> None:
    response = await client.get("/api/v1/backoffice/residents")
    assert response.status_code == 401
    bad = await client.get("/api/v1/backoffice/residents", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401


async def test_workers_cannot_list_residents(client, sessions) -> None:
    headers = await _login(client, sessions, role="worker")
    assert (await client.get("/api/v1/backoffice/residents", headers=headers)).status_code == 403


async def test_unknown_route_is_a_json_404(client) -> None:
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "http_404"
