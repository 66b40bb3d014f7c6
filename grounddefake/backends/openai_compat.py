"""Any model behind an OpenAI-compatible chat endpoint: OpenAI, Azure OpenAI, Gemini, vLLM, SGLang, Ollama, LM Studio.

One :class:`openai.AsyncOpenAI` client per endpoint, without the SDK's own retries (the runner retries with backoff
and jitter). Several endpoints share the load: each request goes to the one with the fewest requests in flight.
The JSON schema is sent as ``response_format`` and log-probabilities are asked for where the preset says the
server supports them; a server that rejects either is asked again once without it, and not asked again for the
rest of the run. The API key and the credentials of a URL live only inside the clients: ``describe()`` shows the
endpoints redacted, and every string of a Completion or an error leaves :meth:`OpenAIBackend.complete` scrubbed of
them (see :mod:`grounddefake.redaction`). A body that is not a chat completion is a retryable BackendError.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.images import ImagePolicy, PreparedImage
from grounddefake.prompts import ImagePart
from grounddefake.redaction import Scrubber, header_problem, redact_url, scrub_completion
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
        api_key: the key (never stored outside the clients); only visible ASCII, as an HTTP header needs.
        image_policy: how images are prepared for this model.
        convention: the family's own box convention (None: prompt-defined).
        json_schema: send the pack's schema as ``response_format``.
        logprobs: ask for token log-probabilities (``top_logprobs`` alternatives).
        timeout: seconds per request.
        price: a Price, for cost estimates.
        preset: the preset's name, recorded in ``describe()``.

    Raises:
        ValueError: a key an HTTP header cannot carry (the message never shows it).
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

        problem = header_problem(api_key or "")
        if problem is not None:
            raise ValueError(f"the API key holds {problem}: an HTTP header cannot carry it")
        self.model = model
        self.image_policy = image_policy or ImagePolicy()
        self.convention = convention
        self.price = price
        self.preset = preset
        self.timeout = timeout
        self.top_logprobs = top_logprobs
        self.base_urls = tuple(base_urls) or (None,)
        self._scrub = Scrubber.of([api_key], self.base_urls)
        """Masks the key and the URLs' credentials in every form; applied to all that leaves :meth:`complete`."""
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
            "base_urls": [redact_url(url) if url else "https://api.openai.com/v1" for url in self.base_urls],
            "convention": self.convention,
            "image_policy": asdict(self.image_policy),
            "json_schema": self.json_schema,
            "logprobs": self.logprobs,
            "timeout": self.timeout,
        }

    def cache_identity(self) -> dict[str, Any]:
        """Model and endpoint hosts: replicas behind several URLs give interchangeable answers."""
        hosts = sorted({urlsplit(url).netloc.rpartition("@")[2] if url else "api.openai.com" for url in self.base_urls})
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
        """The server's answer, every string of it scrubbed of the key; a failure as a scrubbed BackendError."""
        try:
            completion = await self._complete(request)
        except BackendError as exc:
            raise self._scrubbed(exc) from None
        except Exception as exc:  # a fault of this code or the SDK: the sample's error, never a crash or a leak
            raise BackendError(self._scrub(f"{type(exc).__name__}: {exc}")) from None
        return scrub_completion(completion, self._scrub)

    def _scrubbed(self, exc: BackendError) -> BackendError:
        message = self._scrub(str(exc))
        if message == str(exc) and (exc.param is None or self._scrub(exc.param) == exc.param):
            return exc
        param = None if exc.param is None else self._scrub(exc.param)
        return BackendError(
            message, retryable=exc.retryable, retry_after=exc.retry_after, status=exc.status, param=param
        )

    async def _complete(self, request: Request) -> Completion:
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
        return _completion(response, time.perf_counter() - start)

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
    """A chat completion response as a Completion.

    Raises:
        BackendError: (retryable) a body that is not a chat completion: no list of choices, a choice without a
            message, a message whose content is not text (a refusal's text counts as the answer).
    """
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise _garbled("without a list of choices" if not isinstance(choices, list) else "without a choice")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is None or isinstance(message, (str, dict, list)):
        raise _garbled("with a choice without a message")
    text = getattr(message, "content", None)
    if text is None and isinstance(getattr(message, "refusal", None), str):
        text = message.refusal
    if not isinstance(text, str):
        raise _garbled(f"with a message whose content is {type(text).__name__}, not text")
    finish = getattr(choice, "finish_reason", None)
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        logprobs=_logprobs(getattr(getattr(choice, "logprobs", None), "content", None)),
        usage=Usage(_count(getattr(usage, "prompt_tokens", 0)), _count(getattr(usage, "completion_tokens", 0))),
        latency_s=latency,
        finish_reason=finish if isinstance(finish, str) else None,
    )


def _garbled(what: str) -> BackendError:
    return BackendError(f"the server answered {what}: not a chat completion", retryable=True)


def _logprobs(content: Any) -> tuple[TokenLogprob, ...] | None:
    """The tokens' log-probabilities; None when absent or malformed (the answer stands, unscored)."""
    if not isinstance(content, list) or not content:
        return None
    out = []
    for t in content:
        token, logprob, top = getattr(t, "token", None), getattr(t, "logprob", None), getattr(t, "top_logprobs", None)
        alternatives = [(getattr(a, "token", None), getattr(a, "logprob", None)) for a in top or ()]
        if not isinstance(top, (list, type(None))) or not all(
            isinstance(tok, str) and _is_number(lp) for tok, lp in [(token, logprob), *alternatives]
        ):
            return None
        out.append(TokenLogprob(token, float(logprob), tuple((tok, float(lp)) for tok, lp in alternatives)))
    return tuple(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: Any) -> int:
    """A token count as the server gave it; 0 when absent or not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
