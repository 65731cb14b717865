"""The custom menu: validated against WeChat's limits and our click keys, published through the API."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backoffice.cli import app as cli
from channels.wechat.client import WeChatApi
from channels.wechat.menu import MENU_FILE, MenuError, load_menu, publish_menu
from channels.wechat.routes import MENU


def test_the_shipped_menu_uses_only_click_keys_the_server_understands() -> None:
    menu = load_menu()
    keys = [sub["key"] for button in menu["button"] for sub in button.get("sub_button", [])]
    assert set(keys) <= set(MENU) and {"REPORT_NO_HEAT", "PROGRESS", "PAY", "SUSPEND", "HUMAN"} <= set(keys)


@pytest.mark.parametrize(
    "menu, problem",
    [
        ({"button": [{"type": "click", "name": "报修", "key": "NOT_A_KEY"}]}, "key"),
        ({"button": [{"type": "click", "name": "一二三四五六七", "key": "PAY"}]}, "字节"),
        ({"button": [{"name": f"菜单{i}", "type": "click", "key": "PAY"} for i in range(4)]}, "1 到 3"),
    ],
)
def test_a_menu_breaking_wechat_limits_or_our_keys_is_refused(tmp_path, menu, problem) -> None:
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(menu, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(MenuError, match=problem):
        load_menu(path)


async def test_publish_posts_the_menu_file_to_menu_create(wx_settings, wechat_api) -> None:
    await publish_menu(WeChatApi.from_settings(wx_settings))
    (call,) = wechat_api.of("menu/create:ok")
    assert call.body == json.loads(MENU_FILE.read_text(encoding="utf-8"))


def test_the_cli_publishes_the_menu(wx_settings, wechat_api, monkeypatch) -> None:
    monkeypatch.setenv("WARMLINE_WECHAT_API_BASE", wechat_api.base_url)
    monkeypatch.setenv("WARMLINE_WECHAT_APP_SECRET", "cli-secret")
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(wx_settings.data_dir))
    result = CliRunner().invoke(cli, ["wechat", "publish-menu"])
    assert result.exit_code == 0, result.output
    assert "菜单已发布" in result.output and len(wechat_api.of("menu/create:ok")) == 1
    wechat_api.fail_next("menu/create", errcode=40016)
    failed = CliRunner().invoke(cli, ["wechat", "publish-menu"])
    assert failed.exit_code == 1 and "40016" in failed.output
