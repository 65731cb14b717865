"""Ticket photos: checked by declared type, by content (magic bytes) and by size, then stored.

Files go under ``settings.uploads_dir/tickets/<ticket id>/`` with a random name, so an original
file name never becomes a path. A declared type that the bytes contradict is refused: a renamed
executable must not be served back as an image.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.errors import InvalidInput
from tools.settings import Settings
from tools.tickets.models import Ticket, TicketAttachment

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(data: bytes, *, content_type: str, max_bytes: int) -> str:
    """The verified content type, or InvalidInput with a message a worker understands."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in IMAGE_TYPES:
        raise InvalidInput("只能上传 JPG、PNG 或 WebP 图片", code="unsupported_type")
    if not data:
        raise InvalidInput("图片是空的，请重新拍摄", code="empty_file")
    if len(data) > max_bytes:
        raise InvalidInput(f"图片不能超过 {max_bytes // (1024 * 1024)} MB", code="file_too_large")
    if sniff_image(data) != declared:
        raise InvalidInput("文件内容不是有效的图片", code="unsupported_type")
    return declared


async def save_photo(
    session: AsyncSession,
    *,
    ticket: Ticket,
    data: bytes,
    content_type: str,
    filename: str,
    settings: Settings,
    clock: Clock,
    uploaded_by: str,
) -> TicketAttachment:
    kind = check_image(data, content_type=content_type, max_bytes=settings.upload_max_bytes)
    folder = settings.uploads_dir / "tickets" / ticket.id
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{IMAGE_TYPES[kind]}"
    (folder / name).write_bytes(data)
    attachment = TicketAttachment(
        ticket_id=ticket.id,
        path=f"tickets/{ticket.id}/{name}",
        content_type=kind,
        size=len(data),
        original_name=(filename or "")[:160],
        uploaded_at=clock.now(),
        uploaded_by=uploaded_by,
    )
    session.add(attachment)
    await session.flush()
    return attachment
