"""Billing tools for the agent: the bound resident's own bills, payments, orders and invoices.

No tool takes an account: identity comes from ``ResidentContext`` (server side), so whatever the
model or a prompt injection writes, a tool only ever touches the bound account. Each tool is one
transaction. Results are compact dicts in Chinese with amounts as strings; ``message`` is the text
the model (or the offline policy) can quote as is.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolCallId, tool
from pydantic import ValidationError

from tools.billing import invoices, payments, service, suspension
from tools.billing.schemas import BillPublic, InvoiceCreate
from tools.clock import COMPANY_TZ
from tools.context import tool_context
from tools.db import transaction
from tools.errors import InvalidInput


@tool
async def get_my_bills(config: RunnableConfig) -> dict[str, Any]:
    """Read-only. Show the bound resident's heating bills: the current season itemised (area × tariff,
    报停 share, early discount, late fee as of today, paid so far, due now) and any unpaid earlier
    seasons. Use it for 欠多少钱/账单/滞纳金怎么算/为什么这么多."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        statement = await service.get_statement(session, account_id=account_id, clock=deps.clock)
    older = [
        bill
        for bill in statement.arrears
        if statement.current is None or bill.season_code != statement.current.season_code
    ]
    if statement.current is None:
        message = f"户号 {statement.account_no} 暂无账单记录。"
    elif statement.total_due == 0:
        message = f"户号 {statement.account_no} 截至 {statement.as_of} 没有待缴费用。" + _bill_text(
            statement.current
        )
    else:
        message = f"户号 {statement.account_no} 截至 {statement.as_of} 共需缴纳 {statement.total_due} 元。"
        message += "".join(f"\n往年欠费 {_bill_text(bill)}" for bill in older)
        message += f"\n本采暖季 {_bill_text(statement.current)}"
        message += "\n需要缴费的话告诉我“缴费”，我为您生成支付订单。"
    return {
        "message": message,
        "account_no": statement.account_no,
        "as_of": str(statement.as_of),
        "total_due": str(statement.total_due),
        "current": _bill_brief(statement.current) if statement.current else None,
        "arrears": [_bill_brief(bill) for bill in older],
    }


@tool
async def get_payment_history(config: RunnableConfig) -> dict[str, Any]:
    """Read-only. List the bound resident's recent heating-fee payments (date, amount, channel, seasons)."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        records = await service.get_payment_history(session, account_id=account_id, limit=10)
    items = [
        {
            "paid_on": record.paid_at.astimezone(COMPANY_TZ).date().isoformat() if record.paid_at else "",
            "amount": str(record.amount),
            "channel": record.channel,
            "seasons": "、".join(record.seasons),
            "order_no": record.order_no or "",
        }
        for record in records
    ]
    if not items:
        return {"message": "没有查到您的缴费记录。", "payments": []}
    lines = [
        f"{item['paid_on'] or '日期未记录'} {item['channel']} 缴纳 {item['amount']} 元"
        f"（{item['seasons']}采暖季）"
        for item in items
    ]
    return {"message": "您最近的缴费记录：\n" + "\n".join(lines), "payments": items}


@tool
async def create_payment_order(
    config: RunnableConfig, tool_call_id: Annotated[str, InjectedToolCallId]
) -> dict[str, Any]:
    """Changes data. Create (or reuse) a WeChat Pay order for everything the bound resident owes now,
    oldest season first, late fees included; valid for 2 hours. Call it when the resident wants to pay."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        order = await payments.create_payment_order(
            session,
            account_id=account_id,
            clock=deps.clock,
            settings=deps.settings,
            idempotency_key=f"tool:{tool_call_id}",
        )
    expires = order.expires_at.astimezone(COMPANY_TZ).strftime("%m-%d %H:%M")
    parts = "，".join(f"{a.season_code}采暖季 {a.amount} 元" for a in order.allocations)
    if order.status == "paid":
        message = f"订单 {order.order_no}（{order.amount} 元）已支付成功，无需重复缴费。"
    elif order.prepay is None:
        message = f"订单 {order.order_no} {order.status_text}，请重新发起缴费。"
    else:
        message = (
            f"已为您生成缴费订单 {order.order_no}，金额 {order.amount} 元（{parts}），"
            f"请在 {expires} 前点击支付完成缴费。"
        )
    return {
        "message": message,
        "payment_order": {
            "order_no": order.order_no,
            "amount": str(order.amount),
            "status": order.status,
            "expires_at": order.expires_at.isoformat(),
            "allocations": [
                {"season_code": a.season_code, "amount": str(a.amount)} for a in order.allocations
            ],
            "wechat_jsapi": order.prepay.jsapi if order.prepay else None,
            "code_url": order.prepay.code_url if order.prepay else None,
        },
    }


