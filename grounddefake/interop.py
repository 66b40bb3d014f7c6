"""mllm-defake interop: its v3 prompt JSON as prompt-pack data, and its result CSVs as predictions.

A v3 prompt is ``{"format_version": "3", "name", "conversations": [{"id", "payload": [[role, text(, "{image_url}")]],
"response_var_name", "decorators"?}]}``, filled with ``str.format``. Conversions:

- ``system`` items → the pack's system text; ``user`` items of one conversation → one turn (the image goes where
  ``{image_url}`` is); a later conversation's ``{earlier_response_var}`` → ``{{ replies[k] }}``.
- ``{label}`` is refused: mllm-defake puts the **ground truth** there (a label leak); ``{_image_path}`` is refused
  too. Decorators are refused: they import and run Python code.
- mllm-defake's conversations are separate requests; here they are turns of one conversation.

A result CSV has ``path,label,pred,response`` with 1 = real, 0 = fake, −1 = unknown.

This module converts data and knows nothing of prompt packs: :func:`grounddefake.prompts.load_pack` reads a
``.json`` prompt through :func:`pack_data_from_mllm_defake` and validates the result like any YAML pack.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grounddefake.types import Sample

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_PRED = {"1": "real", "0": "fake", "-1": "unknown"}


class MllmDefakeError(ValueError):
    """An mllm-defake prompt cannot be converted; the message names the file and the item."""


def is_mllm_defake_prompt(data: Any) -> bool:
    """Whether parsed JSON is an mllm-defake v3 prompt (``format_version`` 3 with ``conversations``)."""
    return isinstance(data, Mapping) and "conversations" in data and str(data.get("format_version")) == "3"


def pack_data_from_mllm_defake(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The fields of a verdict-only prompt pack (as a pack's YAML would hold them) from an mllm-defake v3 prompt.

    Raises:
        MllmDefakeError: not a v3 prompt, decorators, the ground-truth ``{label}``, an unknown field, or an assistant
            item.
    """
    if not is_mllm_defake_prompt(data):
        raise MllmDefakeError(f"{source}: not an mllm-defake v3 prompt (format_version 3 with conversations)")
    conversations = data.get("conversations")
    if not isinstance(conversations, list) or not conversations:
        raise MllmDefakeError(f"{source}: an mllm-defake prompt needs a non-empty 'conversations' list")
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    replies: dict[str, int] = {}
    for c, conversation in enumerate(conversations):
        where = f"{source}: conversations[{c}]"
        if not isinstance(conversation, Mapping):
            raise MllmDefakeError(f"{where}: not an object")
        if conversation.get("decorators"):
            raise MllmDefakeError(
                f"{where}: decorators {conversation['decorators']!r} are refused: they import and run Python code"
            )
        texts, image_at = [], None
        for i, item in enumerate(conversation.get("payload") or []):
            if not isinstance(item, list) or len(item) not in (2, 3) or not all(isinstance(v, str) for v in item):
                raise MllmDefakeError(f"{where}: payload[{i}] is not [role, text(, image)]")
            role, text = item[0], _jinja(item[1], replies, f"{where}: payload[{i}]")
            if role == "system":
                system.append(text)
            elif role == "user":
                image = len(item) == 3 or "{image_url}" in item[1]
                text = text.replace("{{ __image__ }}", "").strip()
                if image and image_at is None:
                    image_at = "before" if not texts and not text else "after"
                texts.append(text)
            else:
                raise MllmDefakeError(f"{where}: payload[{i}]: role {role!r} is not supported (system, user)")
        turns.append({"text": "\n\n".join(t for t in texts if t), "image": image_at or "none"})
        name = conversation.get("response_var_name")
        if isinstance(name, str) and name:
            replies[name] = c
    if all(t["image"] == "none" for t in turns):
        turns[0]["image"] = "after"
    mapping = {
        "name": re.sub(r"[^a-z0-9_-]+", "-", str(data.get("name") or Path(source).stem).lower()).strip("-") or "mllm",
        "version": str(data.get("format_version")),
        "description": f"converted from the mllm-defake prompt {data.get('name') or source}",
        "task": "verdict",
        "system": "\n\n".join(system) or None,
        "turns": turns,
    }
    return {k: v for k, v in mapping.items() if v is not None}


def _jinja(text: str, replies: Mapping[str, int], where: str) -> str:
    """``str.format`` fields as Jinja: ``{image_url}`` marks the image, earlier responses become replies[k]."""

    def field(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return "{{ '" + token[0] + "' }}"
        name = match.group(1).strip()
        if name == "image_url":
            return "{{ __image__ }}"
        if name in ("label", "_image_path"):
            raise MllmDefakeError(
                f"{where}: {{{name}}} is refused: mllm-defake fills it with the ground truth "
                "or the file path, which a prompt must never see"
            )
        if name in replies:
            return "{{ replies[" + str(replies[name]) + "] }}"
        raise MllmDefakeError(f"{where}: unknown field {{{name}}} (known: image_url, earlier response_var_name)")

    return _FIELD.sub(field, text)


def read_mllm_defake_csv(path: Path, samples: Sequence[Sample]) -> tuple[dict[str, dict[str, Any]], int]:
    """Prediction records by sample id from an mllm-defake result CSV, and how many rows were not used.

    A row is matched to a sample by its image path — the whole path (a relative one resolved against the CSV's
    folder), else its last two components, else its file name when that is unique — and only when the row's own
    ``label`` column (1 real, 0 fake) agrees with the sample's label. Unmatched, disagreeing and repeated rows are
    counted, never guessed.
    """
    by_full = {str(s.image.resolve()): s for s in samples}
    by_two: dict[str, list[Sample]] = {}
    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        by_two.setdefault("/".join(s.image.parts[-2:]), []).append(s)
        by_name.setdefault(s.image.name, []).append(s)
    records: dict[str, dict[str, Any]] = {}
    unused = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            raw_path = Path(row.get("path") or "")
            full = raw_path if raw_path.is_absolute() else path.parent / raw_path
            sample = by_full.get(str(full.resolve()))
            if sample is None:
                two = by_two.get("/".join(raw_path.parts[-2:]), [])
                name = by_name.get(raw_path.name, [])
                sample = two[0] if len(two) == 1 else name[0] if len(name) == 1 else None
            truth = _PRED.get(str(row.get("label", "")).strip())
            if sample is None or sample.id in records or (truth in ("real", "fake") and truth != sample.label):
                unused += 1
                continue
            label = _PRED.get(str(row.get("pred", "")).strip(), "unknown")
            records[sample.id] = {"id": sample.id, "label": label, "raw": row.get("response") or ""}
    return records, unused
