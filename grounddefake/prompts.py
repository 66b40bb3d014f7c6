"""Prompt packs: YAML data rendered by a sandboxed Jinja2 environment into chat messages.

A pack cannot run code: templates are rendered by :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
``StrictUndefined``, and their context is built from an explicit allow-list (the image size the model sees, the
box convention, the answer schema and earlier replies). The sample's ground truth is never part of it.

Pack fields::

    name: grounded                 # required, [a-z0-9_-]+
    version: 1                     # required
    description: ...               # required
    task: grounded                 # required: "verdict" (label + rationale) or "grounded" (+ regions)
    convention: norm1000           # box convention the prompt asks for (required when task is grounded);
                                   # "native": the model family's own format (its preset's convention)
    schema: {...}                  # optional JSON schema of the answer
    system: ...                    # optional system text (template)
    image_placement: before        # where the image goes in the first turn: "before" or "after" the text
    answers: {yes: fake, no: real} # optional: short answers that state the verdict (for yes/no questions such as
                                   # PaliGemma's "Is this image made by AI?"): a reply that is just one of them;
                                   # in a multi-turn pack only such a reply does. Local models score these words.
    turns:                         # one or more user turns (templates); turn k may use replies[0..k-1]
      - "Is this image ..."
      - {text: "...", image: none}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from grounddefake.interop import MllmDefakeError, pack_data_from_mllm_defake
from grounddefake.resources import asset_dir
from grounddefake.types import Size, VerdictLabel

Placement = Literal["before", "after", "none"]
TASKS = ("verdict", "grounded")
NATIVE = "native"
"""A pack convention meaning: the model family's own box format."""
_FIELDS = {
    "name",
    "version",
    "description",
    "task",
    "convention",
    "schema",
    "system",
    "image_placement",
    "turns",
    "answers",
}
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


class PromptPackError(ValueError):
    """A pack is invalid; the message names the file and the field."""


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
    task: Literal["verdict", "grounded"]
    convention: str | None
    schema: Mapping[str, Any] | None
    system: str | None
    turns: tuple[Turn, ...]
    source: str
    hash: str
    answers: Mapping[str, VerdictLabel] | None = None
    """Short answers that state the verdict (``{"yes": "fake", "no": "real"}``), lower case."""

    @property
    def id(self) -> str:
        """``name@hash``, as written in predictions (``"prompt": "grounded@1a2b3c4d5e6f"``)."""
        return f"{self.name}@{self.hash}"

    @cached_property
    def schema_text(self) -> str:
        """The answer schema as indented JSON, for templates."""
        return json.dumps(self.schema, indent=2) if self.schema is not None else ""

    def context(self, image_size: Size, replies: Sequence[str] = (), convention: str | None = None) -> dict[str, Any]:
        """The whole rendering context. Built from an allow-list: no sample, label, mask or metadata.

        ``convention`` is the convention in force (a ``native`` pack's model convention); ``box_example`` is one
        answer written in it.
        """
        convention = convention or (None if self.convention == NATIVE else self.convention)
        example = ""
        if convention is not None:
            example = _example(convention, (int(image_size[0]), int(image_size[1])))
        return {
            "image": {"width": int(image_size[0]), "height": int(image_size[1])},
            "convention": convention,
            "box_example": example,
            "schema": self.schema_text,
            "replies": list(replies),
        }

    def render_system(self, image_size: Size, convention: str | None = None) -> str | None:
        if self.system is None:
            return None
        return _render(self.system, self.context(image_size, (), convention), f"{self.source}: system")

    def render_turn(
        self, index: int, image_size: Size, replies: Sequence[str] = (), convention: str | None = None
    ) -> Message:
        """The user message of turn ``index``, given the assistant ``replies`` to the earlier turns."""
        turn = self.turns[index]
        context = self.context(image_size, replies, convention)
        text = _render(turn.text, context, f"{self.source}: turns[{index}]")
        parts: tuple[TextPart | ImagePart, ...]
        if turn.image == "before":
            parts = (ImagePart(), TextPart(text))
        elif turn.image == "after":
            parts = (TextPart(text), ImagePart())
        else:
            parts = (TextPart(text),)
        return Message("user", parts)


@lru_cache(maxsize=1024)
def _example(convention: str, size: Size) -> str:
    from grounddefake.conventions import get_convention

    return get_convention(convention).example(size)


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


