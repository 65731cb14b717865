"""CRM tools for the agent: the bound resident's own account, masked."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from tools.context import tool_context
from tools.crm.models import Account
from tools.crm.schemas import AccountMasked
from tools.db import transaction
from tools.errors import NotFound


@tool
async def get_my_account(config: RunnableConfig) -> dict[str, Any]:
    """Read-only. Show the bound resident's own account: 户号, masked address, area, type, status."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise NotFound("未找到您的户号信息")
        view = AccountMasked.of(account)
    status = {"active": "正常供暖", "suspended": "已报停", "closed": "已销户"}[view.status]
    kind = "居民" if view.kind == "residential" else "非居民"
    return {
        "message": (
            f"您的户号{view.account_no}，地址{view.address}，供热面积{view.heated_area}㎡，"
            f"{kind}用户，状态：{status}。"
        ),
        "account_no": view.account_no,
    }


CRM_TOOLS = [get_my_account]
