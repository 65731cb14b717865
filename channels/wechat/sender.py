"""The WeChat outbound sender: 客服消息 first, a template message when the 48-hour window is closed.

WeChat lets an account push free text (客服消息) only within 48 hours of the resident's last
message (errcode 45015 after that; 45047 when that window's quota is used up). Service notices
that must still reach the resident — ticket progress, payment confirmations, satisfaction
surveys, arrears reminders — fall back to the template configured for their kind in
``WARMLINE_WECHAT_TEMPLATES`` (``{"ticket_progress": "<template id>", ...}``). Other kinds (a late
chat reply, a care message) have no template on purpose: that is WeChat's rule, and the message
is recorded as rejected instead of being retried forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.base import DeliveryResult, OutboundMessage
from channels.wechat.client import WINDOW_CLOSED, WeChatApi, WeChatApiError

TEMPLATE_KINDS = ("ticket_progress", "payment_confirmed", "survey", "arrears_reminder")
TEMPLATE_TITLES = {
    "ticket_progress": "您的报修工单有新进度",
    "payment_confirmed": "供热费缴费成功",
    "survey": "请您评价本次维修服务",
    "arrears_reminder": "供热费缴费提醒",
}
REMARK = "如有疑问，请在公众号直接留言或点击菜单“转人工”。"


def template_data(message: OutboundMessage) -> dict[str, Any]:
    """The classic template layout (first / keyword1.. / remark) filled from the outbox row.

    Templates are chosen by the company in the WeChat admin; they share this layout, so one
    mapping per kind is enough: the row's text always goes in full into ``first`` or ``keyword``.
    """
    payload = message.payload
    fields: list[str]
    if message.kind == "ticket_progress":
        fields = [str(payload.get("ticket_no", "")), str(payload.get("status", "")), message.text]
    elif message.kind == "payment_confirmed":
        fields = [str(payload.get("order_no", "")), f"{payload.get('amount', '')}元", message.text]
    elif message.kind == "arrears_reminder":
        fields = [f"{payload.get('total_due', '')}元", str(payload.get("as_of", "")), message.text]
    else:
        fields = [message.text]
    data: dict[str, Any] = {"first": {"value": TEMPLATE_TITLES.get(message.kind, "服务通知")}}
    for index, value in enumerate(fields, start=1):
        data[f"keyword{index}"] = {"value": value}
    data["remark"] = {"value": REMARK}
    return data


class WeChatSender:
    channel = "wechat"

    def __init__(self, api: WeChatApi, *, templates: Mapping[str, str] | None = None) -> None:
        self.api = api
        self.templates = dict(templates or {})

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        openid = message.external_user_id
        if not openid:
            return DeliveryResult.rejected("缺少 openid")
        try:
            await self.api.send_text(openid, message.text)
        except WeChatApiError as exc:
            if exc.errcode in WINDOW_CLOSED:
                return await self._template(message, openid, exc)
            return _failure(exc, via="custom")
        return DeliveryResult.sent(via="custom")

    async def _template(self, message: OutboundMessage, openid: str, cause: WeChatApiError) -> DeliveryResult:
        template_id = self.templates.get(message.kind) if message.kind in TEMPLATE_KINDS else None
        if not template_id:
            return DeliveryResult.rejected(f"已超出48小时客服消息窗口，且无可用模板（{cause}）", via="custom")
        try:
            result = await self.api.send_template(openid, template_id, template_data(message))
        except WeChatApiError as exc:
            return _failure(exc, via="template")
        return DeliveryResult.sent(via="template", msgid=result.get("msgid"), template_id=template_id)


def _failure(exc: WeChatApiError, *, via: str) -> DeliveryResult:
    if exc.transient:
        return DeliveryResult.retry(str(exc), via=via)
    return DeliveryResult.rejected(str(exc), via=via)
