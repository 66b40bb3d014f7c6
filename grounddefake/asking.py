"""Asking one image: a pack's turns sent through a :class:`Caller`, the last reply parsed (:class:`Answer`).

The bottom of the pipeline: :mod:`grounddefake.pipeline` prepares images, runs the samples and writes the records;
the heatmap modes and the faithfulness check ask an image again through :func:`ask_prepared`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from grounddefake.backends.base import Backend, BackendError, GenerationParams, Request
from grounddefake.caller import Caller
from grounddefake.faithfulness import Faithfulness
from grounddefake.heatmaps.maps import sent_over_original
from grounddefake.images import PreparedImage
from grounddefake.judges.baselines import BaselineMemo
from grounddefake.judges.clue import judge_image
from grounddefake.label_space import REAL_FAKE
from grounddefake.parsing import parse_completion, short_answer_label
from grounddefake.prompts import NATIVE, Message, PromptPack, PromptPackError, TextPart
from grounddefake.records import MAX_ERROR, prediction_record
from grounddefake.types import Completion, Usage, VerdictLabel
from grounddefake.verdict import Verdict
from grounddefake.verdict_words import score_from_logprobs


@dataclass(frozen=True)
class Answer:
    """A verdict with how it was obtained."""

    verdict: Verdict
    prepared: PreparedImage
    completions: tuple[Completion, ...]
    cached: bool = False
    """Every completion came from the response cache (nothing was sent)."""
    heatmap: np.ndarray | None = field(default=None, repr=False, compare=False)
    """A dense mode's map ((H, W) in [0, 1], original pixels) or the model's own (in [0, 1], over the original
    image at the resolution the model made it, at most the original's); None for ``boxes``."""
    faithfulness: Faithfulness | None = None
    """The deletion test of the answer's regions (``--faithfulness``); None when not asked."""
    purposes: tuple[tuple[str, int], ...] = ()
    """Requests by purpose (``answer``, ``consensus``, ``probe``) when a mode asked more than the answer."""

    @property
    def usage(self) -> Usage:
        return Usage(
            sum(c.usage.prompt_tokens for c in self.completions),
            sum(c.usage.completion_tokens for c in self.completions),
        )

    @property
    def latency_s(self) -> float:
        return sum(c.latency_s for c in self.completions)

    def record(self, sample_id: str, *, model: str, prompt: str, run_key: str = "") -> dict[str, Any]:
        """This answer as a ``predictions.jsonl`` line (with its deletion test, and the requests of every purpose
        counted in ``requests``, when a mode or the test asked more than the answer)."""
        line = prediction_record(
            sample_id,
            self.verdict,
            model=model,
            prompt=prompt,
            run_key=run_key,
            usage=self.usage,
            latency_s=self.latency_s,
            cached=self.cached,
            image_sha256=self.prepared.source_sha256,
            transform=self.prepared.transform,
            requests_by_purpose=dict(self.purposes) or {"answer": len(self.completions)},
        )
        if self.purposes:
            line["requests"] = sum(n for _, n in self.purposes)
        if self.faithfulness is not None:
            line["faithfulness"] = self.faithfulness.to_json()
        return line


def slot_answers(pack: PromptPack) -> Mapping[str, str] | None:
    """The pack's verdict words for a backend that scores them (a local model): each answer word, and for a label
    space other than real/fake each label word, mapped to the ``fake`` slot when it states the positive class and to
    ``real`` otherwise, so that ``Completion.score`` is P(positive class) in every space.

    >>> from grounddefake.prompts import load_pack
    >>> slot_answers(load_pack("verdict")) is None
    True
    """
    space = pack.label_space
    if space == REAL_FAKE:
        return pack.answers
    words = {label: label for label in space.labels} | dict(pack.answers or {})
    return {word: "fake" if label == space.positive else "real" for word, label in words.items()}


def resolve_convention(pack: PromptPack, backend: Backend) -> str | None:
    """The convention answers are parsed in: the pack's, or the model's own for a ``native`` pack.

    Raises:
        PromptPackError: a ``native`` pack with a model that has no box format of its own.
    """
    if pack.convention != NATIVE:
        return pack.convention
    if backend.convention is None:
        raise PromptPackError(
            f"prompt pack '{pack.name}' asks for the model's own box format, but {backend.model} has none: use a "
            "pack that defines one (such as 'grounded'), or name the model's convention with --convention"
        )
    return backend.convention


async def ask_prepared(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    params: GenerationParams,
    inputs: Mapping[str, Any] | None = None,
    baselines: BaselineMemo[Any] | None = None,
) -> Answer:
    """:func:`ask` of an image already prepared for the model (a blanked or sampled variant asks it again)."""
    convention = resolve_convention(pack, caller.backend)
    if pack.method == "clue":
        judged = await judge_image(caller, pack, prepared, convention, params, baselines, inputs)
        return Answer(judged.verdict, prepared, judged.completions, judged.cached)
    size = prepared.transform.input_size
    messages: list[Message] = []
    system = pack.render_system(size, convention, inputs)
    if system:
        messages.append(Message("system", (TextPart(system),)))
    replies: list[str] = []
    completions: list[Completion] = []
    cached = True
    for turn in range(len(pack.turns)):
        messages.append(pack.render_turn(turn, size, replies, convention, inputs))
        schema = pack.schema if turn == len(pack.turns) - 1 else None  # the answer schema is the last turn's
        request = Request(tuple(messages), (prepared,), convention, schema, params, slot_answers(pack))
        try:
            completion, hit = await caller.complete(request)
        except Exception as exc:  # a failed request is data (principle 2), whatever raised it
            reason = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
            error = (reason or type(exc).__name__)[:MAX_ERROR]
            verdict = Verdict("unknown", error=error, image_size=prepared.transform.original_size)
            return Answer(verdict, prepared, tuple(completions))
        cached = cached and hit
        completions.append(completion)
        replies.append(completion.text)
        messages.append(Message("assistant", (TextPart(completion.text),)))
    verdict = parse_completion(
        completions[-1], convention, prepared.transform, pack.answers, pack.label_space, pack.scalar
    )
    if pack.answers is not None and len(completions) > 1:
        verdict = _verdict_of_short_answer(verdict, completions, pack.answers)
    own = completions[-1].heatmap  # a model's own dense map (the built-in model's localizer)
    heatmap = sent_over_original(own, prepared.transform) if own is not None else None
    return Answer(verdict, prepared, tuple(completions), cached, heatmap=heatmap)


def _verdict_of_short_answer(
    last: Verdict, completions: Sequence[Completion], answers: Mapping[str, VerdictLabel]
) -> Verdict:
    """The verdict of a pack that asks it as a short question and the regions in another turn (PaliGemma: "Is this
    image made by AI?", then "detect ..."): the latest reply that is one of the pack's short answers states it; the
    regions are the last reply's. The text of the other turns never does (a detection label such as "manipulated
    region" echoes the prompt, not a judgement)."""
    notes = tuple(n for n in last.parse_errors if not n.startswith(("no verdict", "hedged", "contradictory")))
    for completion in reversed(completions):
        label = short_answer_label(completion.text, answers)
        if label is not None:
            score = completion.score if completion.score is not None else score_from_logprobs(completion.logprobs)
            return replace(last, label=label, score=score, parse_errors=notes)
    expected = " / ".join(answers)
    return replace(last, label="unknown", score=None, parse_errors=(*notes, f"no reply is a short answer ({expected})"))
