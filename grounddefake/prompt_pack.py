"""A prompt pack as a value, and how it renders into chat messages: a sandbox, an allow-listed context.

A pack cannot run code: templates are rendered by :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
``StrictUndefined`` and resource bounds, and their context is built from an explicit allow-list (the image size the
model sees, the box convention, the answer schema, earlier replies and the sample inputs the pack declares). The
sample's ground truth is never part of it. Packs are read and validated by :mod:`grounddefake.prompts`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from grounddefake.label_space import REAL_FAKE, LabelSpace
from grounddefake.rules import JudgeParams, Rule
from grounddefake.scalar import ScalarSpec
from grounddefake.types import Size, VerdictLabel

Placement = Literal["before", "after", "none"]
NATIVE = "native"
"""A pack convention meaning: the model family's own box format."""
RESERVED_INPUTS = frozenset(
    {"label", "rules", "regions", "mask", "masks", "heatmap", "heatmaps", "image", "id", "score", "truth"}
)
"""Names a pack may not declare as inputs: the sample's ground truth and identity, and the image context."""
MAX_INPUT_CHARS = 10_000
"""Longest value of one sample input, counted as JSON."""
MAX_RENDERED = 100_000
"""Longest rendered text, and longest string one template operation may build."""
MAX_RANGE = 1_000
"""Longest ``range`` a template may iterate (a prompt has no use for more)."""


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range longer than {MAX_RANGE} in a prompt template")
    return values


