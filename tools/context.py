"""What a tool knows about its caller, injected by the server — never written by the model.

The agent passes ``ResidentContext`` and ``ToolDeps`` in LangChain's ``RunnableConfig``
(``config["configurable"]["resident"]`` / ``["deps"]``); tool wrappers read them with
``tool_context(config)``. A tool's arguments never name whose data it touches: the account is
the one bound to this conversation on the server side, so a model (or a prompt injection) asking
for account 2026019999 gets that resident's own data or a refusal, never someone else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tools.clock import Clock
from tools.errors import PermissionDenied
from tools.settings import Settings


@dataclass(frozen=True)
class ResidentContext:
    channel: str
    conversation_id: str | None = None
    account_id: str | None = None  # None: an anonymous visitor (knowledge questions only)

    def require_account(self) -> str:
        if self.account_id is None:
            raise PermissionDenied("请先绑定户号（户号 + 手机号后四位）后再查询或办理业务", code="not_bound")
        return self.account_id


@dataclass(frozen=True)
class ToolDeps:
    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]


def tool_context(config: Any) -> tuple[ResidentContext, ToolDeps]:
    configurable = (config or {}).get("configurable", {})
    resident = configurable.get("resident")
    deps = configurable.get("deps")
    if not isinstance(resident, ResidentContext) or not isinstance(deps, ToolDeps):
        raise RuntimeError("tool called without the server-side resident context")
    return resident, deps


def make_tool_config(resident: ResidentContext, deps: ToolDeps, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"resident": resident, "deps": deps, **extra}}
