"""A scriptable OpenAI-compatible server on 127.0.0.1 for tests and benchmarks (aiohttp).

``POST /v1/chat/completions`` answers each request with the next scripted :class:`Reply` (or the default reply):
text, log-probabilities, latency, an HTTP status with ``Retry-After``, a garbled or truncated body, a dropped
connection, or a rejection of ``response_format``. ``GET /v1/models`` lists the served model. Every request body and
its ``Authorization`` header are recorded.

In a test: ``with FakeOpenAIServer() as server: ... server.base_url``. As a process (benchmarks, kill tests):
``python -m tests.servers.openai_server --port 0 --latency 0.1`` prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web
from PIL import Image

from tests.servers.background import BackgroundServer

DEFAULT_ANSWER = json.dumps(
    {
        "verdict": "fake",
        "rationale": "The fingers of the left hand are fused.",
        "regions": [{"box": [100, 100, 500, 500], "label": "fused fingers", "score": 0.9}],
    }
)


@dataclass
class Reply:
    """What the server does with one request.

    Attributes:
        text: the assistant message.
        status: HTTP status; anything but 200 sends an OpenAI-style error body.
        retry_after: seconds for a ``Retry-After`` header.
        delay: seconds to wait before answering.
        logprobs: [(token, logprob, [(alternative, logprob), ...]), ...] for the answer's tokens.
        body: raw bytes to send instead of a chat completion (garbled or truncated JSON).
        drop: close the connection without an answer.
        reject_schema: answer 400 when the request has a ``response_format``.
        reject_logprobs: answer 400 when the request asks for ``logprobs``.
        echo_auth: put the request's ``Authorization`` header into the error message or answer (a leaky server).
        message: the error message of a non-200 status.
    """

    text: str = DEFAULT_ANSWER
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    logprobs: list[tuple[str, float, list[tuple[str, float]]]] | None = None
    body: bytes | None = None
    drop: bool = False
    reject_schema: bool = False
    reject_logprobs: bool = False
    echo_auth: bool = False
    message: str | None = None


@dataclass
class FakeOpenAIServer(BackgroundServer):
    """The server, run on its own thread and event loop."""

    what = "the fake OpenAI server"

    model: str = "test-model"
    default: Reply = field(default_factory=Reply)
    responder: Callable[[dict[str, Any]], Reply] | None = None
    port: int = 0
    script: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *replies: Reply) -> None:
        """Script the next requests' replies, in order."""
        self.script.extend(replies)

    # -- handlers -------------------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("Authorization", ""))
        reply = self.script.popleft() if self.script else (self.responder(body) if self.responder else self.default)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if reply.reject_schema and "response_format" in body:
            return _error(400, "response_format json_schema is not supported by this server")
        if reply.reject_logprobs and body.get("logprobs"):
            return _error(400, "logprobs are not supported for this model")
        echo = f" (you sent {request.headers.get('Authorization', '')})" if reply.echo_auth else ""
        if reply.status != 200:
            headers = {} if reply.retry_after is None else {"Retry-After": f"{reply.retry_after:g}"}
            return _error(reply.status, f"{reply.message or f'scripted status {reply.status}'}{echo}", headers)
        if echo:
            reply = Reply(**{**reply.__dict__, "text": reply.text + echo})
        if reply.body is not None:
            return web.Response(body=reply.body, content_type="application/json")
        return web.json_response(_completion(self.model, reply, body))

    # -- lifecycle ------------------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        return app


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": status}}
    return web.json_response(body, status=status, headers=headers)


def _completion(model: str, reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": reply.text},
        "finish_reason": "stop",
        "logprobs": None,
    }
    if reply.logprobs is not None and request.get("logprobs"):
        choice["logprobs"] = {
            "content": [
                {
                    "token": token,
                    "logprob": logprob,
                    "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in top],
                }
                for token, logprob, top in reply.logprobs
            ]
        }
    prompt_tokens = sum(len(json.dumps(m)) for m in request.get("messages", [])) // 400 + 85
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(reply.text) // 4,
            "total_tokens": prompt_tokens + len(reply.text) // 4,
        },
    }


def request_pixels(body: dict[str, Any]) -> np.ndarray:
    """The first image of a chat request, decoded to (H, W, 3) uint8 RGB (what the model "sees").

    Raises:
        AssertionError: the request has no image.
    """
    for message in body["messages"]:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                data = part["image_url"]["url"].partition("base64,")[2]
                return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    raise AssertionError("a request without an image")


def eval_command(data: Path, base_url: str, out: Path, *extra: str) -> list[str]:
    """The ``grounddefake eval`` command line, for a process of its own, that asks this server's model for boxes
    (``test-model`` with the ``norm1000`` convention) on ``data`` and writes ``out``."""
    return [
        sys.executable,
        "-m",
        "grounddefake.cli",
        "eval",
        "--data",
        str(data),
        "--model",
        "test-model",
        "--convention",
        "norm1000",
        "--with-boxes",
        "--base-url",
        base_url,
        "--out",
        str(out),
        *extra,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--model", default="test-model")
    args = parser.parse_args()
    server = FakeOpenAIServer(model=args.model, default=Reply(delay=args.latency), port=args.port)
    with server:
        print(f"PORT {server.port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
