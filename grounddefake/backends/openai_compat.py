"""Any model behind an OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, Gemini, vLLM, SGLang, Ollama, LM Studio.

One :class:`openai.AsyncOpenAI` client per endpoint, without the SDK's own retries (the runner retries with backoff
and jitter). Several endpoints share the load: each request goes to the one with the fewest requests in flight.
The JSON schema is sent as ``response_format`` and log-probabilities are asked for where the preset says the
server supports them; a server that rejects either is asked again once without it, and not asked again for the
rest of the run. The API key lives only inside the clients: never in ``describe()``, errors or records.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import urlsplit

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.images import ImagePolicy, PreparedImage
from grounddefake.prompts import ImagePart
from grounddefake.types import Completion, TokenLogprob, Usage

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""Client errors worth retrying (timeout, conflict, rate limit); every 5xx is retried too."""
INLINE_ENCODE_BYTES = 256 * 1024
"""Images up to this size are base64-encoded on the event loop (about 0.2 ms); larger ones on a thread."""
_SCHEMA_REJECTED = re.compile(r"response_format|json_schema|structured output|guided_json", re.IGNORECASE)
_LOGPROBS_REJECTED = re.compile(r"\b(?:top_)?logprobs\b", re.IGNORECASE)
FEWER_TOP_LOGPROBS = 5
"""Alternatives asked for after a server rejected ``top_logprobs`` (then none at all if it rejects again)."""
POOLS_PER_ENDPOINT = 8
"""Connection pools (clients) per endpoint; a request goes to the one with the fewest requests in flight."""


