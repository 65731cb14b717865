"""Request and response bodies of the chat API (the OpenAPI schema the widget and the app read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.crm.schemas import AccountMasked
from tools.validators import NOT_BLANK

MAX_TEXT = 1000


class SessionIn(BaseModel):
    channel: Literal["web", "app"] = Field(default="web", description="渠道：网页客服 web 或 App app")
    account_no: str | None = Field(default=None, max_length=20, description="10 位户号")
    phone_last4: str | None = Field(default=None, max_length=4, description="登记手机号后四位")


class SessionOut(BaseModel):
    session_id: str
    token: str = Field(description="会话令牌，仅返回一次；之后以 Authorization: Bearer 携带")
    resident: AccountMasked | None = None
    suggestions: list[str] = Field(description="猜你想问")


class SessionState(BaseModel):
    session_id: str
    channel: str
    resident: AccountMasked | None = None
    owner: Literal["bot", "agent"] = Field(description="当前由机器人还是人工坐席接待")
    agent_name: str | None = Field(default=None, description="接待坐席的称呼")
    waiting_for_agent: bool = Field(description="已转人工、正在排队")


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK, description="不能全是空白")
    client_message_id: str | None = Field(
        default=None, max_length=64, description="客户端重发时保持不变，防止重复"
    )


class Classification(BaseModel):
    category: str
    emotion: str
    urgency: str
    confidence: float


class ReplyOut(BaseModel):
    message_id: str
    reply: str | None = Field(description="机器人回复；人工坐席接管期间为空")
    classification: Classification
    suggestions: list[str]
    handoff: bool
    ticket: dict[str, Any] | None = None
    payment_order: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = []
    duplicate: bool = False


class HistoryItem(BaseModel):
    id: str
    sender: str = Field(description="resident 住户 / bot 机器人 / agent 坐席 / system 系统")
    text: str
    at: datetime
    attachments: list[str] = []


class TrackStep(BaseModel):
    at: datetime
    status: str
    message: str
    worker_name: str | None = None


class TicketTrack(BaseModel):
    """A parcel-style tracking view: the lifecycle stages, where the ticket is, and what happened."""

    ticket_no: str
    category: str
    category_name: str
    urgency: str
    status: str
    stages: list[str] = Field(description="完整流程，按顺序")
    stage_index: int = Field(description="当前所处流程位置；已取消为 -1")
    worker_name: str | None = None
    eta_start: datetime | None = None
    eta_end: datetime | None = None
    eta_text: str = ""
    created_at: datetime
    steps: list[TrackStep]
    photos: int = Field(description="已上传的照片数")


class AttachmentOut(BaseModel):
    attachment_id: str
    content_type: str
    size: int
    ticket_no: str | None = Field(default=None, description="照片已附到的工单；无进行中工单时为空")
    message: str
