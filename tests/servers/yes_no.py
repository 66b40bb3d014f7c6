"""A responder for :class:`tests.servers.openai_server.FakeOpenAIServer` that answers the CLUE judge's requests.

Requests are told apart by what they ask: one output token (a Yes/No question, its content after ``Content:``),
"Where is" (a box question), "Think step by step" (the cascade's reasoning) and "Based on your reasoning" (its
rating). Images are told apart by ``image_key`` of their decoded pixels (the default: the colour of the top-left
pixel as ``#rrggbb``); a request without an image has the key None.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from tests.servers.openai_server import Reply


def top_left(pixels: np.ndarray) -> str:
    r, g, b = (int(v) for v in pixels[0, 0, :3])
    return f"#{r:02x}{g:02x}{b:02x}"


def yes_no_logprobs(p_yes: float, token: str | None = None) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """One position whose Yes variants ("Yes", " yes") hold ``p_yes`` of the Yes/No mass, No ("No") the rest, and
    an unrelated token ("Maybe") 10 % of the whole: M = p_yes exactly."""
    p = min(max(p_yes, 1e-9), 1 - 1e-9)
    top = [("Yes", 0.9 * 0.7 * p), (" yes", 0.9 * 0.3 * p), ("No", 0.9 * (1 - p)), ("Maybe", 0.1)]
    chosen = token or ("Yes" if p >= 0.5 else "No")
    return [(chosen, math.log(dict(top)[chosen]), [(t, math.log(v)) for t, v in top])]


@dataclass
class YesNoScript:
    """What the model "sees".

    Attributes:
        scores: (image key or None, content) → P(Yes); missing pairs get ``default``.
        boxes: image key → the box (0-1000) its box questions get; missing: no box.
        ratings: image key → (rating "Yes" / "No" / anything, P(Yes) of the rating token).
        failing: contents whose Yes/No question gets HTTP 400 (not retried).
        logprobs: send log-probabilities (False: a server that has none).
    """

    scores: dict[tuple[str | None, str], float] = field(default_factory=dict)
    boxes: dict[str, list[int]] = field(default_factory=dict)
    ratings: dict[str, tuple[str, float]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    logprobs: bool = True
    default: float = 0.5
    image_key: Callable[[np.ndarray], str] = top_left

    def key(self, body: dict[str, Any]) -> str | None:
        for message in body["messages"]:
            for part in message["content"] if isinstance(message["content"], list) else []:
                if part.get("type") == "image_url":
                    data = part["image_url"]["url"].partition("base64,")[2]
                    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
                    return self.image_key(pixels)
        return None

    def __call__(self, body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]["content"]
        text = (last if isinstance(last, str) else " ".join(p.get("text", "") for p in last)).strip()
        key = self.key(body)
        if body.get("max_tokens") == 1:
            content = text.rpartition("Content:")[2].strip()
            if content in self.failing:
                return Reply(status=400, message="scripted failure of this question")
            p = self.scores.get((key, content), self.default)
            return Reply(text="Yes" if p >= 0.5 else "No", logprobs=yes_no_logprobs(p) if self.logprobs else None)
        if text.startswith("Where is"):
            box = self.boxes.get(key or "")
            return Reply(text=json.dumps({"regions": [{"box": box, "label": "object"}] if box else []}))
        if "Think step by step" in text:
            return Reply(text="The image shows the content in question; weighing each condition in turn.")
        rating, p = self.ratings.get(key or "", ("No", 0.1))
        answer = {"rating": rating, "rationale": "scripted", "regions": [{"box": [100, 100, 500, 500], "label": "x"}]}
        logprobs = None
        if self.logprobs and rating in ("Yes", "No"):  # the rating token follows the JSON's opening tokens
            logprobs = [("{", -0.01, []), ('"rating": "', -0.01, []), *yes_no_logprobs(p, rating)]
        return Reply(text=json.dumps(answer), logprobs=logprobs)


def fast_requests(server: Any, with_image: bool | None = None) -> list[dict[str, Any]]:
    """The Yes/No requests the server got (``with_image``: only those with / without an image)."""
    out = []
    for body in server.requests:
        if body.get("max_tokens") != 1:
            continue
        has_image = any(
            isinstance(m["content"], list) and any(p.get("type") == "image_url" for p in m["content"])
            for m in body["messages"]
        )
        if with_image is None or has_image == with_image:
            out.append(body)
    return out