class OpenAIBackend(Backend):
    """Chat completions on one or more OpenAI-compatible endpoints.

    Args:
        model: the model id sent to the server.
        base_urls: endpoints (``None`` entries mean the OpenAI API).
        api_key: the key (never stored outside the clients).
        image_policy: how images are prepared for this model.
        convention: the family's own box convention (None: prompt-defined).
        json_schema: send the pack's schema as ``response_format``.
        logprobs: ask for token log-probabilities (``top_logprobs`` alternatives).
        timeout: seconds per request.
        price: a Price, for cost estimates.
        preset: the preset's name, recorded in ``describe()``.
    """

    cacheable = True

    def __init__(
        self,
        model: str,
        base_urls: Sequence[str | None] = (None,),
        api_key: str | None = None,
        image_policy: ImagePolicy | None = None,
        convention: str | None = None,
        json_schema: bool = True,
        logprobs: bool = True,
        top_logprobs: int = 20,
        timeout: float = 120.0,
        price: Any = None,
        preset: str | None = None,
    ) -> None:
        from openai import AsyncOpenAI

        self.model = model
        self.image_policy = image_policy or ImagePolicy()
        self.convention = convention
        self.price = price
        self.preset = preset
        self.timeout = timeout
        self.top_logprobs = top_logprobs
        self.base_urls = tuple(base_urls) or (None,)
        self._secret = api_key or ""
        # Several clients per endpoint, each with its own connection pool: httpx scans every connection of a pool
        # for each request, so 64 requests in flight on one pool cost 64 socket polls apiece; on 8 pools, 8.
        self._clients = [
            [
                AsyncOpenAI(base_url=url, api_key=api_key or "EMPTY", max_retries=0, timeout=timeout)
                for _ in range(POOLS_PER_ENDPOINT)
            ]
            for url in self.base_urls
        ]
        self._in_flight = [[0] * POOLS_PER_ENDPOINT for _ in self.base_urls]
        """Requests in flight per endpoint and pool: the endpoint with the fewest gets the next, on its idlest pool."""
        self.json_schema = json_schema
        self.logprobs = logprobs
        self.fallbacks: list[str] = []
        """What the servers rejected and this run stopped asking for."""

    # -- identity -------------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "openai",
            "model": self.model,
            "preset": self.preset,
            "base_urls": [url or "https://api.openai.com/v1" for url in self.base_urls],
            "convention": self.convention,
            "image_policy": asdict(self.image_policy),
            "json_schema": self.json_schema,
            "logprobs": self.logprobs,
            "timeout": self.timeout,
        }

    def cache_identity(self) -> dict[str, Any]:
        """Model and endpoint hosts: replicas behind several URLs give interchangeable answers."""
        hosts = sorted({urlsplit(url).netloc if url else "api.openai.com" for url in self.base_urls})
        return {"backend": "openai", "model": self.model, "hosts": hosts}

    def run_identity(self) -> dict[str, Any]:
        """The model, wherever it is served: shards run against different replicas merge."""
        return {"backend": "openai", "model": self.model}

    def request_options(self, request: Request) -> dict[str, Any]:
        return {
            "schema": request.schema if self._use_schema(request) else None,
            "top_logprobs": self.top_logprobs if self.logprobs else None,
        }

    def _use_schema(self, request: Request) -> bool:
        return self.json_schema and request.schema is not None

    # -- requests -------------------------------------------------------------------------------------------

    async def complete(self, request: Request) -> Completion:
        if sum(len(image.payload) for image in request.images) > INLINE_ENCODE_BYTES:
            urls = await asyncio.to_thread(_data_urls, request.images)  # base64 of large images off the event loop
        else:
            urls = _data_urls(request.images)  # a thread hop costs more than encoding a small image
        messages = _messages(request, urls)
        for _ in range(3):  # at most one fallback each for the schema and the log-probabilities
            try:
                return await self._send(messages, request)
            except BackendError as exc:
                if not self._fall_back(exc, request):
                    raise
        raise BackendError("the server rejected the request even without schema and log-probabilities")

    def _fall_back(self, exc: BackendError, request: Request) -> bool:
        """Stop asking for what a 400 rejected (schema, log-probabilities); True when there is something to retry.

        Only a rejection that names the parameter counts: its ``param`` field, or the parameter's own name in the
        message. A 400 about anything else (an image too large, a bad message) is the sample's error.
        """
        if exc.status not in (400, 422):
            return False
        param, message = (exc.param or "").lower(), str(exc)
        if self._use_schema(request) and (param.startswith("response_format") or _SCHEMA_REJECTED.search(message)):
            self.disable("json_schema")
            return True
        if self.logprobs and (param in ("logprobs", "top_logprobs") or _LOGPROBS_REJECTED.search(message)):
            if self.top_logprobs > FEWER_TOP_LOGPROBS and ("top_logprobs" in param or "top_logprobs" in message):
                self.top_logprobs = FEWER_TOP_LOGPROBS  # servers often cap the alternatives (Ollama, vLLM flags)
                self.fallbacks.append(f"top_logprobs rejected: asking for {FEWER_TOP_LOGPROBS} alternatives")
            else:
                self.disable("logprobs")
            return True
        return False

    @property
    def disabled(self) -> list[str]:
        """The features this server rejected (``json_schema``, ``logprobs``, ``top_logprobs:N`` when capped)."""
        out = [f for f, on in (("json_schema", self.json_schema), ("logprobs", self.logprobs)) if not on]
        if self.logprobs and self.top_logprobs == FEWER_TOP_LOGPROBS:
            out.append(f"top_logprobs:{FEWER_TOP_LOGPROBS}")
        return out

    def disable(self, feature: str, remembered: bool = False) -> None:
        """Stop asking for ``feature`` for the rest of the run (``remembered``: a rejection seen in an earlier run)."""
        if feature == f"top_logprobs:{FEWER_TOP_LOGPROBS}" and self.top_logprobs > FEWER_TOP_LOGPROBS:
            self.top_logprobs = FEWER_TOP_LOGPROBS
            self.fallbacks.append(
                f"top_logprobs rejected in an earlier run: asking for {FEWER_TOP_LOGPROBS} alternatives"
            )
            return
        if feature not in ("json_schema", "logprobs") or not getattr(self, feature):
            return
        setattr(self, feature, False)
        what = "free text and tolerant parsing" if feature == "json_schema" else "no scores"
        when = "in an earlier run" if remembered else "by the server"
        self.fallbacks.append(f"{feature} rejected {when}: {what} for the rest of the run")

    async def _send(self, messages: list[dict[str, Any]], request: Request) -> Completion:
        from openai.types.chat import ChatCompletion

        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.params.max_tokens,
            "temperature": request.params.temperature,
        }
        if request.params.seed is not None:
            kwargs["seed"] = request.params.seed
        if self._use_schema(request):
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(request.schema or {})},
            }
        if self.logprobs:
            kwargs["logprobs"] = True
            if self.top_logprobs:
                kwargs["top_logprobs"] = self.top_logprobs
        endpoint = min(range(len(self._clients)), key=lambda i: sum(self._in_flight[i]))
        loads = self._in_flight[endpoint]
        pool = loads.index(min(loads))
        loads[pool] += 1
        start = time.perf_counter()
        try:
            # ``post`` with the plain JSON body: the same request as ``chat.completions.create``, without the
            # SDK's recursive parameter transform (a no-op for plain dicts, ~1 ms of CPU per request).
            client = self._clients[endpoint][pool]
            response = await client.post("/chat/completions", body=kwargs, cast_to=ChatCompletion)
        except Exception as exc:
            raise self._error(exc) from None
        finally:
            loads[pool] -= 1
        completion = _completion(response, time.perf_counter() - start)
        if self._secret and self._secret in completion.text:  # a server that echoes the key must not leak it
            completion = replace(completion, text=self._scrub(completion.text))
        return completion

    def _error(self, exc: Exception) -> BackendError:
        """The SDK's exception as a BackendError: retryable or not, Retry-After, status; the key scrubbed out.

        Retryable: 408, 409, 429, 5xx, timeouts, refused or dropped connections, bodies that are not a chat
        completion. Not retryable: other 4xx, and faults of the request itself (a URL without ``http://``, an
        unsupported scheme, a key that is not a valid header value).
        """
        import httpx2
        import openai

        cause = exc.__cause__ or exc.__context__
        message = f"{type(exc).__name__}: {exc}"
        if cause is not None and str(cause) and str(cause) not in message:
            message += f" ({type(cause).__name__}: {cause})"
        message = self._scrub(message)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retryable = status in RETRYABLE_STATUS or status >= 500
            return BackendError(
                f"HTTP {status}: {message}",
                retryable=retryable,
                retry_after=retry_after(exc.response.headers),
                status=status,
                param=getattr(exc, "param", None) if isinstance(getattr(exc, "param", None), str) else None,
            )
        faults_of_the_request = (httpx2.UnsupportedProtocol, httpx2.InvalidURL, httpx2.LocalProtocolError)
        if isinstance(cause, faults_of_the_request) or isinstance(exc, faults_of_the_request):
            return BackendError(message, retryable=False)
        return BackendError(message, retryable=True)

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    async def aclose(self) -> None:
        for pools in self._clients:
            for client in pools:
                await client.close()


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``; None when absent."""
    try:
        if headers.get("retry-after-ms") is not None:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _data_urls(images: Sequence[PreparedImage]) -> list[str]:
    return [f"data:{image.media_type};base64,{base64.b64encode(image.payload).decode('ascii')}" for image in images]


def _messages(request: Request, urls: Sequence[str]) -> list[dict[str, Any]]:
    """Chat messages with the image placeholders replaced by data URLs, in order."""
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role != "user":
            out.append({"role": message.role, "content": message.text})
            continue
        content: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, ImagePart):
                # Every placeholder refers to a prepared image; a pack may show the same image in several turns.
                url = urls[min(part.index, len(urls) - 1)]
                content.append({"type": "image_url", "image_url": {"url": url, "detail": "high"}})
            else:
                content.append({"type": "text", "text": part.text})
        out.append({"role": "user", "content": content})
    return out


def _completion(response: Any, latency: float) -> Completion:
    """A chat completion response as a Completion; a body without a choice is a (retryable) server fault."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise BackendError("the server answered without a choice", retryable=True)
    choice = choices[0]
    text = (choice.message.content if choice.message is not None else None) or ""
    logprobs = None
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if content:
        logprobs = tuple(
            TokenLogprob(
                t.token,
                float(t.logprob),
                tuple((alt.token, float(alt.logprob)) for alt in (t.top_logprobs or ())),
            )
            for t in content
        )
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        logprobs=logprobs,
        usage=Usage(getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0),
        latency_s=latency,
        finish_reason=choice.finish_reason,
    )
