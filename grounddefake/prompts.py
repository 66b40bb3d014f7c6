"""Prompt packs: YAML files (or mllm-defake JSON prompts) read and validated into :class:`PromptPack` values.

A pack cannot run code: its templates are rendered in a sandbox from an allow-listed context that never holds the
sample's ground truth (:mod:`grounddefake.prompt_pack`, where the :class:`PromptPack` value and its rendering live).

Pack fields::

    name: grounded                 # required, [a-z0-9_-]+
    version: 1                     # required
    description: ...               # required
    task: grounded                 # required: "verdict" (label + rationale), "grounded" (+ regions), "rules"
                                   # (a rule pack: rules, method, judge; see grounddefake.rule_packs) or "judge"
                                   # (an LLM judge of explanations, used in scoring; see grounddefake.judge_packs)
    convention: norm1000           # box convention the prompt asks for (required when task is grounded);
                                   # "native": the model family's own format (its preset's convention)
    schema: {...}                  # optional JSON schema of the answer
    system: ...                    # optional system text (template)
    image_placement: before        # where the image goes in the first turn: "before" or "after" the text
    labels: [safe, unsafe]         # optional: the task's labels (default [real, fake])
    positive: unsafe               # the positive class, one of labels (default fake; required with labels):
                                   # metrics, false positives / negatives and a verdict's score P(positive) read it
    answers: {yes: fake, no: real} # optional: short answers that state the verdict (for yes/no questions such as
                                   # PaliGemma's "Is this image made by AI?"): a reply that is just one of them;
                                   # in a multi-turn pack only such a reply does. Local models score these words.
    scalar: {scale: 1, direction: plausibility, key: score}
                                   # optional: the raw scalar the last turn's JSON holds under key (values in
                                   # [0, scale]; direction plausibility or implausibility); kept as the verdict's
                                   # scalar, and score (P(positive)) is derived from it when there is no better one
    inputs: [question, choices]    # optional: fields of the sample's meta the templates may use, as
                                   # {{ inputs.question }}; never ground truth (label, regions, mask, ... are refused)
    turns:                         # one or more user turns (templates); turn k may use replies[0..k-1]
      - "Is this image ..."
      - {text: "...", image: none}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateError, nodes

from grounddefake.interop import MllmDefakeError, pack_data_from_mllm_defake
from grounddefake.judge_packs import check_judge, rehearse_judge_pack
from grounddefake.label_space import REAL_FAKE, SAFE_UNSAFE, LabelSpace, LabelSpaceError
from grounddefake.prompt_pack import (
    MAX_INPUT_CHARS,
    MAX_RANGE,
    MAX_RENDERED,
    NATIVE,
    RESERVED_INPUTS,
    ImagePart,
    Message,
    Placement,
    PromptPack,
    PromptPackError,
    SampleInputError,
    TextPart,
    Turn,
    parse_template,
)
from grounddefake.resources import asset_dir
from grounddefake.rule_packs import rehearse_judge, rule_fields, with_defaults
from grounddefake.scalar import ScalarError, ScalarSpec

__all__ = [
    "MAX_INPUT_CHARS",
    "MAX_RANGE",
    "MAX_RENDERED",
    "NATIVE",
    "RESERVED_INPUTS",
    "TASKS",
    "ImagePart",
    "Message",
    "PromptPack",
    "PromptPackError",
    "SampleInputError",
    "TextPart",
    "Turn",
    "list_packs",
    "load_pack",
    "pack_from_mapping",
]

TASKS = ("verdict", "grounded", "rules", "judge")
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
    "inputs",
    "rules",
    "method",
    "judge",
    "labels",
    "positive",
    "scalar",
}


def _declared_inputs(raw: Any, fail: Any) -> tuple[str, ...]:
    """The ``inputs`` field: distinct field names, none of them reserved for ground truth or the image."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise fail("inputs", "must be a list of sample meta field names, e.g. [question, choices]")
    for name in raw:
        if name.lower() in RESERVED_INPUTS:
            raise fail("inputs", f"'{name}' is reserved: a prompt never sees the sample's ground truth or identity")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise fail("inputs", f"'{name}' is not a name a template can use (letters, digits, _)")
    if len(set(raw)) != len(raw):
        raise fail("inputs", "lists a field twice")
    return tuple(raw)


def _undeclared_inputs(template: nodes.Template, declared: tuple[str, ...]) -> list[str]:
    """The ``inputs.NAME`` / ``inputs["NAME"]`` a template reads that the pack does not declare (``inputs`` itself
    when it declares none)."""
    used = []
    for node in template.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if isinstance(node, nodes.Name):
            if node.name == "inputs" and not declared:
                used.append("inputs")
        elif isinstance(node.node, nodes.Name) and node.node.name == "inputs":
            name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            if isinstance(name, str) and name not in declared:
                used.append(f"inputs.{name}")
    return used


