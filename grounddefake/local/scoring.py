"""Verdict probabilities and token log-probabilities from a local model's logits.

The verdict vocabulary is resolved from the tokenizer, never hard-coded: every token of its vocabulary that spells
a verdict word ("fake", " Fake", '"real', ...) or one of a pack's short answers ("yes", "No"). While the model
generates, :class:`StepRecorder` keeps, per step, the log-probability of the token chosen, the top alternatives and
the probability mass of each verdict label. The verdict step is the first generated token
in that vocabulary; P(fake) is its fake mass renormalised over the verdict vocabulary. A Yes/No question asked for one
token (the CLUE judge's fast score) is scored at that one step, whatever token the model chose there: CLUE's
M(x, c) is the Yes mass of the first output position renormalised over the Yes and No tokens.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import LogitsProcessor

from grounddefake.types import TokenLogprob

VERDICT_WORDS: Mapping[str, str] = {"real": "real", "fake": "fake"}
"""The verdict words the shipped packs ask for; a pack's ``answers`` add its own."""
YES_NO_SLOTS: Mapping[str, str] = {"yes": "fake", "no": "real"}
"""Answers that map to ``yes`` / ``no`` (a judge's Yes/No question, ``{"yes": "yes", "no": "no"}``) are scored alone:
the Yes tokens take the positive slot, so ``Completion.score`` is P(Yes)."""
_GLUE = " \t\n\"'*"
"""What may be glued to a verdict word in one token: white space (``Verdict: fake``), a quote (``"fake"``), bold."""
_SPACE_MARKS = str.maketrans({"Ġ": " ", "▁": " ", "Ċ": "\n", "ĉ": "\t"})
"""Byte-level BPE (GPT-2, Qwen) and SentencePiece (Llama, Gemma) spellings of white space inside raw tokens."""


@dataclass(frozen=True)
class VerdictVocabulary:
    """The token ids that start a verdict answer, per label."""

    real: tuple[int, ...]
    fake: tuple[int, ...]

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(self.real) | frozenset(self.fake)

    @property
    def usable(self) -> bool:
        """Both labels have at least one token: a probability can be renormalised over them."""
        return bool(self.real) and bool(self.fake)


def verdict_vocabulary(tokenizer: Any, answers: Mapping[str, str] | None = None) -> VerdictVocabulary:
    """Every token of ``tokenizer``'s vocabulary that spells a verdict word or one of ``answers``, in any case,
    alone or with white space, quotes or asterisks glued to it (``fake``, ``▁Fake``, ``Ġ"real``).

    When every answer maps to ``yes`` or ``no``, only those words count and ``fake`` stands for Yes (P(Yes) is the
    score). The whole vocabulary is walked, so word pieces that encoding a word never produces (SentencePiece's ``fake``
    without its ``▁``, as after a quote) count too. A token that would stand for both labels is left out.
    """
    if answers and is_yes_no(answers):  # a Yes/No question: its own words, nothing else
        words = {k.lower(): YES_NO_SLOTS[v] for k, v in answers.items()}
    else:
        words = {**VERDICT_WORDS, **{k.lower(): v for k, v in (answers or {}).items()}}
    found: dict[str, set[int]] = {"real": set(), "fake": set()}
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    for token_id, raw in enumerate(tokens):
        if not isinstance(raw, str):
            continue
        label = words.get(raw.translate(_SPACE_MARKS).strip(_GLUE).lower())
        if label is not None:
            found[label].add(token_id)
    both = found["real"] & found["fake"]
    return VerdictVocabulary(tuple(sorted(found["real"] - both)), tuple(sorted(found["fake"] - both)))


def is_yes_no(answers: Mapping[str, str] | None) -> bool:
    """Whether ``answers`` are those of a Yes/No question (every answer maps to ``yes`` or ``no``).

    >>> is_yes_no({"yes": "yes", "no": "no"}), is_yes_no({"yes": "fake", "no": "real"}), is_yes_no(None)
    (True, False, False)
    """
    return bool(answers) and set(answers.values()) <= set(YES_NO_SLOTS)  # type: ignore[union-attr]


