"""Training-data layouts that each family's trainers read, and the SFT export that writes them.

- ``paligemma``, ``florence-2`` (conventions paligemma, florence2): ``{image, prefix, suffix}`` JSONL, one row per
  turn, as big_vision and the Hugging Face fine-tuning scripts read it.
- ``qwen2-vl``, ``qwen2.5-vl``, ``qwen3-vl`` (the same conventions): ms-swift's ``{messages, images}`` JSONL,
  ``<image>`` in the text.
- ``llava`` (llava-1.5): LLaVA's JSON list ``[{id, image, conversations: [{from: human | gpt, value}]}]``,
  ``<image>\\n`` opening the first human turn.
- ``internvl`` (internvl): InternVL's ``{id, image, width, height, conversations}`` JSONL.
- ``gemini`` (gemini): Vertex AI's tuning JSONL ``{systemInstruction, contents: [{role, parts}]}``, images as
  ``fileData``.

LLaVA and InternVL take one image and no system turn: the pack's system text opens the first human turn, and a
later turn's repeated image is dropped. The convention a pack's boxes are written in is the pack's own
(``grounded``: norm1000), or the family's for a ``native`` pack (``grounded-native``), as ``eval`` resolves it.
"""

from __future__ import annotations

import json
import mimetypes
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grounddefake.box_convention import Convention
from grounddefake.conventions import get_convention
from grounddefake.datasets.manifest import Dataset
from grounddefake.local.inputs import paligemma_prefix
from grounddefake.prompt_pack import NATIVE, ImagePart, Message, PromptPack
from grounddefake.training.examples import VAL_FRACTION, Conversation, Skipped, conversations_of, user_text
from grounddefake.training.targets import check_trainable

IMAGE_TOKEN = "<image>"


class ExportError(ValueError):
    """An export that cannot be written: an unknown family, a convention of another family, nothing to write."""


@dataclass(frozen=True)
class SftFamily:
    """A model family's training data: its native convention and the layout its trainers read."""

    name: str
    convention: str
    layout: str
    suffix: str = ".jsonl"


SFT_FAMILIES: dict[str, SftFamily] = {
    "paligemma": SftFamily("paligemma", "paligemma", "prefix-suffix"),
    "qwen2-vl": SftFamily("qwen2-vl", "qwen2-vl", "messages"),
    "qwen2.5-vl": SftFamily("qwen2.5-vl", "qwen2.5-vl", "messages"),
    "qwen3-vl": SftFamily("qwen3-vl", "qwen3-vl", "messages"),
    "llava": SftFamily("llava", "llava-1.5", "llava", ".json"),
    "internvl": SftFamily("internvl", "internvl", "internvl"),
    "florence-2": SftFamily("florence-2", "florence2", "prefix-suffix"),
    "gemini": SftFamily("gemini", "gemini", "gemini"),
}
"""``--family`` values of ``data export --to sft``."""


def sft_family(name: str) -> SftFamily:
    """The family named ``name``.

    Raises:
        ExportError: an unknown name (the message lists the known ones).
    """
    try:
        return SFT_FAMILIES[name]
    except KeyError:
        raise ExportError(f"--family is one of {', '.join(SFT_FAMILIES)}, got {name!r}") from None


def answer_convention(pack: PromptPack, family: SftFamily, override: str | None = None) -> Convention | None:
    """The convention the pack's answers are written in for ``family``: the pack's own, else (``native``) the
    family's, or ``override`` (a variant of the family's: ``qwen2.5-vl@1003520``).

    Raises:
        ExportError: an override that is not the family's convention or a variant of it.
    """
    if override is not None and override.partition("@")[0] != family.convention:
        raise ExportError(f"--convention {override} is not {family.name}'s ({family.convention} or a variant of it)")
    if pack.convention == NATIVE:
        return get_convention(override or family.convention)
    return get_convention(pack.convention) if pack.convention else None


ImageRef = Callable[[Path], str]


def image_reference(root: Path, prefix: str | None) -> ImageRef:
    """How an image is named in the files: its absolute path, or ``prefix`` + its path under the dataset's root
    (``gs://bucket/data/`` for Vertex AI, a trainer's image folder)."""
    base = root.resolve()

    def name(path: Path) -> str:
        full = path.resolve()
        if prefix is None:
            return str(full)
        try:
            return prefix + full.relative_to(base).as_posix()
        except ValueError:
            return prefix + full.name

    return name


def _parts_text(message: Message) -> str:
    return user_text(message, IMAGE_TOKEN)


def prefix_suffix_rows(conversation: Conversation, image: str) -> list[dict[str, Any]]:
    """One ``{image, prefix, suffix}`` row per turn: the turn's text as the model is asked it alone (no image
    placeholder, no system text, as PaliGemma's input is built at evaluation)."""
    return [
        {
            "image": image,
            "prefix": paligemma_prefix(user.parts),
            "suffix": reply,
        }
        for user, reply in conversation.exchanges
    ]


def messages_row(conversation: Conversation, image: str) -> dict[str, Any]:
    """ms-swift's ``{messages, images}``: ``<image>`` where each placeholder is, one ``images`` entry per tag."""
    messages = [{"role": m.role, "content": _parts_text(m)} for m in conversation.messages]
    count = sum(isinstance(p, ImagePart) for m in conversation.messages for p in m.parts)
    return {"messages": messages, "images": [image] * count}


