"""Photos residents attach to a chat (a radiator, a leak): checked, stored, linked to the open ticket.

The type is decided from the file's first bytes, not from its name or the declared content type,
so a script renamed to ``.jpg`` is refused. Files live under ``uploads/<conversation>/`` with a
random name; the database keeps the path relative to the uploads directory.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from channels.chat.tracking import account_tickets, ticket_by_no
from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.conversations.service import append_message
from tools.errors import DomainError, NotFound, RateLimited
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket, TicketAttachment

MAX_FILES_PER_CONVERSATION = 20
_CHUNK = 64 * 1024


class FileTooLarge(DomainError):
    status_code = 413
    code = "file_too_large"


class UnsupportedFile(DomainError):
    status_code = 415
    code = "unsupported_file"


def sniff_image(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a JPEG, PNG or WebP file, from its magic bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


async def read_limited(upload: UploadFile, *, max_bytes: int) -> bytes:
    """The whole file, refusing as soon as it passes the limit (never buffers more than that)."""
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(f"图片不能超过 {max_bytes // (1024 * 1024)} MB")
        parts.append(chunk)
    return b"".join(parts)


@dataclass
class StoredPhoto:
    attachment_id: str
    content_type: str
    size: int
    ticket: Ticket | None


def _safe_name(name: str | None) -> str:
    return re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", (name or "photo"))[-160:]


async def _target_ticket(
    session: AsyncSession, conversation: Conversation, ticket_no: str | None
) -> Ticket | None:
    if conversation.account_id is None:
        if ticket_no:
            raise NotFound("绑定户号后才能给工单上传照片")
        return None
    if ticket_no:
        ticket = await ticket_by_no(session, account_id=conversation.account_id, ticket_no=ticket_no)
        if ticket is None:
            raise NotFound("未找到您名下的该工单")
        return ticket
    return next(
        (
            t
            for t in await account_tickets(session, account_id=conversation.account_id)
            if t.status in OPEN_STATES
        ),
        None,
    )


async def store_photo(
    session: AsyncSession,
    *,
    conversation: Conversation,
    upload: UploadFile,
    uploads_dir: Path,
    max_bytes: int,
    clock: Clock,
    ticket_no: str | None = None,
) -> StoredPhoto:
    data = await read_limited(upload, max_bytes=max_bytes)
    if not data:
        raise UnsupportedFile("文件是空的，请重新选择照片")
    kind = sniff_image(data[:16])
    if kind is None:
        raise UnsupportedFile("只支持 JPG、PNG、WebP 格式的照片")
    content_type, ext = kind
    folder = uploads_dir / conversation.id
    existing = await asyncio.to_thread(lambda: len(list(folder.glob("*"))) if folder.exists() else 0)
    if existing >= MAX_FILES_PER_CONVERSATION:
        raise RateLimited(f"每次会话最多上传 {MAX_FILES_PER_CONVERSATION} 张照片")
    ticket = await _target_ticket(session, conversation, ticket_no)
    file_id = uuid.uuid4().hex
    relative = f"{conversation.id}/{file_id}.{ext}"

    def write() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (uploads_dir / relative).write_bytes(data)

    await asyncio.to_thread(write)
    if ticket is not None:
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,
                path=relative,
                content_type=content_type,
                size=len(data),
                original_name=_safe_name(upload.filename),
                uploaded_at=clock.now(),
            )
        )
    note = f"[图片] 已附到工单{ticket.ticket_no}" if ticket else "[图片]"
    await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text=note,
        meta={"attachments": [relative], "ticket_no": ticket.ticket_no if ticket else None},
        clock=clock,
    )
    return StoredPhoto(attachment_id=file_id, content_type=content_type, size=len(data), ticket=ticket)