@tool
async def request_invoice(
    season_code: Annotated[str, 'the heating season, like "2026-2027"'],
    title: Annotated[str, "the invoice title (个人姓名 or 单位名称) exactly as the resident gave it"],
    config: RunnableConfig,
    tool_call_id: Annotated[str, InjectedToolCallId],
    tax_no: Annotated[str | None, "the company's tax number (税号); only for a company title"] = None,
    email: Annotated[str | None, "where to send the invoice; only if the resident gave one"] = None,
) -> dict[str, Any]:
    """Changes data. Request an e-invoice (电子发票) for a fully paid heating season of the bound resident."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    try:
        request = InvoiceCreate(season_code=season_code, title=title, tax_no=tax_no, email=email)
    except ValidationError as error:
        reason = "；".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        raise InvalidInput(reason, code="invalid_invoice") from None
    async with transaction(deps.sessions) as session:
        invoice = await invoices.request_invoice(
            session,
            account_id=account_id,
            request=request,
            clock=deps.clock,
            idempotency_key=f"tool:{tool_call_id}",
        )
    if invoice.duplicate:
        message = (
            f"{invoice.season_code} 采暖季的电子发票已经申请过"
            f"（抬头：{invoice.title}，{invoice.status_text}）。如需修改抬头，请回复“转人工”由客服处理。"
        )
    else:
        to = f"开具后发送至 {invoice.email}" if invoice.email else "开具后可在公众号“我的发票”中查看"
        message = (
            f"已为您提交 {invoice.season_code} 采暖季电子发票申请（抬头：{invoice.title}，"
            f"金额 {invoice.amount} 元），{to}，一般 1 个工作日内开具。"
        )
    return {
        "message": message,
        "season_code": invoice.season_code,
        "title": invoice.title,
        "amount": str(invoice.amount),
        "status": invoice.status_text,
    }


@tool
async def apply_suspension(
    config: RunnableConfig, tool_call_id: Annotated[str, InjectedToolCallId]
) -> dict[str, Any]:
    """Changes data. File a 报停 (停供) application for the bound resident's home for the coming season,
    within the company's deadline; the result says whether it was accepted, why not (deadline passed,
    old arrears), the 报停 fee and the application number. Call it only when the resident asks to 办理报停."""
    return await _service_request(config, tool_call_id, suspension.apply_suspension)


@tool
async def apply_resumption(
    config: RunnableConfig, tool_call_id: Annotated[str, InjectedToolCallId]
) -> dict[str, Any]:
    """Changes data. File a 恢复供暖 (开通/开栓) application for the bound resident's 报停 home; the result
    gives the amount to pay and the application number, or says why none is needed."""
    return await _service_request(config, tool_call_id, suspension.apply_resumption)


async def _service_request(config: RunnableConfig, tool_call_id: str, apply: Any) -> dict[str, Any]:
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        outcome = await apply(
            session, account_id=account_id, clock=deps.clock, idempotency_key=f"tool:{tool_call_id}"
        )
    request = outcome.request
    return {
        "message": outcome.message,
        "accepted": outcome.accepted,
        "season_code": outcome.season_code,
        "service_request": None
        if request is None
        else {
            "request_no": request.request_no,
            "kind": request.kind,
            "status": suspension.STATUS_NAMES[request.status],
            "amount": str(request.quoted_amount),
        },
    }


def _bill_brief(bill: BillPublic) -> dict[str, Any]:
    return {
        "season_code": bill.season_code,
        "status": bill.status_text,
        "due_now": str(bill.due_now),
        "pay_deadline": str(bill.pay_deadline),
        "lines": [{"item": line.label, "amount": str(line.amount)} for line in bill.lines],
    }


def _bill_text(bill: BillPublic) -> str:
    items = "；".join(f"{line.label} = {line.amount}元" for line in bill.lines)
    if bill.due_now == 0:
        return f"{bill.season_code}采暖季：{bill.status_text}（{items}）。"
    tail = f"缴费截止日 {bill.pay_deadline}"
    if bill.discount_offered:
        tail = f"{bill.discount_deadline}前全额缴清可享优惠，{tail}"
    return f"{bill.season_code}采暖季：{items}；应缴 {bill.due_now} 元（{tail}）。"


BILLING_TOOLS = [
    get_my_bills,
    get_payment_history,
    create_payment_order,
    request_invoice,
    apply_suspension,
    apply_resumption,
]
