"""A slow OpenAI-compatible chat endpoint on 127.0.0.1, to load-test the LLM path without a GPU.

It speaks the real ``/v1/chat/completions`` wire format (what langchain-openai sends and parses),
waits the configured latency, and answers in Chinese without tool calls. It measures our plumbing
and the WeChat 5-second rule under a slow model, not answer quality.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

REPLY = "您好，您的问题已收到，我们正在为您处理，请稍候。"


@dataclass
class FakeLLM:
    url: str
    server: Any
    task: asyncio.Task[None]
    calls: list[float]

    async def close(self) -> None:
        self.server.should_exit = True
        await self.task


def make_fake_llm_app(latency_s: float, calls: list[float]) -> Any:
    from fastapi import FastAPI, Request

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> dict[str, Any]:
        body = await request.json()
        calls.append(time.time())
        await asyncio.sleep(latency_s)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-slow"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    return app


async def serve_fake_llm(latency_s: float) -> FakeLLM:
    import uvicorn

    calls: list[float] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(make_fake_llm_app(latency_s, calls), log_config=None, access_log=False, lifespan="off")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    return FakeLLM(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", server, task, calls)
