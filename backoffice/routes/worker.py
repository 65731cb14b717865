"""The repair worker's phone app: today's route, accept, set off, arrive, finish with photos.

A ``worker`` staff account is linked to one worker row; every route here resolves that worker
from the token and touches only his assignments (another worker's id reads as not found). The
route shows the full address and phone, which the worker needs at the door; each view is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.audit import record_audit
from tools.dispatch import visits
from tools.dispatch.models import Assignment, Worker
from tools.dispatch.schemas import WorkerRoute, WorkerVisit
from tools.errors import InvalidInput, PermissionDenied
from tools.staff.models import StaffUser
from tools.tickets.attachments import save_photo
from tools.tickets.models import Ticket
from tools.tickets.schemas import AttachmentView

router = APIRouter(prefix="/api/v1/worker", tags=["worker"], dependencies=[Depends(require_roles("worker"))])
MAX_PHOTOS = 6


async def get_current_worker(session: SessionDep, staff: CurrentStaff) -> Worker:
    user = await session.get(StaffUser, staff.staff_id)
    worker = await session.get(Worker, user.worker_id) if user and user.worker_id else None
    if worker is None:
        raise PermissionDenied("该账号未关联维修师傅", code="not_a_worker")
    return worker


CurrentWorker = Annotated[Worker, Depends(get_current_worker)]


class StepOut(BaseModel):
    ticket_no: str
    ticket_status: str
    assignment_status: str


class FinishIn(BaseModel):
    notes: str = Field(default="", max_length=2000)


def _step(assignment: Assignment, ticket: Ticket) -> StepOut:
    return StepOut(
        ticket_no=ticket.ticket_no, ticket_status=ticket.status, assignment_status=assignment.status
    )


@router.get("/route")
async def route(session: SessionDep, services: ServicesDep, worker: CurrentWorker) -> WorkerRoute:
    """Open visits in planned order with the full address and phone (audited)."""
    rows = await visits.todays_visits(session, worker_id=worker.id)
    if rows:
        await record_audit(
            session,
            clock=services.clock,
            actor=f"worker:{worker.code}",
            action="worker_route_viewed",
            target_type="assignment",
            reason="上门维修需要完整地址和电话",
            details={"tickets": [ticket.ticket_no for _, ticket in rows]},
        )
    return WorkerRoute(
        worker_code=worker.code,
        worker_name=worker.name,
        visits=[WorkerVisit.of(assignment, ticket) for assignment, ticket in rows],
    )


async def _own(session: SessionDep, assignment_id: str, worker: Worker) -> Assignment:
    return await visits.own_assignment(session, assignment_id=assignment_id, worker_id=worker.id)


@router.post("/assignments/{assignment_id}/accept")
async def accept(
    assignment_id: str, session: SessionDep, services: ServicesDep, worker: CurrentWorker
) -> StepOut:
    assignment = await _own(session, assignment_id, worker)
    ticket = await visits.accept(session, assignment=assignment, clock=services.clock)
    return _step(assignment, ticket)


@router.post("/assignments/{assignment_id}/depart")
async def depart(
    assignment_id: str, session: SessionDep, services: ServicesDep, worker: CurrentWorker
) -> StepOut:
    assignment = await _own(session, assignment_id, worker)
    ticket = await visits.depart(session, assignment=assignment, clock=services.clock)
    return _step(assignment, ticket)


@router.post("/assignments/{assignment_id}/arrive")
async def arrive(
    assignment_id: str, session: SessionDep, services: ServicesDep, worker: CurrentWorker
) -> StepOut:
    assignment = await _own(session, assignment_id, worker)
    ticket = await visits.arrive(session, assignment=assignment, clock=services.clock)
    return _step(assignment, ticket)


async def _store(
    session: SessionDep, services: ServicesDep, worker: Worker, ticket: Ticket, upload: UploadFile
) -> AttachmentView:
    # Read one byte past the cap: enough to refuse an oversized file without buffering all of it.
    data = await upload.read(services.settings.upload_max_bytes + 1)
    attachment = await save_photo(
        session,
        ticket=ticket,
        data=data,
        content_type=upload.content_type or "",
        filename=upload.filename or "",
        settings=services.settings,
        clock=services.clock,
        uploaded_by=f"worker:{worker.code}",
    )
    return AttachmentView.of(attachment)


@router.post("/assignments/{assignment_id}/photos")
async def photo(
    assignment_id: str,
    session: SessionDep,
    services: ServicesDep,
    worker: CurrentWorker,
    file: Annotated[UploadFile, File(description="JPG / PNG / WebP")],
) -> AttachmentView:
    assignment = await _own(session, assignment_id, worker)
    ticket = await session.get(Ticket, assignment.ticket_id)
    return await _store(session, services, worker, ticket, file)


@router.post("/assignments/{assignment_id}/finish")
async def finish(
    assignment_id: str,
    session: SessionDep,
    services: ServicesDep,
    worker: CurrentWorker,
    notes: Annotated[str, Form(max_length=2000)] = "",
    photos: Annotated[list[UploadFile] | None, File(description="维修后照片，最多 6 张")] = None,
) -> StepOut:
    """Finish the visit (multipart form: ``notes`` and optional ``photos``); photos are checked first."""
    assignment = await _own(session, assignment_id, worker)
    if len(photos or []) > MAX_PHOTOS:
        raise InvalidInput(f"最多上传 {MAX_PHOTOS} 张照片", code="too_many_photos")
    # The state change first: a finish that is not allowed (409) must not leave photos behind.
    ticket = await visits.finish(
        session, assignment=assignment, notes=notes, clock=services.clock, settings=services.settings
    )
    for upload in photos or []:
        await _store(session, services, worker, ticket, upload)
    return _step(assignment, ticket)
