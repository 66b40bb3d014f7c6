"""Rule packs (``task: rules``): the rules, the method and the judge's parameters of a prompt pack, validated.

:func:`grounddefake.prompts.pack_from_mapping` hands a pack's mapping here twice: :func:`with_defaults` first (a
rule pack without ``turns`` gets the CLUE cascade's two turns), then :func:`rule_fields` for the PromptPack fields
``rules``, ``method`` and ``judge``. Rule pack fields::

    task: rules
    labels: [safe, unsafe]         # the label space; positive: unsafe
    positive: unsafe
    method: clue                   # the CLUE judge (the only method of a rule pack)
    convention: norm1000           # needed when a rule has ground: true or judge.ablate is on
    judge: {tau: 0.5, debias: true, low: 0.3, high: 0.8, ablate: own-box, ablation_margin: 0.6, cascade: true,
            relevance: clip, relevance_model: PATH, relevance_threshold: 0.22,
            fast_question: "...", box_question: "..."}   # every key optional, CLUE's defaults (relevance off)
    rules:
      - id: R1
        text: No weapons.                           # as the policy owner wrote it
        objective: A firearm or a knife is visible.  # the objectified wording that is judged
        preconditions: [[a gun, a knife]]           # an AND of OR-groups of visual facts
        objects: [gun, knife]                       # optional: central object words
        ground: true                                # optional: ask for the regions when violated
    turns: [...]                   # optional: the cascade's turns; they see {{ rule.id }}, .text, .objective
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from grounddefake.judges.relevance import ENV_MODEL, checkpoint_problem, resolve_model
from grounddefake.label_space import SAFE_UNSAFE, LabelSpace
from grounddefake.local.loading import checkpoint_fingerprint
from grounddefake.prompt_pack import PromptPack, PromptPackError, render_template
from grounddefake.rules import JudgeParams, Rule

METHODS = ("reason", "clue")
THINK_TURN = (
    "Here is a rule about images: {{ rule.objective }}\n"
    "Think step by step about whether the image violates the rule: describe what is visible that matters to it, "
    "then reason about each of its conditions. Do not give a final rating yet."
)
"""The cascade's chain-of-thought turn (shows the image)."""
RATE_TURN = (
    "Based on your reasoning, does the image violate the rule? Answer only with JSON: "
    '{"rating": "Yes" or "No", "rationale": "<one or two sentences>", "regions": [{"box": [x1, y1, x2, y2], '
    '"label": "<what it shows>"}]}, listing the regions that show the violation (an empty list when there are '
    "none){% if box_example %}, each box written like this example: {{ box_example }}{% endif %}."
)
"""The cascade's rating turn: JSON with the rating, a rationale and the regions in the pack's convention."""
REHEARSAL_CONTENT = "a red car"


def with_defaults(data: Any) -> Any:
    """``data`` with the cascade's default turns when it is a rule pack without ``turns``.

    >>> len(with_defaults({"task": "rules"})["turns"]), with_defaults({"task": "verdict"})
    (2, {'task': 'verdict'})
    """
    if isinstance(data, Mapping) and data.get("task") == "rules" and "turns" not in data:
        return {**data, "turns": [THINK_TURN, RATE_TURN]}
    return data


def rule_fields(
    data: Mapping[str, Any], space: LabelSpace, fail: Callable[[str, str], PromptPackError], source: str = ""
) -> dict[str, Any]:
    """The PromptPack fields ``rules``, ``method`` and ``judge`` of a validated pack mapping, plus ``hashed``: what
    the pack hash covers besides the file (every judge parameter, defaults included; with relevance scanning on, the
    CLIP checkpoint's content instead of its path). ``source``: the pack file (a relative ``relevance_model`` is
    relative to its folder).

    Raises:
        PromptPackError: (from ``fail``) a field is malformed, or rules / judge appear in a pack that is not a rule
            pack.
    """
    task = data.get("task")
    method = data.get("method", "clue" if task == "rules" else "reason")
    if method not in METHODS:
        raise fail("method", f"must be one of {', '.join(METHODS)}, got {method!r:.40}")
    if task != "rules":
        for field in ("rules", "judge"):
            if field in data:
                raise fail(field, "only a rule pack (task: rules) has it")
        if method != "reason":
            raise fail("method", "only a rule pack (task: rules) is judged by 'clue'")
        return {"rules": (), "method": method, "judge": None, "hashed": {}}
    if method != "clue":
        raise fail("method", "a rule pack is judged by 'clue'")
    rules = _rules(data.get("rules"), fail)
    judge = _judge(data.get("judge"), fail, source)
    if space != SAFE_UNSAFE:
        raise fail("labels", "a rule pack's labels are [safe, unsafe], with positive: unsafe")
    if data.get("convention") is None and (judge.ablate or any(r.ground for r in rules)):
        raise fail("convention", "required when a rule has ground: true or judge.ablate is on (boxes are asked)")
    hashed = judge.to_json()
    if judge.relevance_model is not None and judge.relevance:  # the same weights anywhere: the same pack
        hashed["relevance_model"] = checkpoint_fingerprint(judge.relevance_model)
    return {"rules": rules, "method": method, "judge": judge, "hashed": {"judge": hashed}}


