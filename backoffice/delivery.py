"""Builds the outbox delivery: one sender per channel, wired from settings (composition root).

The API process builds one at startup (late WeChat replies are tried at once through it, and the
embedded scheduler's job uses the same instance, so one WeChat token cache serves both); a
``warmline worker`` builds its own on the first job run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from backoffice.jobs import Job
from channels.base import OutboundSender
from channels.delivery import OutboxDelivery
from channels.inbox import ConversationSender
from channels.wechat.client import WeChatApi
from channels.wechat.sender import WeChatSender
from tools.events import EventBus

if TYPE_CHECKING:
    from backoffice.deps import AppServices


def make_senders(
    services: AppServices, events: EventBus, *, wechat_api: WeChatApi | None = None
) -> dict[str, OutboundSender]:
    settings = services.settings
    api = wechat_api or WeChatApi.from_settings(settings)
    senders: list[OutboundSender] = [
        WeChatSender(api, templates=settings.wechat_templates),
        ConversationSender("web", services.sessions, services.clock, events),
        ConversationSender("app", services.sessions, services.clock, events),
    ]
    return {sender.channel: sender for sender in senders}


def make_outbox_delivery(
    services: AppServices, events: EventBus, *, wechat_api: WeChatApi | None = None
) -> OutboxDelivery:
    return OutboxDelivery(
        sessions=services.sessions,
        clock=services.clock,
        senders=make_senders(services, events, wechat_api=wechat_api),
    )


def delivery_job(delivery: OutboxDelivery | None = None) -> Job:
    """The scheduled pass over due outbox rows; builds its own delivery in a worker process."""
    built: list[OutboxDelivery] = [delivery] if delivery is not None else []

    async def run(services: AppServices) -> dict[str, int]:
        if not built:
            from tools.events import make_event_bus

            built.append(make_outbox_delivery(services, make_event_bus(services.settings.redis_url)))
        return await built[0].run_due()

    return Job("outbox_delivery", timedelta(seconds=5), run)
