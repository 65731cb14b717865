"""The official account's custom menu: a JSON file checked against WeChat's limits and our routes.

Every click key must be one the message route understands (``routes.MENU``), else a resident's tap
would be silently ignored; WeChat's own limits (3 buttons, 5 sub-buttons, name lengths in bytes)
are checked before publishing so a bad file fails here with a clear message, not as errcode 40016+.
Menu clicks open only a short customer-service window (3 messages within a minute), which is why
every key maps to a question the bot answers passively.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from channels.wechat.client import WeChatApi
from channels.wechat.routes import MENU

MENU_FILE = Path(__file__).with_name("menu.json")
MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_NAME_BYTES, MAX_SUB_NAME_BYTES = 16, 60


class MenuError(ValueError):
    pass


def _check_button(button: dict[str, Any], *, max_bytes: int) -> None:
    name = str(button.get("name", ""))
    if not name or len(name.encode()) > max_bytes:
        raise MenuError(f"菜单名“{name}”为空或超过 {max_bytes} 字节")
    kind = button.get("type")
    if kind == "click" and button.get("key") not in MENU:
        raise MenuError(f"菜单“{name}”的 key {button.get('key')!r} 不是公众号消息接口能处理的按键")
    if kind == "view" and not str(button.get("url", "")).startswith(("http://", "https://")):
        raise MenuError(f"菜单“{name}”缺少有效的 url")
    if kind not in ("click", "view"):
        raise MenuError(f"菜单“{name}”的类型 {kind!r} 不受支持（click / view）")


def load_menu(path: Path = MENU_FILE) -> dict[str, Any]:
    """Read and validate a menu file; raises MenuError with a Chinese message."""
    try:
        menu = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MenuError(f"菜单文件无法读取：{exc}") from None
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MenuError(f"一级菜单需要 1 到 {MAX_BUTTONS} 个")
    for button in buttons:
        subs = button.get("sub_button")
        if subs is None:
            _check_button(button, max_bytes=MAX_NAME_BYTES)
            continue
        name = str(button.get("name", ""))
        if not name or len(name.encode()) > MAX_NAME_BYTES:
            raise MenuError(f"菜单名“{name}”为空或超过 {MAX_NAME_BYTES} 字节")
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise MenuError(f"“{name}”的二级菜单需要 1 到 {MAX_SUB_BUTTONS} 个")
        for sub in subs:
            _check_button(sub, max_bytes=MAX_SUB_NAME_BYTES)
    return menu


async def publish_menu(api: WeChatApi, path: Path = MENU_FILE) -> dict[str, Any]:
    menu = load_menu(path)
    await api.create_menu(menu)
    return menu