def llava_row(conversation: Conversation, image: str, sizes: bool = False) -> dict[str, Any]:
    """LLaVA's (``sizes``: InternVL's) conversation: ``<image>\\n`` opens the first human turn, the system text
    before it; later placeholders are dropped (one image per conversation)."""
    turns: list[dict[str, str]] = []
    for n, (user, reply) in enumerate(conversation.exchanges):
        text = user_text(user)
        if n == 0:
            system = conversation.system
            text = f"{IMAGE_TOKEN}\n" + (f"{system}\n\n{text}" if system else text)
        turns += [{"from": "human", "value": text}, {"from": "gpt", "value": reply}]
    row: dict[str, Any] = {"id": conversation.sample_id, "image": image}
    if sizes:
        row["width"], row["height"] = conversation.image_size
    row["conversations"] = turns
    return row


def gemini_row(conversation: Conversation, image: str) -> dict[str, Any]:
    """Vertex AI's supervised-tuning row: the system text as ``systemInstruction``, images as ``fileData``."""
    mime = mimetypes.guess_type(image)[0] or "image/png"
    contents = []
    for message in conversation.messages:
        if message.role == "system":
            continue
        parts = [
            {"fileData": {"mimeType": mime, "fileUri": image}} if isinstance(p, ImagePart) else {"text": p.text}
            for p in message.parts
        ]
        contents.append({"role": "model" if message.role == "assistant" else "user", "parts": parts})
    row: dict[str, Any] = {}
    if conversation.system:
        row["systemInstruction"] = {"role": "system", "parts": [{"text": conversation.system}]}
    row["contents"] = contents
    return row


def rows_of(layout: str, conversation: Conversation, image: str) -> list[dict[str, Any]]:
    """The rows one conversation becomes in ``layout``."""
    if layout == "prefix-suffix":
        return prefix_suffix_rows(conversation, image)
    if layout == "messages":
        return [messages_row(conversation, image)]
    if layout in ("llava", "internvl"):
        return [llava_row(conversation, image, sizes=layout == "internvl")]
    if layout == "gemini":
        return [gemini_row(conversation, image)]
    raise ExportError(f"unknown layout {layout!r}")


@dataclass(frozen=True)
class SftExport:
    """What an export wrote."""

    family: SftFamily
    convention: str | None
    files: Mapping[str, Path]
    rows: Mapping[str, int]
    conversations: Mapping[str, int]
    skipped: tuple[Skipped, ...]
    rationale_from: Mapping[str, int]
    manifest: Path


def export_sft(
    dataset: Dataset,
    pack: PromptPack,
    family_name: str,
    out: Path,
    convention: str | None = None,
    val_fraction: float = VAL_FRACTION,
    image_prefix: str | None = None,
) -> SftExport:
    """Write ``dataset``'s training conversations for ``family_name`` under ``out``: ``train`` and ``val`` files
    in the family's layout and ``export.json`` (what was written, from what, and how).

    Raises:
        ExportError: an unknown family or convention, a pack whose answers do not follow from the ground truth, or
            no sample with a usable answer.
    """
    family = sft_family(family_name)
    if not 0.0 <= val_fraction < 1.0:
        raise ExportError(f"--val-fraction is in [0, 1), got {val_fraction}")
    try:
        check_trainable(pack)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    chosen = answer_convention(pack, family, convention)
    conversations, skipped = conversations_of(dataset.samples, pack, chosen, val_fraction)
    if not conversations:
        reasons = "; ".join(dict.fromkeys(s.reason for s in skipped[:20])) or "the dataset is empty"
        raise ExportError(f"no sample has a ground-truth answer for prompt pack '{pack.name}': {reasons}")
    name = image_reference(dataset.root, image_prefix)
    out.mkdir(parents=True, exist_ok=True)
    files, rows, counts = {}, {}, Counter(c.split for c in conversations)
    for split in ("train", "val"):
        chosen_rows = [r for c in conversations if c.split == split for r in rows_of(family.layout, c, name(c.image))]
        path = out / f"{split}{family.suffix}"
        _write(path, chosen_rows, as_list=family.suffix == ".json")
        files[split], rows[split] = path, len(chosen_rows)
    rationale = Counter(c.rationale_from for c in conversations)
    manifest = out / "export.json"
    manifest.write_text(
        json.dumps(
            {
                "to": "sft",
                "family": family.name,
                "layout": family.layout,
                "convention": chosen.name if chosen is not None else None,
                "prompt": pack.id,
                "dataset": {"name": dataset.name, "source": str(dataset.source), "format": dataset.format},
                "split": {"rule": "sha256(id) / 2^64 < val_fraction → val", "val_fraction": val_fraction},
                "conversations": dict(counts),
                "rows": rows,
                "files": {k: v.name for k, v in files.items()},
                "image_prefix": image_prefix,
                "rationale_from": dict(rationale),
                "skipped": [{"id": s.sample_id, "reason": s.reason} for s in skipped],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return SftExport(
        family,
        chosen.name if chosen is not None else None,
        files,
        rows,
        dict(counts),
        tuple(skipped),
        dict(rationale),
        manifest,
    )


def _write(path: Path, rows: Sequence[Mapping[str, Any]], as_list: bool) -> None:
    if as_list:
        path.write_text(json.dumps(list(rows), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    with path.open("w", encoding="utf-8") as stream:
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
