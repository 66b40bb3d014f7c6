"""The backend interface: one request (rendered messages + prepared images) in, one Completion out.

It lives outside :mod:`grounddefake.backends` so that the model runtimes the backends build on
(:mod:`grounddefake.local`) can raise :class:`BackendError` and read a :class:`Request` without importing the
backends package, which imports them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from grounddefake.images import ImagePolicy, PreparedImage
from grounddefake.prompt_pack import Message
from grounddefake.types import Completion


class BackendError(RuntimeError):
    """A request failed; the runner records the message as the prediction's ``error``.

    Attributes:
        retryable: a later attempt may succeed (rate limit, 5xx, timeout, dropped connection, garbled body).
        retry_after: seconds the server asked to wait (``Retry-After``), when it said.
        status: the HTTP status, when there was one.
        param: the request parameter the server named as the problem (OpenAI's ``param``), when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.param = param


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters; part of the cache key of a request."""

    max_tokens: int = 1024
    temperature: float = 0.0
    seed: int | None = 0

    def to_json(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "seed": self.seed}


@dataclass(frozen=True)
class Request:
    """One conversation to complete.

    Attributes:
        messages: system / user / assistant messages; ``ImagePart`` placeholders refer to ``images``.
        images: the prepared images, in the order their placeholders refer to.
        convention: the box convention the prompt asks the model to answer in (None for verdict-only packs).
        schema: the JSON schema of the expected answer, when the pack has one.
        params: decoding parameters.
        answers: short answers that state the verdict (the pack's ``answers``, e.g. ``{"yes": "fake"}``), or the two
            answers of a Yes/No question (``{"yes": "yes", "no": "no"}``: a local model's ``score`` is then P(Yes)).
    """

    messages: tuple[Message, ...]
    images: tuple[PreparedImage, ...]
    convention: str | None = None
    schema: Mapping[str, Any] | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    answers: Mapping[str, str] | None = None


class Backend(ABC):
    """A model behind one interface: the runner only calls :meth:`complete`.

    Attributes:
        model: the model id written into predictions.
        image_policy: how images are prepared for this model (size limits, encoding).
        default_concurrency: requests in flight when the user does not say.
    """

    model: str
    image_policy: ImagePolicy
    default_concurrency: int = 16
    convention: str | None = None
    """The family's own box convention, used by packs that ask for ``native`` (None: the prompt must define one)."""
    cacheable: bool = False
    """Whether answers go to the response cache (paid or slow requests; not the built-in analysis)."""
    price: Any = None
    """A :class:`grounddefake.presets.Price`, when requests cost money."""
    prompt_defaults: Mapping[str, str] = {}
    """Packs this model answers better than the generic ones, by task ("verdict", "grounded")."""

    @abstractmethod
    async def complete(self, request: Request) -> Completion:
        """Answer ``request``. Raises :class:`BackendError` when the request fails."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections or models."""

    def describe(self) -> dict[str, Any]:
        """What goes into a run's ``config.json`` and its run key (never a secret)."""
        return {"backend": type(self).__name__, "model": self.model, "image_policy": asdict(self.image_policy)}

    def cache_identity(self) -> dict[str, Any]:
        """What, besides the request, decides an answer: part of the response-cache key."""
        return self.describe()

    def run_identity(self) -> dict[str, Any]:
        """The model part of a run key: what makes answers interchangeable across runs and shards."""
        return self.cache_identity()

    def answer_gap(self, answers: Mapping[str, str] | None) -> str | None:
        """Why this backend can never score a question with these short ``answers`` (a local tokenizer without a
        "No" token), else None (an API backend cannot know before it asks)."""
        return None

    def request_options(self, request: Request) -> dict[str, Any]:
        """Server-side options that change the answer (schema on or off, log-probabilities): part of the cache key."""
        return {}
