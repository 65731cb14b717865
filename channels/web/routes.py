"""Chat API for the web widget (the widget script on any page calls it; the app may too).

``POST /api/v1/chat/sessions`` takes the channel from the body ("web" or "app"), as DESIGN.md fixes.
"""

from __future__ import annotations

from channels.chat.api import make_chat_router

router = make_chat_router(prefix="/api/v1/chat", tag="chat", channels=("web", "app"), fixed_channel=None)
