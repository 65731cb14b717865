"""Fixtures for the official account's outbound side: a local fake WeChat API and an app wired to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SecretStr
from sqlalchemy import select

from backoffice.app import create_app
from evals.wechat_fake import FakeWeChatApi
from tools.crm.binding import get_or_create_identity
from tools.crm.models import Account
from tools.demo.seed import seed_demo

TEMPLATES = {"ticket_progress": "TPL-PROGRESS", "payment_confirmed": "TPL-PAID", "survey": "TPL-SURVEY"}


class SlowModel(BaseChatModel):
    """Answers every turn with plain text after ``delay_s``: a backend slower than WeChat's window."""

    delay_s: float = 4.6
    text: str = "您好，已为您查询：暖气费每平方米26元。"

    @property
    def _llm_type(self) -> str:
        return "slow-scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> SlowModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        raise NotImplementedError("async only")

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        await asyncio.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.text))])


@pytest.fixture
def wechat_api() -> Iterator[FakeWeChatApi]:
    with FakeWeChatApi() as api:
        yield api


@pytest.fixture
def wx_settings(settings, wechat_api):
    return settings.model_copy(
        update={
            "wechat_api_base": wechat_api.base_url,
            "wechat_app_secret": SecretStr("test-secret"),
            "wechat_templates": TEMPLATES,
        }
    )


async def _app(wx_settings, clock, sessions, kb, shared_classifier, model=None) -> AsyncIterator[FastAPI]:
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    app = create_app(
        wx_settings, clock=clock, kb=kb, classifier=shared_classifier, run_jobs=False, model=model
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def wx_app(wx_settings, clock, sessions, shared_classifier) -> AsyncIterator[FastAPI]:
    """The real app wired to the fake WeChat API, with an empty knowledge base (fast to build)."""
    async for app in _app(wx_settings, clock, sessions, None, shared_classifier):
        yield app


@pytest.fixture
async def slow_app(wx_settings, clock, sessions, shared_classifier) -> AsyncIterator[FastAPI]:
    async for app in _app(wx_settings, clock, sessions, None, shared_classifier, model=SlowModel()):
        yield app


def http_client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def bind_openid(sessions, openid: str, account_no: str = "2026010001") -> str:
    """A WeChat identity bound to a demo account (what a successful 绑定 leaves behind)."""
    async with sessions() as session, session.begin():
        account_id = await session.scalar(select(Account.id).where(Account.account_no == account_no))
        identity = await get_or_create_identity(session, channel="wechat", external_id=openid)
        identity.account_id = account_id
    return account_id