def load_pack(source: str | Path) -> PromptPack:
    """Load a pack by name (a shipped pack such as ``grounded``), by path to a YAML file, or by path to an
    mllm-defake v3 prompt JSON (converted; see :mod:`grounddefake.interop`)."""
    path = Path(source)
    if path.suffix.lower() == ".json":
        return _load_mllm_defake(path)
    if not path.suffix and not path.exists():
        path = asset_dir("prompts") / f"{source}.yaml"
        if not path.exists():
            names = ", ".join(p.stem for p in list_packs())
            raise PromptPackError(f"no prompt pack named '{source}' (shipped packs: {names}; or give a YAML path)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptPackError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptPackError(f"{path}: not valid YAML: {exc}") from None
    return pack_from_mapping(data, str(path))


def _load_mllm_defake(path: Path) -> PromptPack:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PromptPackError(f"{path}: not a readable JSON prompt ({exc})") from None
    try:
        return pack_from_mapping(pack_data_from_mllm_defake(data, str(path)), str(path))
    except MllmDefakeError as exc:
        raise PromptPackError(str(exc)) from None


def list_packs() -> list[Path]:
    """The shipped packs, sorted by name."""
    return sorted(asset_dir("prompts").glob("*.yaml"))


def pack_from_mapping(data: Any, source: str) -> PromptPack:
    """Validate a parsed YAML mapping; every error names ``source`` and the field."""

    def fail(field: str, problem: str) -> PromptPackError:
        return PromptPackError(f"{source}: field '{field}': {problem}")

    if not isinstance(data, Mapping):
        raise PromptPackError(f"{source}: a prompt pack must be a YAML mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field (allowed: {', '.join(sorted(_FIELDS))})")
    for key in ("name", "version", "description", "task", "turns"):
        if data.get(key) in (None, ""):
            raise fail(key, "required")
    name = data["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_\-]+", name):
        raise fail("name", "must match [a-z0-9_-]+")
    if not isinstance(data["description"], str):
        raise fail("description", "must be text")
    task = data["task"]
    if task not in TASKS:
        raise fail("task", f"must be one of {', '.join(TASKS)}, got {task!r}")
    convention = data.get("convention")
    if convention is not None and convention != NATIVE:
        from grounddefake.conventions import get_convention

        try:
            get_convention(convention)
        except KeyError as exc:
            raise fail("convention", str(exc.args[0])) from None
    elif convention is None and task == "grounded":
        raise fail("convention", "required when task is 'grounded' (the box convention the prompt asks for)")
    schema = data.get("schema")
    if schema is not None and not isinstance(schema, Mapping):
        raise fail("schema", "must be a JSON-schema mapping")
    system = data.get("system")
    if system is not None and not isinstance(system, str):
        raise fail("system", "must be text")
    placement = data.get("image_placement", "before")
    if placement not in ("before", "after"):
        raise fail("image_placement", f"must be 'before' or 'after', got {placement!r}")
    raw_turns = data["turns"]
    if not isinstance(raw_turns, list) or not raw_turns:
        raise fail("turns", "must be a non-empty list")
    turns = []
    for i, raw in enumerate(raw_turns):
        default: Placement = placement if i == 0 else "none"
        if isinstance(raw, str):
            turns.append(Turn(raw, default))
        elif isinstance(raw, Mapping) and isinstance(raw.get("text"), str):
            image = raw.get("image", default)
            if image not in ("before", "after", "none"):
                raise fail(f"turns[{i}].image", f"must be 'before', 'after' or 'none', got {image!r}")
            if set(raw) - {"text", "image"}:
                raise fail(f"turns[{i}]", "only 'text' and 'image' are allowed")
            turns.append(Turn(raw["text"], image))
        else:
            raise fail(f"turns[{i}]", "must be text or a mapping with 'text'")
    if not any(t.image != "none" for t in turns):
        raise fail("turns", "no turn shows the image")
    templates = {"system": system} if system else {}
    templates.update({f"turns[{i}]": t.text for i, t in enumerate(turns)})
    for field, template in templates.items():
        try:
            _ENV.parse(template)
        except TemplateError as exc:
            raise fail(field, f"template syntax error: {exc}") from None
    answers = data.get("answers")
    if isinstance(answers, Mapping):  # YAML 1.1 reads the keys yes / no as booleans
        answers = {({True: "yes", False: "no"}[k] if isinstance(k, bool) else k): v for k, v in answers.items()}
    if answers is not None:
        if (
            not isinstance(answers, Mapping)
            or not answers
            or any(not isinstance(k, str) or not k.strip() or v not in ("real", "fake") for k, v in answers.items())
        ):
            raise fail("answers", "must map answer words to 'real' or 'fake', e.g. {yes: fake, no: real}")
        answers = {k.strip().lower(): v for k, v in answers.items()}
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return PromptPack(
        name=name,
        version=str(data["version"]),
        description=data["description"].strip(),
        task=task,
        convention=convention,
        schema=schema,
        system=system,
        turns=tuple(turns),
        source=source,
        hash=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12],
        answers=answers,
    )
