"""``POST /api/v1/classify``: the message classifier as a service (category, emotion, urgency)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from tools.errors import InvalidInput
from tools.validators import NOT_BLANK

router = APIRouter(prefix="/api/v1", tags=["classify"])
MAX_TEXT = 2000


class ClassifyRequest(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, pattern=NOT_BLANK, description="不能全是空白")
    vulnerable: bool = Field(
        default=False, strict=True, description="住户是否为重点关注对象（老人、婴幼儿等）"
    )

    @field_validator("text")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("消息不能为空")
        return value


class ClassifyResponse(BaseModel):
    category: str
    emotion: str
    urgency: str
    confidence: float
    emotion_confidence: float
    urgency_reasons: list[str]


@router.post("/classify", response_model=ClassifyResponse)
async def classify(body: ClassifyRequest, request: Request) -> ClassifyResponse:
    """Classify one resident message. Read-only."""
    agent = getattr(request.app.state, "agent", None)
    if agent is None:
        raise InvalidInput("服务尚未就绪，请稍后再试")
    # CPU-bound but sub-millisecond; a thread keeps a first-call model build off the event loop.
    result = await asyncio.to_thread(agent.classifier.classify, body.text, vulnerable=body.vulnerable)
    return ClassifyResponse(
        category=result.category,
        emotion=result.emotion,
        urgency=result.urgency,
        confidence=result.confidence,
        emotion_confidence=result.emotion_confidence,
        urgency_reasons=list(result.urgency_reasons),
    )
