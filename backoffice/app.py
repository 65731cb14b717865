"""The one place the HTTP application is assembled, from the channel and back-office routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from langchain_core.language_models import BaseChatModel
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.context import Classifier
from agent.factory import make_agent_runtime
from backoffice.delivery import make_outbox_delivery
from backoffice.deps import make_services
from backoffice.error_docs import ERROR_RESPONSES, allowed_methods
from backoffice.jobs import Scheduler, default_jobs, runs_in_api_process
from backoffice.pages import router as console_pages
from backoffice.routes import (
    auth,
    campaigns,
    contacts,
    conversations,
    dashboards,
    followups,
    health,
    quality,
    residents,
)
from backoffice.routes import classify as classify_api
from backoffice.routes import console as console_api
from backoffice.routes import dispatch as dispatch_api
from backoffice.routes import kb as kb_api
from backoffice.routes import labels as labels_api
from backoffice.routes import service_requests as service_requests_api
from backoffice.routes import tickets as tickets_api
from backoffice.routes import worker as worker_api
from channels.app import routes as app_chat
from channels.web import pages
from channels.web import routes as chat
from channels.wechat import routes as wechat
from kb.ingest import make_kb
from kb.retriever import KnowledgeBase, Scope
from tools.clock import Clock, local_date
from tools.company.models import Company
from tools.context import ToolDeps
from tools.errors import DomainError
from tools.events import make_event_bus
from tools.logging import get_logger
from tools.settings import Settings

log = get_logger(__name__)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    run_jobs: bool | None = None,
    kb: KnowledgeBase | None = None,
    model: BaseChatModel | None = None,
    classifier: Classifier | None = None,
) -> FastAPI:
    """Build the app.

    Jobs run in-process in the embedded profile; with Redis configured, ``warmline worker`` runs them
    (its own scheduler, or Celery with ``job_engine=celery``, which never runs in the API process).
    """
    if run_jobs is None:
        run_jobs = runs_in_api_process(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = make_services(settings, clock=clock)
        events = make_event_bus(settings.redis_url)
        knowledge = kb or make_kb(settings)
        app.state.services, app.state.events, app.state.kb = services, events, knowledge
        deps = ToolDeps(settings=settings, clock=services.clock, sessions=services.sessions)
        async with services.sessions() as session:
            company = await session.scalar(select(Company.name).limit(1))
        # Late WeChat replies go out through this at once; the delivery job retries what failed.
        app.state.delivery = make_outbox_delivery(services, events)
        jobs = default_jobs(delivery=app.state.delivery, kb=knowledge)
        scheduler = Scheduler(services, jobs) if run_jobs else None
        app.state.scheduler = scheduler
        async with make_agent_runtime(
            deps,
            kb=knowledge,
            events=events,
            company_name=company or "供热公司",
            model=model,
            classifier=classifier,
        ) as agent:
            app.state.agent = agent
            today = local_date(services.clock)
            await asyncio.to_thread(
                agent.warm_up, search=lambda q: knowledge.search(q, scope=Scope(today=today))
            )
            await _warm_routes(app)
            if scheduler:
                scheduler.start()
            # WeChat pushes a crash left half-done (answered "success", reply never sent).
            replay = asyncio.create_task(wechat.replay_journal(app.state), name="wechat-journal-replay")
            app.state.wechat_replay = replay
            try:
                yield
            finally:
                replay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await replay
                if scheduler:
                    await scheduler.stop()
                await events.close()
                await services.engine.dispose()

    app = FastAPI(
        title="Warmline 暖线",
        version="0.1.0",
        description="供热企业智能客服：住户对话、业务工具、知识库与后台。",
        lifespan=lifespan,
    )
    _install_error_handlers(app)
    routers = (
        health.router,
        auth.router,
        residents.router,
        conversations.router,
        contacts.router,
        followups.router,
        quality.router,
        campaigns.router,
        dashboards.router,
        console_api.router,
        tickets_api.router,
        dispatch_api.router,
        kb_api.router,
        classify_api.router,
        labels_api.router,
        service_requests_api.router,
        worker_api.router,
        chat.router,
        app_chat.router,
        wechat.router,
        pages.router,
        console_pages,
    )
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app


def _error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(_error_body(exc.code, exc.message, **exc.details), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(part) for part in err.get("loc", ())], "msg": err.get("msg", "")}
            for err in exc.errors()
        ]
        return JSONResponse(
            _error_body("invalid_request", "请求格式不正确", problems=problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "接口不存在", 405: "不支持该请求方法"}
        message = messages.get(exc.status_code, str(exc.detail))
        # Keep the exception's headers (401 WWW-Authenticate); a 405 lists every method of the path.
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405 and (allow := allowed_methods(request, headers.get("Allow"))):
            headers["Allow"] = allow
        return JSONResponse(
            _error_body(f"http_{exc.status_code}", message), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return JSONResponse(_error_body("internal", "系统繁忙，请稍后再试"), status_code=500)


async def _warm_routes(app: FastAPI) -> None:
    """Route once through the whole app before serving. FastAPI builds each router's matching
    state on the first request that reaches it; measured by evals/bench_wechat, that held the first
    WeChat pushes after a restart 0.6 s on the event loop. A path no route matches visits them all."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://warm-up") as client:
        await client.get("/__warm-up__")
