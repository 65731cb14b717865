"""FastAPI dependencies for channel routers.

Channels sit beside the back office, not under it, so they read the services the app factory put
on ``app.state`` through this small protocol instead of importing the back office.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.runtime import AgentRuntime
from tools.clock import Clock
from tools.settings import Settings


class ChannelServices(Protocol):
    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a worker
# thread, two thread hops per WeChat push that queued behind the turns' threads in the surge.
async def get_channel_services(request: Request) -> ChannelServices:
    return request.app.state.services


async def get_agent(request: Request) -> AgentRuntime:
    return request.app.state.agent


ChannelServicesDep = Annotated[ChannelServices, Depends(get_channel_services)]
AgentDep = Annotated[AgentRuntime, Depends(get_agent)]


async def get_channel_session(services: ChannelServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a 2xx means stored (FastAPI would
# otherwise end the dependency after sending, racing the client's next request).
ChannelSessionDep = Annotated[AsyncSession, Depends(get_channel_session, scope="function")]