def yes_no_gap(vocabulary: VerdictVocabulary) -> str | None:
    """Why a Yes/No question's vocabulary (Yes in the ``fake`` slot) cannot give P(Yes), else None."""
    missing = [word for word, ids in (("Yes", vocabulary.fake), ("No", vocabulary.real)) if not ids]
    return f"the tokenizer has no token spelling {' or '.join(missing)}" if missing else None


class StepRecorder(LogitsProcessor):
    """Records, per generation step and batch row, what the model's distribution said; changes nothing.

    Runs among the logits processors before temperature and top-k/top-p, so it sees the model's own distribution.
    """

    def __init__(self, vocabulary: VerdictVocabulary, top_k: int) -> None:
        self.vocabulary = vocabulary
        self.top_k = top_k
        self.top_values: list[torch.Tensor] = []
        self.top_ids: list[torch.Tensor] = []
        self.verdict_mass: list[torch.Tensor] = []
        self.chosen: list[torch.Tensor] = []
        self._previous: torch.Tensor | None = None
        self._real = torch.tensor(vocabulary.real, dtype=torch.long)
        self._fake = torch.tensor(vocabulary.fake, dtype=torch.long)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logp = torch.log_softmax(scores.float(), dim=-1)
        if self._previous is not None:
            self.chosen.append(self._previous.gather(1, input_ids[:, -1:]).squeeze(1).cpu())
        self._previous = logp
        if self.top_k:
            top = logp.topk(min(self.top_k, logp.shape[-1]), dim=-1)
            self.top_values.append(top.values.cpu())
            self.top_ids.append(top.indices.cpu())
        if self.vocabulary.usable:
            real = logp[:, self._real.to(logp.device)].logsumexp(-1)
            fake = logp[:, self._fake.to(logp.device)].logsumexp(-1)
            self.verdict_mass.append(torch.stack([real, fake], dim=-1).cpu())
        return scores

    def finish(self, last_tokens: torch.Tensor) -> None:
        """Record the log-probability of the last step's tokens (the next call never comes)."""
        if self._previous is not None:
            self.chosen.append(
                self._previous.gather(1, last_tokens.view(-1, 1).to(self._previous.device)).squeeze(1).cpu()
            )
            self._previous = None

    def verdict_score(self, row: int, tokens: Sequence[int], start: int = 0, first: bool = False) -> float | None:
        """P(fake) at the first of ``tokens`` (row ``row``'s generated tokens) from ``start`` on (after a thinking
        model's reasoning) that is a verdict token; with ``first``, at step ``start`` whatever token it chose (also
        when it chose to stop)."""
        if not self.verdict_mass:
            return None
        if first:
            return self._renormalised(row, start) if start < len(self.verdict_mass) else None
        ids = self.vocabulary.ids
        for step, token in enumerate(tokens):
            if step >= start and token in ids and step < len(self.verdict_mass):
                return self._renormalised(row, step)
        return None

    def _renormalised(self, row: int, step: int) -> float:
        real, fake = (float(v) for v in self.verdict_mass[step][row])
        return 1.0 / (1.0 + math.exp(real - fake)) if math.isfinite(real - fake) else float(fake > real)

    def token_logprobs(self, row: int, tokens: Sequence[int], decode: Any) -> tuple[TokenLogprob, ...]:
        """Row ``row``'s generated tokens with their log-probabilities and top alternatives."""
        out = []
        for step, token in enumerate(tokens):
            value = float(self.chosen[step][row]) if step < len(self.chosen) else float("nan")
            top: tuple[tuple[str, float], ...] = ()
            if self.top_values:
                top = tuple(
                    (decode(int(t)), float(v))
                    for v, t in zip(self.top_values[step][row], self.top_ids[step][row], strict=True)
                    if math.isfinite(float(v))
                )
            out.append(TokenLogprob(decode(token), value if math.isfinite(value) else -1e9, top))
        return tuple(out)
