"""Judge packs (``task: judge``): the prompt of an LLM judge that scores a model's text in *scoring*.

A judge pack is the one kind of pack whose context holds ground truth, by design: it is not asked by the model under
test but by ``score`` (and after ``eval``) with its own endpoint (``--judge-model``), and it reads the candidate
text beside the reference. Its templates see exactly ``question`` (what the candidate answered), ``candidate`` (the
model's explanation) and ``reference`` (the dataset's); its one turn shows no image. Fields as in any pack
(``name``, ``version``, ``description``, ``system``, ``schema``, one ``turns`` entry); ``inputs``, ``rules`` and
image turns are refused. :func:`grounddefake.prompts.pack_from_mapping` validates it through :func:`check_judge`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from grounddefake.prompt_pack import Message, PromptPack, PromptPackError, TextPart, Turn, render_template

CONTEXT = ("question", "candidate", "reference")
"""The names a judge pack's templates may read."""
REHEARSAL = {"question": "Why is the image sexy or not?", "candidate": "(a candidate)", "reference": "(a reference)"}


def check_judge(data: Mapping[str, Any], turns: Sequence[Turn], fail: Callable[[str, str], PromptPackError]) -> None:
    """Refuse what a judge pack cannot have.

    Raises:
        PromptPackError: (from ``fail``) inputs, rules, more than one turn, or a turn that shows an image.
    """
    for field in ("inputs", "rules", "judge", "answers"):
        if field in data:
            raise fail(field, "a judge pack (task: judge) reads question, candidate and reference only")
    if len(turns) != 1:
        raise fail("turns", "a judge pack has exactly one turn")
    if turns[0].image != "none":
        raise fail("turns[0].image", "a judge pack reads text: its turn shows no image")


def judge_messages(pack: PromptPack, question: str, candidate: str, reference: str) -> tuple[Message, ...]:
    """The judge's request: the system text (if any) and its one user turn, rendered in the sandbox.

    >>> from grounddefake.prompts import load_pack
    >>> messages = judge_messages(load_pack("meq-judge"), "Why?", "It is sexy.", "It is not sexy.")
    >>> [m.role for m in messages], "It is not sexy." in messages[-1].text
    (['system', 'user'], True)

    Raises:
        PromptPackError: a template cannot be rendered.
    """
    context = {"question": question, "candidate": candidate, "reference": reference}
    messages = []
    if pack.system:
        messages.append(Message("system", (TextPart(render_template(pack.system, context, f"{pack.source}: system")),)))
    text = render_template(pack.turns[0].text, context, f"{pack.source}: turns[0]")
    messages.append(Message("user", (TextPart(text),)))
    return tuple(messages)


def rehearse_judge_pack(pack: PromptPack) -> None:
    """Render the judge's templates once on stand-in texts (a template the sandbox refuses fails at load).

    Raises:
        PromptPackError: a template cannot be rendered.
    """
    judge_messages(pack, **REHEARSAL)
