"""Training batches: each prompt encoded exactly as evaluation encodes it, its answer after it, loss on the answer.

A prompt is the conversation up to one user turn, encoded alone by the family's :class:`ModelInputs` (the chat
template with the generation prompt, Qwen's image grid, PaliGemma's prefix and bidirectional prefix attention), so
training sees the very tokens ``eval`` will send. The ground-truth reply and the end-of-answer token follow it;
rows are right-padded into a batch and ``labels`` is -100 everywhere but the answer tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grounddefake.backend_interface import Request
from grounddefake.images import PreparedImage
from grounddefake.prompt_pack import Message, TextPart
from grounddefake.training.examples import Conversation

IGNORE = -100
"""The label of tokens the loss does not see (the prompt and the padding)."""
ANSWER_TOKEN_TYPE = {"token_type_ids": 1}
"""Per-token inputs whose answer tokens take another value than 0: PaliGemma's suffix is token type 1 (causal)."""
ATTENTION = "attention_mask"


@dataclass(frozen=True)
class TrainingItem:
    """One prompt (everything up to a user turn, as it is asked at evaluation) and its ground-truth reply."""

    sample_id: str
    request: Request
    answer: str


def items_of(conversation: Conversation, image: PreparedImage) -> list[TrainingItem]:
    """One item per turn of ``conversation``: the messages up to that user turn (earlier replies the ground
    truth, as a model that answered them right would see them) and the reply to it."""
    items = []
    messages: list[Message] = [m for m in conversation.messages if m.role == "system"]
    for user, reply in conversation.exchanges:
        messages.append(user)
        items.append(TrainingItem(conversation.sample_id, Request(tuple(messages), (image,)), reply))
        messages.append(Message("assistant", (TextPart(reply),)))
    return items


def collate(inputs: Any, items: Sequence[TrainingItem]) -> tuple[dict[str, Any], int]:
    """A right-padded batch of prompt + answer rows with ``labels``, and its number of answer tokens.

    ``inputs`` is the family's :class:`grounddefake.local.inputs.ModelInputs`; the answer ends with the tokenizer's
    end-of-sequence token (``<|im_end|>`` for Qwen's chat checkpoints, ``<eos>`` for PaliGemma), where generation
    stops at evaluation.
    """
    import torch

    tokenizer = inputs.tokenizer
    eos = tokenizer.eos_token_id
    rows: list[dict[str, Any]] = []
    for item in items:
        encoded = inputs.encode([item.request])
        answer = tokenizer(item.answer, add_special_tokens=False)["input_ids"]
        rows.append({"encoded": encoded, "answer": torch.tensor([*answer, eos], dtype=torch.long)})
    width = max(int(r["encoded"]["input_ids"].shape[1]) + len(r["answer"]) for r in rows)
    batch: dict[str, list[Any]] = {}
    labels = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    for row in rows:
        encoded, answer = row["encoded"], row["answer"]
        length = int(encoded["input_ids"].shape[1])
        tail = width - length - len(answer)
        for key, value in encoded.items():
            if not _is_per_token(value, encoded["input_ids"]):
                batch.setdefault(key, []).append(value)
                continue
            if key == "input_ids":
                extra = answer
            else:
                extra = torch.full((len(answer),), 1 if key == ATTENTION else ANSWER_TOKEN_TYPE.get(key, 0))
            filler = pad if key == "input_ids" else 0
            padded = torch.cat([value[0], extra.to(value.dtype), torch.full((tail,), filler, dtype=value.dtype)])
            batch.setdefault(key, []).append(padded[None])
        labels.append(torch.cat([torch.full((length,), IGNORE), answer, torch.full((tail,), IGNORE)])[None])
    merged = {key: torch.cat(values, dim=0) for key, values in batch.items()}
    merged["labels"] = torch.cat(labels, dim=0)
    return merged, int(sum(len(r["answer"]) for r in rows))


def _is_per_token(value: Any, input_ids: Any) -> bool:
    return hasattr(value, "shape") and tuple(value.shape) == tuple(input_ids.shape)


def answer_loss(logits: Any, labels: Any) -> Any:
    """Mean cross-entropy of the answer tokens: position t predicts token t + 1."""
    import torch

    shifted = logits[:, :-1].float()
    target = labels[:, 1:]
    return torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]), target.reshape(-1), ignore_index=IGNORE
    )
