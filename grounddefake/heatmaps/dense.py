"""Asking for a dense map: ``consensus:N`` (N sampled answers voted and averaged) and ``probe:K`` (the answer, then
a Yes/No question per tile of a K×K grid).

Every request goes through the run's :class:`Caller` (cache, retries, rate limits): a consensus answer's seed is
part of its request, so each seed is cached on its own. A failed request is data: a failed consensus answer does not
vote, a failed tile has no P(Yes) and is left out of the map.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from grounddefake.asking import Answer, ask_prepared
from grounddefake.backends.base import BackendError, GenerationParams, Request
from grounddefake.heatmaps.maps import consensus_map, probe_map, tile_boxes
from grounddefake.heatmaps.modes import HeatmapMode
from grounddefake.images import PreparedImage, prepare_image
from grounddefake.judges.ablation import input_rect
from grounddefake.judges.baselines import BaselineMemo
from grounddefake.judges.yes_no import YES_NO, yes_probability
from grounddefake.label_space import UNKNOWN
from grounddefake.prompts import ImagePart, Message, PromptPack, TextPart
from grounddefake.types import Completion

if TYPE_CHECKING:
    from grounddefake.caller import Caller

PROBE_QUESTION = "Does this crop contain a generation artifact or manipulation? Answer Yes or No."


async def ask_dense(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    params: GenerationParams,
    inputs: Mapping[str, Any] | None,
    mode: HeatmapMode,
    baselines: BaselineMemo[Any] | None = None,
) -> Answer:
    """The answer of a dense ``mode`` with its map and its requests by purpose (``baselines``: the run's memo of
    text-only baselines, for ``probe:K:debiased``)."""
    if mode.kind == "consensus":
        return await ask_consensus(caller, pack, prepared, params, inputs, mode.n)
    prior = None
    if mode.debiased:
        memo = baselines if baselines is not None else BaselineMemo()  # an empty memo is falsy: test for None
        prior = await memo.get(f"probe: {PROBE_QUESTION}", lambda: _baseline(caller, params))
    return await ask_probed(caller, pack, prepared, params, inputs, mode.n, prior)


async def ask_consensus(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    params: GenerationParams,
    inputs: Mapping[str, Any] | None,
    n: int,
) -> Answer:
    """N answers at seeds 0..N−1; the verdict is the majority label among the answered ones (a tie is unknown),
    its score the mean of the voters' scores when every one has a score, else the share of positive votes; its
    regions are those of the first answer with the majority label; the map is :func:`consensus_map` of the
    positive answers' regions (an answer with another label claims none)."""
    answers = await asyncio.gather(
        *(ask_prepared(caller, pack, prepared, replace(params, seed=seed), inputs) for seed in range(n))
    )
    positive = pack.label_space.positive
    verdicts = [a.verdict for a in answers]
    votes = Counter(v.label for v in verdicts if v.label != UNKNOWN)
    ranked = votes.most_common()
    completions = tuple(c for a in answers for c in a.completions)
    size = prepared.transform.original_size
    heatmap = consensus_map([v.regions if v.label == positive else () for v in verdicts], size)
    requests = len(completions)
    first = len(answers[0].completions)
    purposes = (("answer", first), ("consensus", requests - first))
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        why = "no answer" if not ranked else f"the {n} answers are split ({_tally(votes)})"
        verdict = replace(verdicts[0], label=UNKNOWN, score=None, regions=(), parse_errors=(f"consensus: {why}",))
    else:
        label = ranked[0][0]
        chosen = next(v for v in verdicts if v.label == label)
        scores = [v.score for v in verdicts if v.label != UNKNOWN and v.score is not None]
        voted = sum(votes.values())
        score = float(np.mean(scores)) if len(scores) == voted else votes[positive] / voted
        note = f"consensus of {n}: {_tally(votes)}"
        verdict = replace(chosen, score=score, parse_errors=(*chosen.parse_errors, note))
    verdict = replace(verdict, requests=requests)
    cached = all(a.cached for a in answers)
    return _answer(verdict, prepared, completions, cached, heatmap, purposes)


