"""Training conversations: a pack's rendered turns with the ground-truth replies, per sample, split by id hash.

A conversation is rendered as ``eval`` renders it (the same system text, turns, declared inputs, convention and
``{{ box_example }}`` for the image's size), with each reply the ground truth (:mod:`grounddefake.training.targets`)
instead of a model's answer, so a model trained on it is asked at evaluation exactly what it learnt to answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grounddefake.box_convention import Convention
from grounddefake.image_files import ImageError, read_size
from grounddefake.prompt_pack import ImagePart, Message, PromptPack, SampleInputError, TextPart
from grounddefake.training.targets import Target, TargetError, target_of
from grounddefake.types import Sample, Size

Split = Literal["train", "val"]
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class Conversation:
    """One sample's training conversation.

    Attributes:
        sample_id: the sample's id.
        image: the image file the model sees (unresized: the family's processor resizes it, as at evaluation).
        image_size: its (width, height), the size the prompt and the boxes were written for.
        split: ``train`` or ``val``, from the id's hash (:func:`split_of`).
        label: the sample's label.
        messages: the system text (when the pack has one), then each user turn followed by its ground-truth
            reply as an ``assistant`` message; image placeholders are :class:`ImagePart` (index 0: this image).
        rationale_from: where the reply's rationale came from (:class:`Target`).
    """

    sample_id: str
    image: Path
    image_size: Size
    split: Split
    label: str
    messages: tuple[Message, ...]
    rationale_from: str

    @property
    def system(self) -> str | None:
        """The system text, if any."""
        first = self.messages[0]
        return first.text if first.role == "system" else None

    @property
    def exchanges(self) -> list[tuple[Message, str]]:
        """(user message, ground-truth reply) pairs, in order."""
        turns = [m for m in self.messages if m.role != "system"]
        return [(turns[i], turns[i + 1].text) for i in range(0, len(turns), 2)]


@dataclass(frozen=True)
class Skipped:
    """A sample left out of the training data, and why."""

    sample_id: str
    reason: str


def split_of(sample_id: str, val_fraction: float = VAL_FRACTION) -> Split:
    """``val`` for about ``val_fraction`` of ids, chosen by their sha256 (the same id always lands the same way,
    whatever else is in the dataset or its order).

    >>> split_of("img_0001"), split_of("img_0001", 0.0), split_of("img_0001", 1.0)
    ('train', 'train', 'val')
    """
    digest = hashlib.sha256(sample_id.encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < val_fraction else "train"


def conversation_of(
    sample: Sample,
    pack: PromptPack,
    convention: Convention | None,
    val_fraction: float = VAL_FRACTION,
    fit: Callable[[Size], Size] | None = None,
) -> Conversation:
    """The training conversation of one sample, for a model that sees its image resized to ``fit(size)`` (default:
    as it is; ``train`` gives its model's image policy, so the prompt is rendered as ``eval`` renders it).

    Raises:
        TargetError: no ground-truth answer can be written (:func:`target_of`).
        SampleInputError: the sample lacks an input the pack declares.
        ImageError: the image cannot be read.
    """
    size = read_size(sample.image)  # as displayed: the EXIF rotation the model's image gets applied
    input_size = fit(size) if fit is not None else None
    target: Target = target_of(pack, sample, convention, size, input_size)
    name = convention.name if convention is not None else None
    inputs = pack.inputs_of(sample.meta, sample.id) if pack.inputs else None
    seen = input_size or size
    messages: list[Message] = []
    system = pack.render_system(seen, name, inputs)
    if system:
        messages.append(Message("system", (TextPart(system),)))
    replies: list[str] = []
    for turn, reply in enumerate(target.replies):
        messages.append(pack.render_turn(turn, seen, replies, name, inputs))
        messages.append(Message("assistant", (TextPart(reply),)))
        replies.append(reply)
    return Conversation(
        sample.id,
        Path(sample.image),
        size,
        split_of(sample.id, val_fraction),
        str(sample.label),
        tuple(messages),
        target.rationale_from,
    )


def conversations_of(
    samples: Iterable[Sample],
    pack: PromptPack,
    convention: Convention | None,
    val_fraction: float = VAL_FRACTION,
    fit: Callable[[Size], Size] | None = None,
) -> tuple[list[Conversation], list[Skipped]]:
    """Every sample's conversation; those that cannot have one are listed with their reason, not raised."""
    done: list[Conversation] = []
    skipped: list[Skipped] = []
    for sample in samples:
        try:
            done.append(conversation_of(sample, pack, convention, val_fraction, fit))
        except (TargetError, SampleInputError, ImageError) as exc:
            skipped.append(Skipped(sample.id, str(exc)))
    return done, skipped


def user_text(message: Message, image_token: str = "") -> str:
    """A user turn as text, each image placeholder written as ``image_token`` (dropped when it is empty)."""
    pieces = [image_token if isinstance(p, ImagePart) else p.text for p in message.parts]
    return "".join(p for p in pieces if p)
