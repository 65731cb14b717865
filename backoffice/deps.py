"""FastAPI dependencies: the app's services, a unit-of-work session, and the current staff user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backoffice.security import StaffClaims, read_staff_token
from tools.clock import Clock
from tools.errors import PermissionDenied, Unauthenticated
from tools.settings import Settings
from tools.staff.models import StaffUser


@dataclass
class AppServices:
    """Everything built once at startup and shared by requests."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


def make_services(settings: Settings, *, clock: Clock | None = None) -> AppServices:
    from tools.clock import SystemClock
    from tools.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    return AppServices(
        settings=settings, clock=clock or SystemClock(), engine=engine, sessions=make_sessionmaker(engine)
    )


async def get_services(request: Request) -> AppServices:
    return request.app.state.services


ServicesDep = Annotated[AppServices, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    async with services.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]  # commit before responding

_bearer = HTTPBearer(auto_error=False)


async def get_current_staff(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffClaims:
    """The token's holder as the database knows them now.

    A token lives 12 hours; without this look-up a deactivated account, or one moved to a lesser
    role, would keep its old powers until expiry. The look-up uses its own short session so an
    open event stream never holds a connection (or a SQLite read transaction) for its lifetime.
    """
    if credentials is None:
        raise Unauthenticated("请先登录")
    claims = read_staff_token(services.settings, credentials.credentials, now=services.clock.now())
    if claims is None:
        raise Unauthenticated("登录已失效，请重新登录")
    async with services.sessions() as session:
        user = await session.get(StaffUser, claims.staff_id)
    if user is None or not user.active:
        raise Unauthenticated("账号已停用，请联系管理员")
    if user.role != claims.role:
        return StaffClaims(staff_id=claims.staff_id, role=user.role, name=claims.name)
    return claims


CurrentStaff = Annotated[StaffClaims, Depends(get_current_staff)]


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, StaffClaims]]:
    """A dependency that lets only the given roles through (admin always passes)."""

    async def check(staff: CurrentStaff) -> StaffClaims:
        if staff.role != "admin" and staff.role not in roles:
            raise PermissionDenied("没有权限执行此操作")
        return staff

    return check