async def ask_probed(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    params: GenerationParams,
    inputs: Mapping[str, Any] | None,
    k: int,
    prior: float | None = None,
) -> Answer:
    """The pack's answer, then :func:`probe` of a K×K grid: the verdict is the answer's, the map the tiles'
    (each taken relative to the text-only ``prior`` P(Yes) when given)."""
    answer = await ask_prepared(caller, pack, prepared, params, inputs)
    heatmap, tiles, notes, tiles_cached = await probe(caller, prepared, k, params, prior)
    completions = (*answer.completions, *tiles)
    purposes = (("answer", len(answer.completions)), ("probe", len(tiles)))
    verdict = replace(answer.verdict, requests=len(completions), parse_errors=(*answer.verdict.parse_errors, *notes))
    cached = answer.cached and tiles_cached
    return _answer(verdict, prepared, completions, cached, heatmap, purposes)


async def probe(
    caller: Caller, prepared: PreparedImage, k: int, params: GenerationParams, prior: float | None = None
) -> tuple[np.ndarray, tuple[Completion, ...], tuple[str, ...], bool]:
    """(map, the tiles' completions, notes, whether every tile came from the cache): each tile of
    :func:`tile_boxes` cropped from the image the model sees, asked :data:`PROBE_QUESTION` with one token and
    log-probabilities, its P(Yes) spread over its pixels."""
    size = prepared.transform.original_size
    tiles = tile_boxes(size, k)
    results = await asyncio.gather(*(_ask_tile(caller, prepared, tile, params) for tile in tiles))
    p_yes = [debias(p, prior) for p, _, _, _ in results]
    completions = tuple(c for _, c, _, _ in results if c is not None)
    failed = [why for p, _, why, _ in results if p is None]
    notes = (f"probe: {len(failed)} of {len(tiles)} tiles without P(Yes) ({failed[0]})",) if failed else ()
    cached = all(hit for _, _, _, hit in results)
    return probe_map(tiles, p_yes, size), completions, notes, cached


async def _ask_tile(
    caller: Caller, prepared: PreparedImage, tile: tuple[float, float, float, float], params: GenerationParams
) -> tuple[float | None, Completion | None, str, bool]:
    rect = input_rect(prepared, tile)  # a tile always covers a pixel: it spans K tiles' share of the image
    assert rect is not None, tile
    left, top, right, bottom = rect
    crop_pixels = np.ascontiguousarray(prepared.pixels[top:bottom, left:right])
    crop = await asyncio.to_thread(prepare_image, crop_pixels, caller.backend.image_policy)
    message = Message("user", (ImagePart(), TextPart(PROBE_QUESTION)))
    request = Request((message,), (crop,), None, None, replace(params, max_tokens=1), YES_NO)
    try:
        completion, hit = await caller.complete(request)
    except Exception as exc:  # a failed tile is data: it is left out of the map
        return None, None, str(exc) if isinstance(exc, BackendError) else type(exc).__name__, False
    p, why = yes_probability(completion)
    return p, completion, why, hit


def debias(p: float | None, prior: float | None) -> float | None:
    """A tile's P(Yes) above the language prior, rescaled to [0, 1]: max(0, p − b) / (1 − b); ``p`` itself without
    a prior.

    >>> debias(0.8, 0.6), debias(0.5, 0.6), debias(0.8, None)
    (0.5000000000000001, 0.0, 0.8)
    """
    if p is None or prior is None:
        return p
    return max(0.0, p - prior) / (1 - prior) if prior < 1 else 0.0


async def _baseline(caller: Caller, params: GenerationParams) -> float | None:
    """P(Yes) of the probe question asked without an image (None when it fails or has no Yes/No mass)."""
    message = Message("user", (TextPart(PROBE_QUESTION),))
    request = Request((message,), (), None, None, replace(params, max_tokens=1), YES_NO)
    try:
        completion, _ = await caller.complete(request)
    except Exception:  # a failed baseline leaves the tiles as they are
        return None
    return yes_probability(completion)[0]


def _tally(votes: Counter[str]) -> str:
    return ", ".join(f"{count} {label}" for label, count in votes.most_common())


def _answer(
    verdict: Any,
    prepared: PreparedImage,
    completions: Sequence[Completion],
    cached: bool,
    heatmap: np.ndarray,
    purposes: tuple[tuple[str, int], ...],
) -> Answer:
    return Answer(verdict, prepared, tuple(completions), cached, heatmap=heatmap, purposes=purposes)
