"""Back-office accounts: password hashing and the login check."""

from __future__ import annotations

import bcrypt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.errors import Conflict, InvalidInput, Unauthenticated
from tools.labels import ROLES
from tools.staff.models import StaffUser


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def check_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    worker_id: str | None = None,
) -> StaffUser:
    if role not in ROLES:
        raise InvalidInput(f"未知角色：{role}")
    if len(password) < 8:
        raise InvalidInput("密码至少 8 位")
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict(f"用户名 {username} 已存在")
    user = StaffUser(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        worker_id=worker_id,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, *, username: str, password: str, clock: Clock) -> StaffUser:
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username))
    # Hash even when the user is missing so timing does not reveal which usernames exist.
    valid = check_password(password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid or not user.active:
        raise Unauthenticated("用户名或密码错误", code="bad_credentials")
    user.last_login_at = clock.now()
    await session.flush()
    return user


_DUMMY_HASH = hash_password("warmline-timing-equaliser")
