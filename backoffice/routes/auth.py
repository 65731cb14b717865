from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep
from backoffice.security import StaffClaims, issue_staff_token
from tools.staff.service import authenticate

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    token: str
    role: str
    display_name: str


@router.post("/login")
async def login(body: LoginIn, session: SessionDep, services: ServicesDep) -> LoginOut:
    user = await authenticate(session, username=body.username, password=body.password, clock=services.clock)
    claims = StaffClaims(staff_id=user.id, role=user.role, name=user.display_name)
    token = issue_staff_token(services.settings, claims, now=services.clock.now())
    return LoginOut(token=token, role=user.role, display_name=user.display_name)


@router.get("/me")
async def me(staff: CurrentStaff) -> dict[str, str]:
    return {"staff_id": staff.staff_id, "role": staff.role, "display_name": staff.name}