def _label_space(labels: Any, positive: Any, fail: Any, default: LabelSpace = REAL_FAKE) -> LabelSpace:
    """The ``labels`` and ``positive`` fields; ``default`` (real/fake, ``fake`` positive) when neither is given."""
    if labels is None:
        if positive not in (None, default.positive):
            shown = ", ".join(default.labels)
            raise fail("positive", f"{positive!r} is not one of the default labels ({shown}): declare 'labels'")
        return default
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise fail("labels", "must be a list of labels, e.g. [safe, unsafe]")
    if positive is None:
        raise fail("positive", "required with 'labels': the positive class, e.g. unsafe")
    try:
        return LabelSpace(tuple(labels), str(positive))
    except LabelSpaceError as exc:
        raise fail("labels" if str(positive) in labels else "positive", str(exc)) from None


def load_pack(source: str | Path) -> PromptPack:
    """Load a pack by name (a shipped pack such as ``grounded``, or its file name ``grounded.yaml`` when no such file
    is here), by path to a YAML file, or by path to an mllm-defake v3 prompt JSON (converted; see
    :mod:`grounddefake.interop`)."""
    path = Path(source)
    if path.suffix.lower() == ".json":
        return _load_mllm_defake(path)
    if not path.exists() and path.name == str(source) and (asset_dir("prompts") / path.name).is_file():
        path = asset_dir("prompts") / path.name  # a shipped pack by its file name: constitution.yaml
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
    data = with_defaults(data)  # a rule pack's cascade turns (grounddefake.rule_packs)
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
        default: Placement = placement if i == 0 and task != "judge" else "none"
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
    if task == "judge":
        check_judge(data, turns, fail)
    elif not any(t.image != "none" for t in turns):
        raise fail("turns", "no turn shows the image")
    inputs = _declared_inputs(data.get("inputs"), fail)
    templates = {"system": system} if system else {}
    templates.update({f"turns[{i}]": t.text for i, t in enumerate(turns)})
    for field, template in templates.items():
        try:
            parsed = parse_template(template)
        except TemplateError as exc:
            raise fail(field, f"template syntax error: {exc}") from None
        undeclared = _undeclared_inputs(parsed, inputs)
        if undeclared:
            raise fail(field, f"uses {undeclared[0]}, which 'inputs' does not declare")
    default = SAFE_UNSAFE if task == "rules" else REAL_FAKE
    space = _label_space(data.get("labels"), data.get("positive"), fail, default)
    answers = data.get("answers")
    if isinstance(answers, Mapping):  # YAML 1.1 reads the keys yes / no as booleans
        answers = {({True: "yes", False: "no"}[k] if isinstance(k, bool) else k): v for k, v in answers.items()}
    if answers is not None:
        if (
            not isinstance(answers, Mapping)
            or not answers
            or any(not isinstance(k, str) or not k.strip() or v not in space.labels for k, v in answers.items())
        ):
            labels = " or ".join(f"'{label}'" for label in space.labels)
            raise fail("answers", f"must map answer words to {labels}, e.g. {{yes: {space.positive}, no: ...}}")
        answers = {k.strip().lower(): v for k, v in answers.items()}
    scalar = None
    if data.get("scalar") is not None:
        try:
            scalar = ScalarSpec.from_json(data["scalar"])
        except ScalarError as exc:
            raise fail("scalar", str(exc)) from None
    judged = rule_fields(data, space, fail, source)
    canonical = json.dumps({**data, **judged.pop("hashed")}, sort_keys=True, ensure_ascii=False, default=str)
    pack = PromptPack(
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
        inputs=inputs,
        label_space=space,
        scalar=scalar,
        **judged,
    )
    rehearse(pack)
    return pack


REHEARSAL_SIZE = (640, 480)
REHEARSAL_CONVENTION = "qwen2.5-vl"
"""A ``native`` pack is rehearsed with a model family that has its own box format."""


def rehearse(pack: PromptPack) -> None:
    """Render every template of ``pack`` once, on a stand-in sample, so that a template the sandbox refuses
    (``{% include %}``, a loop past its bound, an unsafe attribute) fails when the pack is loaded, before any file is
    written or any request is sent.

    Raises:
        PromptPackError: a template cannot be rendered.
    """
    if pack.task == "judge":
        rehearse_judge_pack(pack)
        return
    convention = REHEARSAL_CONVENTION if pack.convention == NATIVE else None
    inputs = {name: "example" for name in pack.inputs}
    pack.render_system(REHEARSAL_SIZE, convention, inputs)
    for index in range(len(pack.turns)):
        pack.render_turn(index, REHEARSAL_SIZE, ["(an earlier answer)"] * index, convention, inputs)
    rehearse_judge(pack, REHEARSAL_SIZE, convention)
