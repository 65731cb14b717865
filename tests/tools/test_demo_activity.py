from datetime import date, timedelta

from sqlalchemy import func, select

from tools.analytics.metrics import DateRange, overview
from tools.clock import local_date
from tools.demo.activity import STORIES, seed_activity
from tools.demo.seed import seed_demo
from tools.dispatch.models import Worker
from tools.followups.models import Survey
from tools.quality.models import QualityReview


async def test_demo_activity_gives_the_dashboards_and_quality_pages_data_once(
    session, clock, settings
) -> None:
    await seed_demo(session, clock=clock)
    assert await seed_activity(session, clock=clock, settings=settings) == len(STORIES)
    assert await seed_activity(session, clock=clock, settings=settings) == 0
    surveys = list(await session.scalars(select(Survey)))
    assert sorted(s.outcome for s in surveys) == ["escalated", "reopened", "visited", "visited"]
    assert all(s.status == "answered" for s in surveys)
    worker = await session.scalar(select(Worker).where(Worker.code == "W001"))
    assert worker.praise_count == 1
    reviews = list(await session.scalars(select(QualityReview)))
    assert len(reviews) == len(STORIES) and sum(r.flagged for r in reviews) >= 1
    today = local_date(clock)
    figures = await overview(session, DateRange(today - timedelta(days=7), today), clock=clock)
    assert figures["conversations"] == len(STORIES) and figures["surveys_answered"] == 4
    assert figures["csat"] is not None and figures["escalated_conversations"] >= 2
    assert await session.scalar(select(func.count()).select_from(Survey)) == 4
    assert isinstance(today, date)
