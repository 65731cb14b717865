"""Supervisor dashboards: volumes, service figures, hot topics; CSV export and a PNG chart.

Dates are the company's local calendar days, both ends included (default: the last 7 days).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from backoffice.deps import ServicesDep, SessionDep, require_roles
from tools.analytics.export import to_csv, volume_chart
from tools.analytics.metrics import DateRange, hot_topics, overview, volumes
from tools.clock import local_date
from tools.labels import CATEGORY_NAMES_ZH, URGENCY_NAMES_ZH
from tools.validators import IsoDate

router = APIRouter(
    prefix="/api/v1/backoffice/dashboards",
    tags=["dashboards"],
    dependencies=[Depends(require_roles("supervisor"))],
)

Dimension = Literal["channel", "category", "emotion", "urgency"]
Bucket = Literal["day", "hour"]
Format = Literal["json", "csv"]
_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "JSON，或 format=csv 时的 CSV",
    }
}
EMOTION_NAMES_ZH = {
    "satisfied": "满意",
    "neutral": "平静",
    "anxious": "焦急",
    "dissatisfied": "不满",
    "angry": "愤怒",
}
CHANNEL_NAMES_ZH = {"wechat": "公众号", "web": "网页", "app": "App"}
DIMENSION_NAMES_ZH = {"channel": "渠道", "category": "类别", "emotion": "情绪", "urgency": "紧急程度"}
METRIC_NAMES_ZH = {
    "conversations": "会话数",
    "first_response_median_s": "首次响应中位数(秒)",
    "first_response_p90_s": "首次响应P90(秒)",
    "agent_pickup_median_s": "人工接起中位数(秒)",
    "escalated_conversations": "转人工会话数",
    "escalation_rate": "转人工率",
    "bot_containment_rate": "机器人自助解决率",
    "tickets": "工单数",
    "tickets_completed": "已完工工单数",
    "resolution_median_h": "完工时长中位数(小时)",
    "sla_breaches": "超时工单数",
    "sla_breach_rate": "超时率",
    "repeat_tickets": "重复报修数",
    "repeat_ticket_rate": "重复报修率",
    "reopened_tickets": "重开工单数",
    "surveys_sent": "回访发送数",
    "surveys_answered": "回访回复数",
    "survey_response_rate": "回访回复率",
    "csat": "满意率(CSAT)",
    "average_score": "平均评分",
    "hidden_dissatisfaction": "隐性不满数",
    "surveys_flagged": "需跟进回访数",
}


def _labels(by: str) -> dict[str, str]:
    return {
        "category": CATEGORY_NAMES_ZH,
        "emotion": EMOTION_NAMES_ZH,
        "urgency": URGENCY_NAMES_ZH,
        "channel": CHANNEL_NAMES_ZH,
    }[by]


def _range(services: Any, start: date | None, end: date | None) -> DateRange:
    end = end or local_date(services.clock)
    return DateRange(start or end - timedelta(days=6), end)


def _csv(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/overview", response_model=None, responses=_CSV_DOC)
async def service_overview(
    session: SessionDep,
    services: ServicesDep,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    format: Format = "json",
) -> dict[str, Any] | Response:
    """First response, containment, escalation, resolution, SLA, repeat tickets and CSAT."""
    figures = await overview(session, _range(services, start, end), clock=services.clock)
    if format == "csv":
        rows = [{"metric": k, "name": METRIC_NAMES_ZH.get(k, k), "value": v} for k, v in figures.items()]
        return _csv(to_csv(rows, ["metric", "name", "value"], ["指标", "名称", "数值"]), "overview")
    return figures


@router.get("/volumes", response_model=None, responses=_CSV_DOC)
async def message_volumes(
    session: SessionDep,
    services: ServicesDep,
    by: Dimension = "category",
    bucket: Bucket = "day",
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    format: Format = "json",
) -> list[dict[str, Any]] | Response:
    """Resident messages per day (or hour) and channel / category / emotion / urgency."""
    rows = await volumes(session, _range(services, start, end), by=by, bucket=bucket)
    if format == "csv":
        names = _labels(by)
        table = [{**row, "name": names.get(row["key"], row["key"])} for row in rows]
        headers = ["时间", DIMENSION_NAMES_ZH[by], "名称", "消息数"]
        return _csv(to_csv(table, ["bucket", "key", "name", "count"], headers), f"volumes-{by}")
    return rows


@router.get(
    "/volumes.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def volume_png(
    session: SessionDep,
    services: ServicesDep,
    by: Dimension = "category",
    bucket: Bucket = "day",
    start: IsoDate | None = None,
    end: IsoDate | None = None,
) -> Response:
    rng = _range(services, start, end)
    rows = await volumes(session, rng, by=by, bucket=bucket)
    png = volume_chart(
        rows,
        title=f"住户消息量（按{DIMENSION_NAMES_ZH[by]}） {rng.start} ~ {rng.end}",
        fallback_title=f"Resident messages by {by}, {rng.start} to {rng.end}",
        labels=_labels(by),
    )
    return Response(png, media_type="image/png")


@router.get("/hot-topics")
async def topics(
    session: SessionDep,
    services: ServicesDep,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """The KB's mined hot topics when mining has run, else the top message categories."""
    return await hot_topics(session, _range(services, start, end), limit=limit)
