"""Surveys, quality inspection, campaigns, dashboards and audited unmasking through the HTTP API."""

import httpx
from sqlalchemy import select

from tools.audit import AuditLog
from tools.crm.models import Account

LOGINS = {
    "agent": ("agent1", "warmline-agent"),
    "supervisor": ("supervisor", "warmline-super"),
    "admin": ("admin", "warmline-admin"),
    "worker": ("w001", "warmline-worker"),
}
READS = [
    "/api/v1/backoffice/surveys",
    "/api/v1/backoffice/quality/stats",
    "/api/v1/backoffice/quality/flagged",
    "/api/v1/backoffice/campaigns",
    "/api/v1/backoffice/dashboards/overview",
    "/api/v1/backoffice/dashboards/volumes?by=emotion",
    "/api/v1/backoffice/dashboards/hot-topics",
    "/api/v1/backoffice/audit",
]
CARE = {"tags": ["独居老人"], "community": "锦绣花园"}


async def _headers(client: httpx.AsyncClient, role: str) -> dict[str, str]:
    username, password = LOGINS[role]
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_only_supervisors_and_admins_reach_the_new_endpoints(client) -> None:
    writes = [
        ("/api/v1/backoffice/campaigns/preview", CARE),
        ("/api/v1/backoffice/quality/run", None),
        ("/api/v1/backoffice/residents/2026010001/contact", {"reason": "住户来电核实地址"}),
    ]
    assert (await client.get("/api/v1/backoffice/dashboards/overview")).status_code == 401
    for role, status in (("agent", 403), ("worker", 403), ("supervisor", 200), ("admin", 200)):
        headers = await _headers(client, role)
        for path in READS:
            assert (await client.get(path, headers=headers)).status_code == status, (role, path)
        for path, body in writes:
            assert (await client.post(path, json=body, headers=headers)).status_code == status, (role, path)


async def test_revealing_a_contact_needs_a_reason_and_is_audited(client, demo_app) -> None:
    supervisor = await _headers(client, "supervisor")
    path = "/api/v1/backoffice/residents/2026010001/contact"
    assert (await client.post(path, json={"reason": "看"}, headers=supervisor)).status_code == 422
    assert (await client.post(path, json={}, headers=supervisor)).status_code == 422
    assert (
        await client.post(
            "/api/v1/backoffice/residents/9999/contact", json={"reason": "核实住户地址"}, headers=supervisor
        )
    ).status_code == 404
    shown = await client.post(path, json={"reason": "上门维修需核实门牌"}, headers=supervisor)
    assert shown.status_code == 200 and shown.json()["phone"] == "13912340001"
    assert "2单元501" in shown.json()["address"]
    async with demo_app.state.services.sessions() as session:
        entries = list(await session.scalars(select(AuditLog).where(AuditLog.action == "reveal_contact")))
    assert [e.reason for e in entries] == ["上门维修需核实门牌"]
    log = (await client.get("/api/v1/backoffice/audit?action=reveal_contact", headers=supervisor)).json()
    assert log[0]["reason"] == "上门维修需核实门牌"


async def test_a_care_campaign_previews_sends_once_and_reports(client, demo_app) -> None:
    supervisor = await _headers(client, "supervisor")
    async with demo_app.state.services.sessions() as session:
        expected = sum(
            1
            for a in await session.scalars(select(Account).where(Account.status == "active"))
            if "独居老人" in (a.resident.tags or []) and a.building.community.name == "锦绣花园"
        )
    assert expected > 0
    preview = (
        await client.post("/api/v1/backoffice/campaigns/preview", json=CARE, headers=supervisor)
    ).json()
    assert preview["count"] == expected and all("*" in item["phone"] for item in preview["sample"])
    created = await client.post(
        "/api/v1/backoffice/campaigns",
        json={"name": "寒潮关怀", "text": "明日寒潮，请注意保暖。暖气不热请随时告诉我们。", "target": CARE},
        headers=supervisor,
    )
    assert created.status_code == 201
    campaign_id = created.json()["id"]
    first = (await client.post(f"/api/v1/backoffice/campaigns/{campaign_id}/send", headers=supervisor)).json()
    again = (await client.post(f"/api/v1/backoffice/campaigns/{campaign_id}/send", headers=supervisor)).json()
    assert first["queued"] == expected and again["queued"] == 0
    assert again["results"]["recipients"] == expected
    bad = await client.post("/api/v1/backoffice/campaigns/preview", json={}, headers=supervisor)
    assert bad.status_code == 422


async def test_dashboard_csv_opens_in_excel_and_the_chart_is_a_png(client) -> None:
    supervisor = await _headers(client, "supervisor")
    csv = await client.get("/api/v1/backoffice/dashboards/overview?format=csv", headers=supervisor)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode()) and "满意率(CSAT)" in csv.content.decode("utf-8-sig")
    volumes = await client.get(
        "/api/v1/backoffice/dashboards/volumes?by=category&format=csv&start=2026-11-15&end=2026-11-22",
        headers=supervisor,
    )
    assert volumes.content.decode("utf-8-sig").splitlines()[0] == "时间,类别,名称,消息数"
    png = await client.get("/api/v1/backoffice/dashboards/volumes.png?by=emotion", headers=supervisor)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    reversed_range = await client.get(
        "/api/v1/backoffice/dashboards/overview?start=2026-11-22&end=2026-11-01", headers=supervisor
    )
    assert reversed_range.status_code == 422
    assert (
        await client.get("/api/v1/backoffice/dashboards/volumes?by=nope", headers=supervisor)
    ).status_code == 422
