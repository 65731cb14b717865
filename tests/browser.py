"""Shared headless-Chromium harness for the browser tests (console, web widget).

Debian's ``chromium`` + ``chromium-driver`` drive the pages through selenium with the system
chromedriver given explicitly, so Selenium Manager never downloads anything. Without a browser
the tests skip locally with the reason, and fail under CI (``CI=true``), where .ci/run installs it.

Use the fixtures by importing them into a test module::

    from tests.browser import browser, served_demo  # noqa: F401  (pytest fixtures)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from backoffice.app import create_app
from tools.clock import Clock
from tools.db import make_engine, make_sessionmaker
from tools.demo.seed import seed_demo
from tools.settings import Settings

SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "screenshots"
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs a headless browser: {reason}")
    pytest.skip(reason)


def find_chromium() -> tuple[str, str]:
    """(browser binary, chromedriver) from PATH, or skip/fail with the reason."""
    binary = os.environ.get("WARMLINE_CHROMIUM") or next(filter(None, map(shutil.which, _BROWSERS)), None)
    driver = os.environ.get("WARMLINE_CHROMEDRIVER") or shutil.which("chromedriver")
    if not binary or not driver:
        _missing("chromium / chromedriver not installed (apt-get install -y chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("selenium not installed (pip install -e '.[dev]' -c constraints.txt)")
    return binary, driver  # type: ignore[return-value]


@pytest.fixture
def browser() -> Iterator[object]:
    """A headless Chromium WebDriver, 1440x900, Chinese locale; quit after the test."""
    binary, driver_path = find_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # containers run as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,900",
        "--lang=zh-CN",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: object, name: str) -> Path:
    """Save ``reports/screenshots/<name>.png`` (gitignored) for a human to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    app: FastAPI


def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Run ``app`` under uvicorn on a free 127.0.0.1 port in a thread (its own event loop and lifespan)."""
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def _seed(settings: Settings, clock: Clock) -> None:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await seed_demo(session, clock=clock)
    finally:
        await engine.dispose()


@pytest.fixture
def served_demo(settings, clock, demo_kb, shared_classifier) -> Iterator[LiveServer]:
    """The real app with the demo company, served over HTTP for a browser.

    The app runs on the system clock (the browser's clock is real too); the demo data is seeded
    with the test clock, a week into the heating season.
    """
    asyncio.run(_seed(settings, clock))
    app = create_app(settings, kb=demo_kb, classifier=shared_classifier, run_jobs=False)
    yield from serve(app)


def wait_for(condition: Callable[[], object], *, timeout: float = 15.0, what: str = "condition") -> object:
    """Poll ``condition`` until it returns something truthy (for API-side checks next to the browser)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
