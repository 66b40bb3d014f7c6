"""P(Yes) of a Yes/No answer: from a local model's full-vocabulary score, or from an API's top log-probabilities.

The Yes and No tokens are recognised by their text (" Yes", "yes", "YES", '"No', "▁no"), never by token id.
"""

from __future__ import annotations

import math

from grounddefake.types import Completion, TokenLogprob

YES_NO = {"yes": "yes", "no": "no"}
"""The short answers of a Yes/No question (``Request.answers``): a local model scores them over its vocabulary."""
_GLUE = " \t\n\"'*`.:,"
_SPACE_MARKS = str.maketrans({"Ġ": " ", "▁": " ", "Ċ": "\n", "ĉ": "\t"})
NO_LOGPROBS = "no log-probabilities in the answer"
NO_MASS = "no Yes/No token among the top log-probabilities"


def yes_no_word(token: str) -> str | None:
    """``yes`` or ``no`` when ``token`` spells one of them (any case, white space or quotes glued), else None.

    >>> yes_no_word(" Yes"), yes_no_word('"NO'), yes_no_word("▁yes"), yes_no_word("Yesterday")
    ('yes', 'no', 'yes', None)
    """
    word = token.translate(_SPACE_MARKS).strip(_GLUE).lower()
    return word if word in ("yes", "no") else None


def yes_probability(completion: Completion) -> tuple[float | None, str]:
    """(p(Yes) / (p(Yes) + p(No)), why it is None).

    A backend's own ``score`` (a local model: the Yes and No tokens of its whole vocabulary) wins. Otherwise the
    first generated token that is Yes or No (else the first token) is read: its log-probability and its top
    alternatives, the mass of every Yes variant and every No variant summed.

    >>> top = ((" Yes", math.log(0.6)), ("yes", math.log(0.1)), ("No", math.log(0.1)), ("Maybe", math.log(0.2)))
    >>> p, why = yes_probability(Completion("Yes", (TokenLogprob(" Yes", math.log(0.6), top),)))
    >>> round(p, 4), why
    (0.875, '')
    >>> yes_probability(Completion("Yes"))
    (None, 'no log-probabilities in the answer')
    """
    if completion.score is not None:
        return completion.score, ""
    if not completion.logprobs:
        return None, NO_LOGPROBS
    position = next((t for t in completion.logprobs if yes_no_word(t.token)), completion.logprobs[0])
    return _mass(position)


def _mass(position: TokenLogprob) -> tuple[float | None, str]:
    alternatives = dict(position.top)
    alternatives.setdefault(position.token, position.logprob)
    mass = {"yes": 0.0, "no": 0.0}
    for text, logprob in alternatives.items():
        word = yes_no_word(text)
        if word is not None and math.isfinite(logprob):
            mass[word] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    if total <= 0:
        return None, NO_MASS
    return mass["yes"] / total, ""
