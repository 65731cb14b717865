"""Retention: what residents said is kept only as long as it is needed (PIPL Art. 19, GenAI Art. 11).

After ``settings.retention_days`` (default 365: one heating season plus the complaint and
follow-up period after it) a message's content is anonymised, not deleted: the row, its time,
sender and labels stay, so dashboards, quality scores and label corrections keep their counts and
foreign keys, but its text, normalised text and attachments go. The same cut-off clears
conversations' handoff summaries and chat tokens, survey answers, quality evidence quotes,
delivered outbox texts and recipients, binding attempts, and ticket photos.

What is *not* purged here, on purpose: the audit log (PIPL Art. 55/56 asks for it to be kept),
tickets, bills and payments (business records kept under the contract), and accounts.

Files are not touched here: ``PurgeReport.files`` lists them for ``remove_uploads``. LangGraph
checkpoints hold the raw transcript of every thread; ``PurgeReport.threads`` names the
conversations whose checkpoints must go (backoffice/retention_jobs.py does both, with the agent's
checkpointer). The bot then starts such a thread afresh; its recent transcript stays in ``messages``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tools.audit import record_audit
from tools.clock import Clock, local_date
from tools.conversations.models import Conversation, Message
from tools.crm.models import BindingAttempt
from tools.followups.models import Survey
from tools.outbox import OutboxMessage
from tools.quality.models import QualityReview
from tools.tickets.models import TicketAttachment

PURGED_TEXT = "（该消息已超过保存期限，内容已删除）"
FINAL_OUTBOX = ("sent", "failed", "undeliverable", "cancelled")
_CHUNK = 500


@dataclass
class PurgeReport:
    cutoff: datetime
    messages: int = 0
    conversations: int = 0
    surveys: int = 0
    quality_reviews: int = 0
    outbox: int = 0
    binding_attempts: int = 0
    attachments: int = 0
    files: set[str] = field(default_factory=set)  # relative to uploads_dir, for remove_uploads
    threads: set[str] = field(default_factory=set)  # conversation ids whose checkpoints must go

    def counts(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "conversations": self.conversations,
            "surveys": self.surveys,
            "quality_reviews": self.quality_reviews,
            "outbox": self.outbox,
            "binding_attempts": self.binding_attempts,
            "attachments": self.attachments,
            "files": len(self.files),
            "threads": len(self.threads),
        }


def retention_cutoff(clock: Clock, days: int) -> datetime:
    return clock.now() - timedelta(days=days)


async def purge_expired(session: AsyncSession, *, clock: Clock, retention_days: int) -> PurgeReport:
    """Anonymise or delete everything personal older than the retention period; flushes, the caller
    commits. Running it again finds nothing new (purged rows no longer match)."""
    report = PurgeReport(cutoff=retention_cutoff(clock, retention_days))
    await _messages(session, report)
    await _conversations(session, report)
    await _surveys(session, report)
    await _quality(session, report)
    await _outbox(session, report)
    attempts = await session.execute(delete(BindingAttempt).where(BindingAttempt.at < report.cutoff))
    report.binding_attempts = attempts.rowcount or 0
    photos = list(
        await session.scalars(select(TicketAttachment).where(TicketAttachment.uploaded_at < report.cutoff))
    )
    for photo in photos:
        report.files.add(photo.path)
        await session.delete(photo)
    report.attachments = len(photos)
    await session.flush()
    if any(report.counts().values()):
        await record_audit(
            session,
            clock=clock,
            actor="system:retention",
            action="retention_purge",
            target_type="retention",
            reason=f"超过保存期限 {retention_days} 天",
            details={"cutoff": report.cutoff.isoformat(), **report.counts()},
        )
    return report


async def _messages(session: AsyncSession, report: PurgeReport) -> None:
    expired = (Message.created_at < report.cutoff, Message.text != PURGED_TEXT)
    rows = await session.execute(select(Message.id, Message.conversation_id, Message.meta).where(*expired))
    ids: list[str] = []
    for message_id, conversation_id, meta in rows:
        ids.append(message_id)
        report.threads.add(conversation_id)
        report.files.update(_attachment_paths(meta))
    for start in range(0, len(ids), _CHUNK):
        await session.execute(
            update(Message)
            .where(Message.id.in_(ids[start : start + _CHUNK]))
            .values(text=PURGED_TEXT, normalized_text=None, meta={"purged": True})
            .execution_options(synchronize_session=False)
        )
    report.messages = len(ids)


def _attachment_paths(meta: dict[str, Any] | None) -> Iterable[str]:
    return [path for path in (meta or {}).get("attachments") or [] if isinstance(path, str)]


async def _conversations(session: AsyncSession, report: PurgeReport) -> None:
    last_active = Conversation.last_message_at < report.cutoff
    never_active = (Conversation.last_message_at.is_(None)) & (Conversation.created_at < report.cutoff)
    result = await session.execute(
        update(Conversation)
        .where(or_(last_active, never_active))
        .where(or_(Conversation.handoff_summary.is_not(None), Conversation.token_hash.is_not(None)))
        .values(handoff_summary=None, token_hash=None)
        .execution_options(synchronize_session=False)
    )
    report.conversations = result.rowcount or 0


async def _surveys(session: AsyncSession, report: PurgeReport) -> None:
    result = await session.execute(
        update(Survey)
        .where(Survey.sent_at < report.cutoff, Survey.answer_text.is_not(None))
        .values(answer_text=None)
        .execution_options(synchronize_session=False)
    )
    report.surveys = result.rowcount or 0


async def _quality(session: AsyncSession, report: PurgeReport) -> None:
    """Scores stay (they are about the handler, not the resident); quoted evidence goes."""
    reviews = await session.scalars(
        select(QualityReview).where(
            or_(QualityReview.scored_through < report.cutoff, QualityReview.scored_at < report.cutoff)
        )
    )
    for review in reviews:
        if any(rule.get("evidence") for rule in review.rules or []):
            review.rules = [{**rule, "evidence": []} for rule in review.rules]
            report.quality_reviews += 1


async def _outbox(session: AsyncSession, report: PurgeReport) -> None:
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.created_at < report.cutoff,
            OutboxMessage.status.in_(FINAL_OUTBOX),
            OutboxMessage.text != PURGED_TEXT,
        )
        .values(text=PURGED_TEXT, payload={}, receipt=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    report.outbox = result.rowcount or 0


def remove_uploads(uploads_dir: Path, paths: Iterable[str], *, clock: Clock, retention_days: int) -> int:
    """Delete the purged files, then WeChat's dated picture folders older than the cut-off (pictures
    whose message was never stored would otherwise stay). Paths outside ``uploads_dir`` are ignored."""
    root = uploads_dir.resolve()
    removed = 0
    for relative in paths:
        target = (root / relative).resolve()
        if target.is_relative_to(root) and target.is_file():
            target.unlink()
            removed += 1
    oldest_kept = (local_date(clock) - timedelta(days=retention_days)).strftime("%Y%m%d")
    wechat = root / "wechat"
    if wechat.is_dir():
        for folder in wechat.iterdir():
            if (
                folder.is_dir()
                and folder.name.isdigit()
                and len(folder.name) == 8
                and folder.name < oldest_kept
            ):
                removed += sum(1 for p in folder.rglob("*") if p.is_file())
                shutil.rmtree(folder)
    return removed
