"""The crash and race runners on a small scale, against a served ``warmline serve`` on PostgreSQL.

The full figures (100 kills, 100 residents × 10, 50 agents × 1,000 rounds) come from
``python -m evals.reliability.crash`` and ``python -m evals.reliability.concurrency``; this keeps
both runners, and the guarantees they audit, from rotting between those runs.
"""

from __future__ import annotations

import argparse

import pytest

from evals.reliability import concurrency, crash
from tools.demo.seed import seed_demo

pytestmark = pytest.mark.postgres


@pytest.fixture
async def seeded(settings, sessions, clock):
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    return settings


def _args(settings, **extra) -> argparse.Namespace:
    return argparse.Namespace(
        database_url=settings.database_url,
        data_dir=settings.data_dir,
        redis_url=None,
        model_latency=None,
        seed=3,
        progress=False,
        **extra,
    )


async def test_kill_9_mid_turn_loses_nothing_and_repeats_no_side_effect(seeded) -> None:
    report = await crash.main_async(_args(seeded, kills=3, width=4, port=8471, max_delay=None))
    integrity = report["integrity"]
    assert report["kills"] == 3 and integrity["messages_sent"] >= 12
    assert integrity["lost"] == integrity["stored_twice"] == 0
    assert integrity["unanswered"] == integrity["answered_twice"] == 0
    assert integrity["answered_with_empty_turn"] == 0  # a turn a kill cut short runs again, not "没有理解"
    assert integrity["duplicate_tickets"] == integrity["duplicate_payment_orders"] == 0
    handled = (
        integrity["leak_conversations_with_new_ticket"] + integrity["leak_conversations_added_to_open_ticket"]
    )
    assert handled == integrity["leak_conversations"]
    assert report["resumed_over_30s"] == 0


async def test_bursts_never_fork_a_thread_and_takeovers_have_one_winner(seeded) -> None:
    report = await concurrency.main_async(
        _args(seeded, residents=6, burst=5, agents=20, rounds=10, port=8472)
    )
    assert not concurrency.failed(report), report
    bursts = report["bursts"]
    assert bursts["checkpoints_checked"] >= 30 and bursts["checkpoint_forks"] == 0
    assert bursts["history_out_of_order"] == 0
    assert report["takeovers"]["rounds_with_exactly_one_owner"] == 10
    assert report["takeovers"]["bot_replies_while_owned"] == 0
