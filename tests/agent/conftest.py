from collections.abc import AsyncIterator

import pytest

from agent.checkpoints import make_checkpointer


@pytest.fixture
async def checkpointer(settings) -> AsyncIterator[object]:
    """The embedded checkpointer, as the runtime gets it from ``make_agent_runtime``."""
    async with make_checkpointer(settings) as saver:
        yield saver
