"""Signed bearer tokens for staff (JWT, HS256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt

from tools.settings import Settings

_ALGORITHM = "HS256"


@dataclass(frozen=True)
class StaffClaims:
    staff_id: str
    role: str
    name: str


def issue_staff_token(settings: Settings, claims: StaffClaims, *, now: datetime) -> str:
    payload = {
        "sub": claims.staff_id,
        "role": claims.role,
        "name": claims.name,
        "aud": "warmline-staff",
        "iat": int(now.timestamp()),
        "exp": int((now + settings.token_ttl).timestamp()),
    }
    return jwt.encode(payload, settings.signing_key, algorithm=_ALGORITHM)


def read_staff_token(settings: Settings, token: str, *, now: datetime) -> StaffClaims | None:
    try:
        payload = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[_ALGORITHM],
            audience="warmline-staff",
            options={"verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    # Expiry is checked against the injected clock, not the wall clock, so tests can move time.
    if int(payload.get("exp", 0)) <= now.timestamp():
        return None
    return StaffClaims(staff_id=payload["sub"], role=payload["role"], name=payload.get("name", ""))


# --- stream tickets: EventSource cannot send an Authorization header ---

_STREAM_AUDIENCE = "warmline-stream"
STREAM_TICKET_TTL_S = 60


def issue_stream_ticket(settings: Settings, claims: StaffClaims, *, now: datetime) -> str:
    """A one-minute token that only opens an event stream (its audience is not accepted as a bearer token).

    It travels in a URL, so it may end up in access logs; a minute of read-only stream access is the
    most such a leak can give.
    """
    payload = {
        "sub": claims.staff_id,
        "role": claims.role,
        "name": claims.name,
        "aud": _STREAM_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + STREAM_TICKET_TTL_S,
    }
    return jwt.encode(payload, settings.signing_key, algorithm=_ALGORITHM)


def read_stream_ticket(settings: Settings, ticket: str, *, now: datetime) -> StaffClaims | None:
    try:
        payload = jwt.decode(
            ticket,
            settings.signing_key,
            algorithms=[_ALGORITHM],
            audience=_STREAM_AUDIENCE,
            options={"verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    if int(payload.get("exp", 0)) <= now.timestamp():
        return None
    return StaffClaims(staff_id=payload["sub"], role=payload["role"], name=payload.get("name", ""))
