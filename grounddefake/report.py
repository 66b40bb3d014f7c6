"""Render a run's ``report.md`` from its config, metrics and per-sample scores (template in ``visualize/``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from grounddefake.records import SampleScore, record_rules
from grounddefake.resources import asset_dir
from grounddefake.rundir import find_overlay
from grounddefake.untrusted import visible


def per_class_keys(labels: list[str]) -> list[str]:
    """The per-class accuracy keys of a label space (``accuracy_real``, ``accuracy_fake``)."""
    return [f"accuracy_{label}" for label in labels]


def md_escape(value: Any, limit: int = 200) -> str:
    """Untrusted text for a Markdown table cell: one line, bounded, no HTML, no cell breaks, no terminal control."""
    text = visible(" ".join(str(value).split()))  # escape sequences shown, never obeyed by a terminal
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\|`*_\[\]])", r"\\\1", text)


def fmt_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def rule_summary(record: Mapping[str, Any]) -> str:
    """A sample's rule decisions in one line: violated and unknown rules by name with the path that decided them,
    the others counted per path ("" for a record without rules).

    >>> rule_summary({"rules": [{"id": "weapons", "decision": "violated", "path": "debiased", "score": 0.93},
    ...     {"id": "gore", "decision": "not_violated", "path": "debiased"},
    ...     {"id": "drugs", "decision": "not_violated", "path": "cascade"}]})
    'weapons violated by debiased (0.93); 2 not violated (1 debiased, 1 cascade)'
    """
    named, rest = [], Counter()
    for rule in record_rules(record)[0]:
        if rule.decision == "not_violated":
            rest[rule.path] += 1
            continue
        number = "" if rule.score is None else f" ({rule.score:.2f})"
        named.append(f"{rule.id} {rule.decision.replace('_', ' ')} by {rule.path}{number}")
    if rest:
        paths = ", ".join(f"{n} {path}" for path, n in rest.items())
        named.append(f"{sum(rest.values())} not violated ({paths})")
    return "; ".join(named)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(asset_dir("visualize"))), undefined=StrictUndefined, autoescape=False
    )
    env.filters["md"] = md_escape
    env.filters["num"] = fmt_number
    env.filters["per_class"] = per_class_keys
    return env


def render_markdown(
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    samples: Sequence[SampleScore],
    overlays: Set[str] = frozenset(),
    records: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The Markdown report; ``overlays`` holds the file names of the overlays drawn (linked from the sample table);
    ``records`` (the prediction lines by id) give a rule pack's per-sample decision paths."""
    drawn = {s.id: name for s in samples if (name := find_overlay(s.id, overlays)) is not None}
    rules = {s.id: rule_summary(records.get(s.id) or {}) for s in samples} if records else {}
    return (
        _environment()
        .get_template("report.md.j2")
        .render(config=config, metrics=metrics, samples=samples, overlays=drawn, rules=rules)
    )