def _rules(raw: Any, fail: Callable[[str, str], PromptPackError]) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail("rules", "a rule pack needs a non-empty list of rules")
    rules: list[Rule] = []
    for i, item in enumerate(raw):
        where = f"rules[{i}]"
        if not isinstance(item, Mapping):
            raise fail(where, "must be a mapping with id, text, objective and preconditions")
        extra = sorted(set(item) - {"id", "text", "objective", "preconditions", "objects", "ground"})
        if extra:
            raise fail(f"{where}.{extra[0]}", "unknown field (allowed: id, text, objective, preconditions, ...)")
        groups = item.get("preconditions")
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise fail(f"{where}.preconditions", "must be a list of OR-groups, e.g. [[a person], [a gun, a knife]]")
        objects = item.get("objects") or []
        if not isinstance(objects, list):
            raise fail(f"{where}.objects", "must be a list of object words")
        try:
            rule = Rule(
                id=str(item.get("id", "")),
                text=item.get("text"),  # type: ignore[arg-type]
                objective=item.get("objective"),  # type: ignore[arg-type]
                preconditions=tuple(tuple(g) for g in groups),
                objects=tuple(objects),
                ground=item.get("ground", False),
            )
        except ValueError as exc:
            raise fail(where, str(exc)) from None
        if any(r.id == rule.id for r in rules):
            raise fail(where, f"rule id {rule.id} appears twice")
        rules.append(rule)
    return tuple(rules)


def _judge(raw: Any, fail: Callable[[str, str], PromptPackError], source: str) -> JudgeParams:
    if raw is None:
        return JudgeParams()
    if not isinstance(raw, Mapping):
        raise fail("judge", "must be a mapping of the judge's parameters")
    known = set(JudgeParams.__dataclass_fields__)
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        raise fail(f"judge.{unknown[0]}", f"unknown parameter (allowed: {', '.join(sorted(known))})")
    values = dict(raw)
    for name in ("ablate", "relevance"):  # YAML reads off / false as False: the mode is off
        if values.get(name) is False or values.get(name) == "off":
            values[name] = None
    model = values.get("relevance_model")
    if values.get("relevance") == "clip" and (model is None or isinstance(model, str)):
        values["relevance_model"] = resolve_model(model, source)
        if values["relevance_model"] is None:
            raise fail(
                "judge.relevance_model", f"relevance: clip needs a local CLIP checkpoint folder (or ${ENV_MODEL})"
            )
    try:
        judge = JudgeParams(**values)
    except ValueError as exc:
        raise fail("judge", str(exc).removeprefix("judge: ")) from None
    if judge.relevance and judge.relevance_model:
        problem = checkpoint_problem(judge.relevance_model)
        if problem:
            raise fail("judge.relevance_model", problem)
    return judge


def rehearse_judge(pack: PromptPack, size: tuple[int, int], convention: str | None) -> None:
    """Render the judge's own questions once on stand-in values (the turns are rehearsed with the pack).

    Raises:
        PromptPackError: a question cannot be rendered.
    """
    if pack.judge is None:
        return
    context = pack.context(size, (), convention)
    render_template(pack.judge.fast_question, {"content": REHEARSAL_CONTENT}, f"{pack.source}: judge.fast_question")
    box = {"object": REHEARSAL_CONTENT, "box_example": context["box_example"], "convention": context["convention"]}
    render_template(pack.judge.box_question, box, f"{pack.source}: judge.box_question")
