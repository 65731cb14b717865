"""The worker app through HTTP: own route with full contact details, the visit steps, photos."""

from sqlalchemy import select

from tests.backoffice.dispatch_helpers import PNG, dispatch_to, login, open_ticket
from tools.audit import AuditLog
from tools.tickets.models import Ticket, TicketAttachment


async def _route(client, worker):
    response = await client.get("/api/v1/worker/route", headers=worker)
    assert response.status_code == 200, response.text
    return response.json()["visits"]


async def test_a_worker_sees_his_route_with_full_address_and_the_view_is_audited(
    client, sessions, clock, settings
) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    visits = await _route(client, await login(client, "w001"))
    assert [v["ticket_no"] for v in visits] == [ticket_no]
    assert visits[0]["address"] == "锦绣花园3号楼2单元501室" and visits[0]["contact_phone"] == "13912340001"
    assert visits[0]["sequence"] == 1 and visits[0]["eta_start"] and visits[0]["plan_method"] == "ortools"
    assert await _route(client, await login(client, "w002")) == []
    async with sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "worker_route_viewed"))
    assert audit.actor == "worker:W001" and audit.details["tickets"] == [ticket_no]


async def test_accept_depart_arrive_finish_moves_the_residents_timeline(
    client, sessions, clock, settings
) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    worker = await login(client, "w001")
    assignment = (await _route(client, worker))[0]["assignment_id"]
    base = f"/api/v1/worker/assignments/{assignment}"
    steps = [("accept", "已派工"), ("depart", "师傅已出发"), ("arrive", "已到场")]
    for step, status in steps:
        response = await client.post(f"{base}/{step}", headers=worker)
        assert response.status_code == 200, response.text
        assert response.json()["ticket_status"] == status
    done = await client.post(
        f"{base}/finish",
        data={"notes": "排气阀堵塞，已清理"},
        files=[("photos", ("after.png", PNG, "image/png"))],
        headers=worker,
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"ticket_no": ticket_no, "ticket_status": "已完成", "assignment_status": "done"}
    async with sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))
        photo = await session.scalar(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id))
    assert [e.status for e in ticket.events][-3:] == ["师傅已出发", "已到场", "已完成"]
    assert "排气阀堵塞" in ticket.events[-1].message and ticket.arrived_at is not None
    assert photo.content_type == "image/png" and (settings.uploads_dir / photo.path).read_bytes() == PNG
    assert await _route(client, worker) == []


async def test_another_workers_assignment_reads_as_not_found(client, sessions, clock, settings) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    assignment = (await _route(client, await login(client, "w001")))[0]["assignment_id"]
    other = await login(client, "w002")
    for step in ("accept", "depart", "arrive"):
        response = await client.post(f"/api/v1/worker/assignments/{assignment}/{step}", headers=other)
        assert response.status_code == 404
    response = await client.post(
        f"/api/v1/worker/assignments/{assignment}/photos",
        files={"file": ("a.png", PNG, "image/png")},
        headers=other,
    )
    assert response.status_code == 404


async def test_finishing_before_arriving_is_a_conflict(client, sessions, clock, settings) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    worker = await login(client, "w001")
    assignment = (await _route(client, worker))[0]["assignment_id"]
    response = await client.post(
        f"/api/v1/worker/assignments/{assignment}/finish", data={"notes": "x"}, headers=worker
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "illegal_transition"
    twice = [
        await client.post(f"/api/v1/worker/assignments/{assignment}/accept", headers=worker) for _ in (1, 2)
    ]
    assert [r.status_code for r in twice] == [200, 409]


async def test_photo_uploads_are_checked_by_type_content_and_size(client, sessions, clock, settings) -> None:
    ticket_no = await open_ticket(sessions, clock, settings)
    await dispatch_to(client, ticket_no, "W001")
    worker = await login(client, "w001")
    url = f"/api/v1/worker/assignments/{(await _route(client, worker))[0]['assignment_id']}/photos"

    async def upload(name, data, kind):
        return await client.post(url, files={"file": (name, data, kind)}, headers=worker)

    assert (await upload("a.gif", b"GIF89a" + b"\x00" * 10, "image/gif")).status_code == 422
    fake = await upload("a.png", b"MZ\x90\x00 not an image", "image/png")
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "unsupported_type"
    big = await upload("big.jpg", b"\xff\xd8\xff" + b"\x00" * settings.upload_max_bytes, "image/jpeg")
    assert big.status_code == 422 and big.json()["error"]["code"] == "file_too_large"
    ok = await upload("ok.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")
    assert ok.status_code == 200 and ok.json()["content_type"] == "image/webp"


async def test_staff_who_are_not_workers_cannot_use_the_worker_app(client) -> None:
    agent = await login(client, "agent1")
    assert (await client.get("/api/v1/worker/route", headers=agent)).status_code == 403
    admin = await login(client, "admin")  # admin passes the role check but is no worker
    response = await client.get("/api/v1/worker/route", headers=admin)
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_worker"