def _width_guard(name: str, filter_function: Any) -> Any:
    """Wrap a filter whose width argument decides how much text it builds."""

    def bounded(value: Any, width: Any = 80, *args: Any, **kwargs: Any) -> Any:
        if isinstance(width, int) and width > MAX_RENDERED:
            raise SecurityError(f"{name} width larger than {MAX_RENDERED} in a prompt template")
        return filter_function(value, width, *args, **kwargs)

    return bounded


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox (no code, no attribute escapes, no mutation), plus resource bounds.

    ``*`` and ``**``, ``range`` and the width-taking filters are bounded, and rendering stops once the text passes
    MAX_RENDERED; so a pack cannot make a run exhaust memory. (Deeply nested loops can still spend CPU time: packs
    are the user's own files, the bounds are against mistakes, not an attacker with unlimited nesting.)
    """

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("exponent too large in a prompt template")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_RENDERED:
                    raise SecurityError("repetition too large in a prompt template")
        return super().call_binop(context, operator, left, right)


_ENV = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
_ENV.globals["range"] = _bounded_range
for _name in ("center", "indent", "wordwrap", "truncate"):
    _ENV.filters[_name] = _width_guard(_name, _ENV.filters[_name])


def parse_template(template: str) -> nodes.Template:
    """The syntax tree of a pack template as the sandbox reads it.

    Raises:
        TemplateError: a syntax error.
    """
    return _ENV.parse(template)


class PromptPackError(ValueError):
    """A pack is invalid; the message names the file and the field."""


class SampleInputError(PromptPackError):
    """A sample lacks an input the pack declares, or holds one that is not text, a number or a list of them."""


@dataclass(frozen=True)
class Turn:
    """One user turn: a template and where the image goes (``none`` for text-only turns)."""

    text: str
    image: Placement


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """Placeholder for the prepared image; a backend turns it into its own image payload."""

    index: int = 0


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    parts: tuple[TextPart | ImagePart, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True)
class PromptPack:
    """A validated prompt pack. ``hash`` is the content hash recorded in every prediction."""

    name: str
    version: str
    description: str
    task: Literal["verdict", "grounded", "rules", "judge"]
    convention: str | None
    schema: Mapping[str, Any] | None
    system: str | None
    turns: tuple[Turn, ...]
    source: str
    hash: str
    answers: Mapping[str, VerdictLabel] | None = None
    """Short answers that state the verdict (``{"yes": "fake", "no": "real"}``), lower case."""
    inputs: tuple[str, ...] = ()
    """The fields of a sample's ``meta`` the templates may read as ``{{ inputs.NAME }}`` (part of ``hash``)."""
    label_space: LabelSpace = REAL_FAKE
    """The labels the pack's answers take and the positive class (``labels:`` and ``positive:``)."""
    rules: tuple[Rule, ...] = ()
    """A rule pack's rules (``task: rules``); its turns are the cascade's and see ``{{ rule.objective }}``."""
    method: str = "reason"
    """How the pack asks: ``reason`` (every turn, the last reply parsed) or ``clue`` (:mod:`grounddefake.judges`)."""
    judge: JudgeParams | None = None
    """The CLUE judge's parameters (``method: clue``)."""
    scalar: ScalarSpec | None = None
    """The raw scalar the last turn asks for (``scalar:``: its answer key, scale and direction), if any."""

    @property
    def defined_convention(self) -> str | None:
        """The box convention the pack itself asks for (None for a ``native`` pack or one without boxes)."""
        return None if self.convention == NATIVE else self.convention

    @property
    def id(self) -> str:
        """``name@hash``, as written in predictions (``"prompt": "grounded@1a2b3c4d5e6f"``)."""
        return f"{self.name}@{self.hash}"

    @cached_property
    def schema_text(self) -> str:
        """The answer schema as indented JSON, for templates."""
        return json.dumps(self.schema, indent=2) if self.schema is not None else ""

    def inputs_of(self, meta: Mapping[str, Any] | None, sample_id: str | None = None) -> dict[str, Any]:
        """The declared inputs of one sample: exactly the fields of its ``meta`` named in ``inputs``, nothing else.

        ``meta`` may be the whole of ``Sample.meta`` (undeclared fields are left out) or an earlier result of this
        method. Values are text, finite numbers, booleans or lists of them, at most MAX_INPUT_CHARS as JSON.

        >>> from grounddefake.prompts import pack_from_mapping
        >>> pack = pack_from_mapping(
        ...     {"name": "vqa", "version": 1, "description": "d", "task": "verdict", "inputs": ["question"],
        ...      "turns": ["{{ inputs.question }}"]}, "mem")
        >>> pack.inputs_of({"question": "Is the sky real?", "generator": "sdxl"})
        {'question': 'Is the sky real?'}
        >>> pack.render_turn(0, (64, 64), inputs={"question": "Is the sky real?"}).text
        'Is the sky real?'

        Raises:
            SampleInputError: a declared field is missing, null or blank, or is not such a value.
        """
        meta = meta or {}
        who = f"sample '{sample_id}'" if sample_id is not None else "the sample"
        values: dict[str, Any] = {}
        for name in self.inputs:
            value = meta.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise SampleInputError(
                    f"{who} has no meta.{name}, which the prompt pack '{self.name}' declares as an input"
                )
            values[name] = _input_value(value, f"{who}: meta.{name}")
        return values

    def context(
        self,
        image_size: Size,
        replies: Sequence[str] = (),
        convention: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        rule: Rule | None = None,
    ) -> dict[str, Any]:
        """The whole rendering context. Built from an allow-list: no label, mask, regions or undeclared metadata.

        ``convention`` is the convention in force (a ``native`` pack's model convention); ``box_example`` is one
        answer written in it. ``inputs`` (the sample's ``meta``, or :meth:`inputs_of` it) gives ``inputs`` its
        declared fields; a pack that declares none has no ``inputs`` at all. A rule pack's context has ``rule``
        (``id``, ``text``, ``objective``: ``rule``'s, or the first rule's when rehearsing).
        """
        convention = convention or self.defined_convention
        example = ""
        if convention is not None:
            example = _example(convention, (int(image_size[0]), int(image_size[1])))
        context = {
            "image": {"width": int(image_size[0]), "height": int(image_size[1])},
            "convention": convention,
            "box_example": example,
            "schema": self.schema_text,
            "replies": list(replies),
        }
        if self.inputs:
            context["inputs"] = self.inputs_of(inputs)
        if self.rules:
            shown = rule or self.rules[0]
            context["rule"] = {"id": shown.id, "text": shown.text, "objective": shown.objective}
        return context

    def render_system(
        self,
        image_size: Size,
        convention: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        rule: Rule | None = None,
    ) -> str | None:
        """The system text, or None when the pack has none (``inputs``, ``rule``: as in :meth:`context`)."""
        if self.system is None:
            return None
        context = self.context(image_size, (), convention, inputs, rule)
        return _render(self.system, context, f"{self.source}: system")

    def render_turn(
        self,
        index: int,
        image_size: Size,
        replies: Sequence[str] = (),
        convention: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        rule: Rule | None = None,
    ) -> Message:
        """The user message of turn ``index``, given the assistant ``replies`` to the earlier turns.

        ``inputs`` is the sample's ``meta`` (or :meth:`inputs_of` it): only the declared fields reach the template.
        """
        turn = self.turns[index]
        context = self.context(image_size, replies, convention, inputs, rule)
        text = _render(turn.text, context, f"{self.source}: turns[{index}]")
        parts: tuple[TextPart | ImagePart, ...]
        if turn.image == "before":
            parts = (ImagePart(), TextPart(text))
        elif turn.image == "after":
            parts = (TextPart(text), ImagePart())
        else:
            parts = (TextPart(text),)
        return Message("user", parts)


def _input_value(value: Any, where: str) -> Any:
    """A sample input as plain JSON data: text, a finite number, a boolean, or a list of those."""
    items = value if isinstance(value, (list, tuple)) else [value]
    for item in items:
        if not isinstance(item, (str, int, float, bool)) or (isinstance(item, float) and not math.isfinite(item)):
            raise SampleInputError(
                f"{where} is a {type(item).__name__}: an input must be text, a finite number or a list of them"
            )
    plain = list(value) if isinstance(value, (list, tuple)) else value
    if len(json.dumps(plain, ensure_ascii=False)) > MAX_INPUT_CHARS:
        raise SampleInputError(f"{where} is longer than {MAX_INPUT_CHARS} characters")
    return plain


@lru_cache(maxsize=1024)
def _example(convention: str, size: Size) -> str:
    from grounddefake.conventions import get_convention

    return get_convention(convention).example(size)


def render_template(template: str, context: Mapping[str, Any], where: str) -> str:
    """Render one pack template in the sandbox (a judge's own questions); errors name ``where``.

    >>> render_template("Content: {{ content }}", {"content": "a knife"}, "judge.fast_question")
    'Content: a knife'

    Raises:
        PromptPackError: the sandbox refuses it, or it needs a name the context lacks.
    """
    return _render(template, context, where)


def _render(template: str, context: Mapping[str, Any], where: str) -> str:
    """Render ``template`` in the sandbox; the same template and context give the same text, so it is cached."""
    return _render_cached(template, json.dumps(context, ensure_ascii=False), where)


@lru_cache(maxsize=4096)
def _render_cached(template: str, context_json: str, where: str) -> str:
    return _render_streaming(_compiled(template), json.loads(context_json), where)


@lru_cache(maxsize=256)
def _compiled(template: str) -> Template:
    return _ENV.from_string(template)


def _render_streaming(template: Template, context: Mapping[str, Any], where: str) -> str:
    """Render streaming, and stop as soon as the text passes MAX_RENDERED."""
    try:
        chunks, length = [], 0
        for chunk in template.generate(**context):
            length += len(chunk)
            if length > MAX_RENDERED:
                raise PromptPackError(f"{where}: rendered text longer than {MAX_RENDERED} characters")
            chunks.append(chunk)
    except PromptPackError:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise PromptPackError(f"{where}: {type(exc).__name__}: {exc}") from None
    return "".join(chunks).strip()
