"""The company app's chat API: the shared chat handlers under ``/api/v1/app``, channel "app".

The app opens a session with 户号 + 手机号后四位 (or anonymously), keeps the returned token, sends
it as ``Authorization: Bearer``, and listens on ``GET /api/v1/app/sessions/{id}/events`` for agent
replies and ticket progress. Tokens of web-widget conversations do not open app routes.
"""

from __future__ import annotations

from channels.chat.api import make_chat_router

router = make_chat_router(prefix="/api/v1/app", tag="app", channels=("app",), fixed_channel="app")
