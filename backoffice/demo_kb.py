"""Demo self-update material: questions residents "asked" that the demo KB cannot answer, then one
mining run, so the back office opens with hot topics and proposed FAQ entries to review.

Idempotent: each planted question has a fixed message id (a gap is unique per message and
reason), and mining updates its proposals instead of duplicating them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kb.gaps import record_unanswered
from kb.mining import mine_hot_topics
from kb.retriever import KnowledgeBase
from tools.clock import Clock

# (question, reason, hours ago, 小区): three themes the demo documents do not cover, and strays.
PLANTED: tuple[tuple[str, str, int, str | None], ...] = (
    ("低保户的暖气费能减免吗", "abstained", 2, None),
    ("困难家庭有没有供暖补贴", "abstained", 5, "锦绣花园"),
    ("我是低保户，取暖费有优惠吗", "handed_off", 9, None),
    ("残疾人家庭采暖费有补贴吗", "abstained", 20, "阳光小区"),
    ("特困户暖气费可以少交吗", "low_confidence", 30, None),
    ("申请采暖补贴去哪里办", "abstained", 44, None),
    ("低保家庭供暖费减免要什么材料", "abstained", 200, None),
    ("我想把暖气片挪个位置可以吗", "abstained", 3, None),
    ("自己家能加装暖气片吗", "handed_off", 7, "滨河湾"),
    ("换暖气片需要找你们审批吗", "abstained", 26, None),
    ("装修时暖气片可以拆掉吗", "low_confidence", 50, None),
    ("卫生间想加一个暖气片", "abstained", 60, None),
    ("温控阀怎么调温度", "abstained", 1, None),
    ("家里的智能温控面板怎么用", "abstained", 6, None),
    ("温控器显示屏不亮了", "handed_off", 12, None),
    ("温控阀上的数字是什么意思", "abstained", 33, None),
    ("温控阀调到几档合适", "abstained", 180, None),
    ("温控器电池没电了怎么换", "abstained", 190, None),
    ("小区的垃圾什么时候清运", "abstained", 15, None),
    ("你们公司招聘吗", "abstained", 40, None),
)


async def seed_kb_curation(session: AsyncSession, *, kb: KnowledgeBase, clock: Clock) -> dict[str, Any]:
    now = clock.now()
    for number, (question, reason, hours, community) in enumerate(PLANTED, 1):
        await record_unanswered(
            session,
            question=question,
            message_id=f"demo-gap-{number:03d}",
            reason=reason,
            confidence=0.82,
            category="inquiry",
            scope_community=community,
            asked_at=now - timedelta(hours=hours),
            clock=clock,
        )
    return await mine_hot_topics(session, kb=kb, clock=clock)
