"""The pushes answered "success" before their turn finished, kept on disk until their reply is out.

WeChat never pushes a message again once it got "success", so a process that dies between that
answer and storing the message (or sending the late reply) would lose it. Each such push is
appended to ``<data_dir>/wechat-journal/<UTC day>.jsonl`` before "success" goes out; at
start the app replays every entry of the last ``KEEP_DAYS`` whose late reply is not in the outbox.
A replay runs the same turn: the runtime answers a stored message from its earlier reply, or
finishes a turn a crash cut short, so replaying twice is harmless. A file, not the database: the
database is the queue a surge waits on, and this write must not wait.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import xmltodict

KEEP_DAYS = 2  # WeChat's customer-service window is 48 h: a reply later than that cannot be sent


@dataclass(frozen=True)
class Entry:
    external_id: str
    openid: str
    xml: str  # the decrypted push, re-parsed with wechatpy on replay


class InboundJournal:
    """Appends with group commit: pushes arriving while a write is under way go together in the
    next write (one fsynced write per push queued 4,000 surge pushes behind each other:
    evals/bench_wechat's passive answers reached 7 s)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._queued: list[tuple[str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, message: object, *, external_id: str) -> None:
        data = getattr(message, "_data", None)  # wechatpy keeps the parsed XML fields here
        entry = {
            "external_id": external_id,
            "openid": getattr(message, "source", ""),
            "xml": xmltodict.unparse({"xml": data}, full_document=False) if data else "",
            "at": time.time(),
        }
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((json.dumps(entry, ensure_ascii=False) + "\n", done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        await done

    async def _write_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                await asyncio.to_thread(self._append, "".join(line for line, _ in batch))
            except OSError as error:
                outcome: BaseException | None = error
            else:
                outcome = None
            for _, done in batch:
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)

    def _append(self, line: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{datetime.now(UTC):%Y-%m-%d}.jsonl"
        if not path.exists():  # a new day: the files past the window go (they hold residents' words)
            self.prune()
        # Written through to the OS, not fsynced: that survives the process dying (kill -9, OOM),
        # the failure this guards against, and matches the database's own level (SQLite WAL with
        # synchronous=NORMAL), without a disk flush on the surge's path.
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def entries(self) -> list[Entry]:
        """Every entry of the kept days, oldest first; a torn last line (a crash mid-write) is skipped."""
        if not self.folder.exists():
            return []
        found: list[Entry] = []
        for path in sorted(self.folder.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    raw = json.loads(line)
                    found.append(Entry(raw["external_id"], raw["openid"], raw["xml"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return found

    def prune(self, now: datetime | None = None) -> int:
        """Delete the files older than ``KEEP_DAYS``; returns how many went."""
        if not self.folder.exists():
            return 0
        oldest = f"{(now or datetime.now(UTC)) - timedelta(days=KEEP_DAYS):%Y-%m-%d}"
        gone = 0
        for path in self.folder.glob("*.jsonl"):
            if path.stem < oldest:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
