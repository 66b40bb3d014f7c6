"""The CLUE judge of a rule pack: one image, every rule, relevance → fast → debiased → ablation → cascade.

With ``relevance: clip``, the CLIP similarity of the image and each rule's objective is computed first
(:mod:`grounddefake.judges.relevance`): a rule below ``relevance_threshold`` is ``not_violated`` by path
``relevance`` with no request; the others go on as below, their similarity recorded. A scan that fails makes every
rule ``unknown`` (asked again on resume).

For each rule, its OR-groups are asked in order and each precondition c of a group is scored by one request with
``max_tokens: 1`` and log-probabilities: M(x, c) = p(Yes) / (p(Yes) + p(No)). Then:

- debias off: M ≥ tau → met, else unmet;
- debias on: the same question without the image gives M(None, c), asked once per question per run
  (:class:`~grounddefake.judges.baselines.BaselineMemo`); with d = M(x,c) − M(None,c), d < −low·M(None,c) → unmet,
  d > high·(1 − M(None,c)) → met, else undecided;
- ``ablate: own-box``: an undecided precondition's object box is asked for (the pack's convention), blanked in the
  image's mean colour and c scored again; M(x,c) − M(x∖box,c) > ablation_margin → met;
- no Yes/No probability at all (no log-probabilities, no Yes/No among them) → undecided, the reason noted; a
  backend that can never score Yes/No (a local tokenizer without a Yes or a No token,
  :meth:`~grounddefake.backend_interface.Backend.answer_gap`) is not asked the questions at all.

Short circuit: an OR-group stops at its first met precondition; a group whose preconditions are all unmet decides the
rule ``not_violated`` and the later groups are not asked. A rule with a met precondition in every group is
``violated``. Otherwise (something stays undecided) the cascade asks the pack's two turns (think step by step, then
JSON ``{"rating", "rationale", "regions"}``) and the rating decides; with ``cascade: false`` an undecided precondition
with a score is met iff M ≥ tau. A failed request makes its rule ``unknown``. The image is ``unsafe`` iff a rule is
violated, else ``unknown`` when a rule is unknown, else ``safe``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from grounddefake.backend_interface import BackendError, GenerationParams, Request
from grounddefake.caller import Caller
from grounddefake.images import PreparedImage
from grounddefake.json_recovery import iter_json
from grounddefake.judges.ablation import blank_box
from grounddefake.judges.baselines import BaselineMemo
from grounddefake.judges.relevance import scan
from grounddefake.judges.yes_no import YES_NO, yes_no_word, yes_probability
from grounddefake.parsing import parse_with_transform
from grounddefake.prompt_pack import ImagePart, Message, PromptPack, TextPart, render_template
from grounddefake.rules import JudgeParams, PreconditionScore, Rule, RuleDecision
from grounddefake.types import Completion, Region
from grounddefake.verdict import Verdict

MAX_NOTE = 500
Baseline = tuple[float | None, str]
"""M(None, c) and why it is missing."""


class _Failed(Exception):
    """A request of a rule failed: the rule is unknown."""


@dataclass(frozen=True)
class Judged:
    """The verdict of one image and every completion this image cost (text-only baselines not included)."""

    verdict: Verdict
    completions: tuple[Completion, ...]
    cached: bool


def new_baselines() -> BaselineMemo[Baseline]:
    """A run's memo of text-only baselines (one per run, shared by its samples)."""
    return BaselineMemo()


async def judge_image(
    caller: Caller,
    pack: PromptPack,
    prepared: PreparedImage,
    convention: str | None,
    params: GenerationParams,
    baselines: BaselineMemo[Baseline] | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> Judged:
    """Judge ``prepared`` against every rule of ``pack`` (rules are judged one after the other).

    ``baselines`` is the run's memo of M(None, c) (a fresh one when None). ``Verdict.requests`` counts the
    requests of this image, answered by the server or the cache, baselines excepted.
    """
    memo = new_baselines() if baselines is None else baselines  # an empty memo is falsy: test for None
    session = _Session(caller, pack, prepared, convention, params, memo, inputs)
    judge = session.judge
    try:
        similarities, failed = await _relevance(judge, prepared, pack.rules), ""
    except Exception as exc:  # a broken CLIP checkpoint is data too: every rule unknown, asked again on resume
        similarities, failed = {}, f"request failed: relevance scan: {type(exc).__name__}: {exc}"[:MAX_NOTE]
    decisions = []
    for rule in pack.rules:
        similarity = similarities.get(rule.id)
        if failed:
            decisions.append(RuleDecision(rule.id, "unknown", None, "relevance", note=failed))
        elif similarity is not None and similarity < judge.relevance_threshold:
            note = f"CLIP similarity {similarity:.4f} < relevance_threshold {judge.relevance_threshold}: not asked"
            decisions.append(RuleDecision(rule.id, "not_violated", None, "relevance", note=note, similarity=similarity))
        else:
            decisions.append(replace(await session.rule(rule), similarity=similarity))
    verdict = image_verdict(pack.rules, decisions, session.replies, prepared.transform.original_size)
    verdict = replace(verdict, requests=len(session.completions))
    return Judged(verdict, tuple(session.completions), bool(session.completions) and session.cached)


def image_verdict(
    rules: Sequence[Rule], decisions: Sequence[RuleDecision], replies: Sequence[str], size: tuple[int, int]
) -> Verdict:
    """The image's verdict from its rule decisions.

    ``unsafe`` iff a rule is violated, else ``unknown`` when a rule is unknown, else ``safe``. ``score`` (P(unsafe))
    is the highest rule score; None when the image is unknown or a violated rule has no score. The regions are
    those of violated ``ground: true`` rules, labelled with the rule's id.

    >>> rule = Rule("R1", "t", "A gun is visible.", (("a gun",),))
    >>> verdict = image_verdict([rule], [RuleDecision("R1", "violated", 0.9, "fast")], [], (64, 64))
    >>> verdict.label, verdict.score, verdict.rationale
    ('unsafe', 0.9, 'Violated: R1 (A gun is visible.)')
    """
    by_id = {r.id: r for r in rules}
    violated = [d for d in decisions if d.decision == "violated"]
    unknown = [d for d in decisions if d.decision == "unknown"]
    label = "unsafe" if violated else ("unknown" if unknown else "safe")
    known = [d.score for d in decisions if d.score is not None]
    score = max(known) if known and label != "unknown" and all(d.score is not None for d in violated) else None
    regions = tuple(replace(region, label=d.id) for d in violated if by_id[d.id].ground for region in d.regions)
    if violated:
        rationale = "Violated: " + "; ".join(f"{d.id} ({by_id[d.id].objective})" for d in violated)
    else:
        rationale = "No rule violated." if not unknown else "No rule violated among those decided."
    failed = [d.note for d in unknown if d.note.startswith("request failed")]
    notes = tuple(f"rule {d.id}: {d.note}" for d in unknown if not d.note.startswith("request failed"))
    return Verdict(
        label=label,  # type: ignore[arg-type]  # a rule pack's label space: safe / unsafe
        score=score,
        rationale=rationale,
        regions=regions,
        raw="\n\n".join(replies)[:20_000],
        error=failed[0] if failed and label == "unknown" else None,
        parse_errors=notes,
        image_size=size,
        rules=tuple(decisions),
    )


class _Session:
    """The requests of one image: counted, their completions kept."""

    def __init__(
        self,
        caller: Caller,
        pack: PromptPack,
        prepared: PreparedImage,
        convention: str | None,
        params: GenerationParams,
        baselines: BaselineMemo[Baseline],
        inputs: Mapping[str, Any] | None,
    ) -> None:
        self.caller, self.pack, self.prepared, self.convention = caller, pack, prepared, convention
        self.params, self.baselines, self.inputs = params, baselines, inputs
        self.judge: JudgeParams = pack.judge or JudgeParams()
        self.completions: list[Completion] = []
        self.replies: list[str] = []
        self.cached = True
        self.size = prepared.transform.input_size
        self.gap = caller.backend.answer_gap(YES_NO)

    async def send(
        self,
        messages: Sequence[Message],
        image: PreparedImage | None,
        max_tokens: int,
        answers: Mapping[str, str] | None = None,
    ) -> Completion:
        """One request of this image (``answers``: YES_NO for a Yes/No answer). Raises _Failed when it fails."""
        params = replace(self.params, max_tokens=max_tokens)
        images = (image,) if image is not None else ()
        request = Request(tuple(messages), images, self.convention, None, params, answers)
        completion, hit = await _complete(self.caller, request)
        self.completions.append(completion)
        self.cached = self.cached and hit
        return completion

    def question(self, content: str) -> str:
        where = f"{self.pack.source}: judge.fast_question"
        return render_template(self.judge.fast_question, {"content": content}, where)

    async def fast(self, content: str, image: PreparedImage) -> tuple[float | None, str]:
        if self.gap:
            return None, self.gap
        message = Message("user", (ImagePart(), TextPart(self.question(content))))
        return yes_probability(await self.send([message], image, 1, YES_NO))

    async def baseline(self, content: str) -> Baseline:
        question = self.question(content)

        async def ask() -> Baseline:
            request = Request(
                (Message("user", (TextPart(question),)),), (), None, None, _one_token(self.params), YES_NO
            )
            try:
                completion, _ = await _complete(self.caller, request)
            except _Failed as exc:
                return None, f"text-only baseline: {exc}"
            score, why = yes_probability(completion)
            return score, f"text-only baseline: {why}" if why else ""

        return await self.baselines.get(question, ask)

    async def precondition(self, rule: Rule, content: str) -> PreconditionScore:
        judge = self.judge
        score, why = await self.fast(content, self.prepared)
        if score is None:
            return PreconditionScore(content, None, None, "undecided", note=why)
        if not judge.debias:
            return PreconditionScore(content, score, None, "met" if score >= judge.tau else "unmet")
        baseline, why = await self.baseline(content)
        if baseline is None:
            return PreconditionScore(content, score, None, "undecided", note=why)
        d = score - baseline
        if d < -judge.low * baseline:
            return PreconditionScore(content, score, baseline, "unmet")
        if d > judge.high * (1 - baseline):
            return PreconditionScore(content, score, baseline, "met")
        undecided = PreconditionScore(content, score, baseline, "undecided")
        return await self.ablate(rule, undecided) if judge.ablate else undecided

    async def ablate(self, rule: Rule, item: PreconditionScore) -> PreconditionScore:
        """Blank the model's own box of the precondition's object and score again."""
        assert item.score is not None
        target = rule.object_of(item.text)
        found = await self.boxes(target)
        if not found:
            return replace(item, note=f"ablation: the model gave no box of {target!r}")
        blanked = blank_box(self.prepared, found[0].box, self.caller.backend.image_policy)
        ablated, why = await self.fast(item.text, blanked)
        if ablated is None:
            return replace(item, note=f"ablation: {why}")
        met = item.score - ablated > self.judge.ablation_margin
        return replace(item, decision="met" if met else "undecided", ablated=ablated, note=f"ablation of {target!r}")

    async def boxes(self, target: str) -> tuple[Region, ...]:
        """The model's boxes of ``target`` (the judge's box question), in original pixels. Raises _Failed."""
        context = self.pack.context(self.size, (), self.convention)
        box_context = {"object": target, "box_example": context["box_example"], "convention": context["convention"]}
        text = render_template(self.judge.box_question, box_context, f"{self.pack.source}: judge.box_question")
        reply = await self.send([Message("user", (ImagePart(), TextPart(text)))], self.prepared, self.params.max_tokens)
        return parse_with_transform(reply.text, self.convention, self.prepared.transform).regions

    async def rule(self, rule: Rule) -> RuleDecision:
        """The rule's decision, with the size of its chain (scoring re-decides it from the recorded scores); a
        violated ``ground: true`` rule decided without regions (by its scores, not the cascade) asks for them."""
        decision = await self._decide(rule)
        if decision.decision == "violated" and rule.ground and not decision.regions:
            decision = await self.ground(rule, decision)
        return replace(decision, groups=tuple(len(group) for group in rule.preconditions))

    async def ground(self, rule: Rule, decision: RuleDecision) -> RuleDecision:
        """Ask for the box of the object of the rule's first met precondition (one request, counted)."""
        met = next((p.text for p in decision.preconditions if p.decision == "met"), rule.preconditions[0][0])
        target = rule.object_of(met)
        try:
            found = await self.boxes(target)
        except _Failed as exc:
            return replace(decision, note=f"grounding {target!r}: {exc}"[:MAX_NOTE])
        if not found:
            return replace(decision, note=f"grounding: the model gave no box of {target!r}")
        return replace(decision, regions=found)

    async def _decide(self, rule: Rule) -> RuleDecision:
        judge = self.judge
        path = "debiased" if judge.debias else "fast"
        asked: list[list[PreconditionScore]] = []
        try:
            for index, group in enumerate(rule.preconditions):
                items: list[PreconditionScore] = []
                asked.append(items)
                for content in group:  # an OR-group is met by its first met precondition: the rest are not asked
                    items.append(replace(await self.precondition(rule, content), group=index))
                    if items[-1].decision == "met":
                        break
                if all(p.decision == "unmet" for p in items):
                    return self.decision(rule, "not_violated", asked, path)
        except _Failed as exc:
            flat = tuple(p for g in asked for p in g)
            return RuleDecision(rule.id, "unknown", None, path, flat, note=str(exc)[:MAX_NOTE])
        if any(p.ablated is not None for g in asked for p in g):
            path = "ablation"
        if all(any(p.decision == "met" for p in g) for g in asked):
            return self.decision(rule, "violated", asked, path)
        if judge.cascade:
            return await self.cascade(rule, asked)
        tau_met = [[p.decision == "met" or (p.score is not None and p.score >= judge.tau) for p in g] for g in asked]
        if all(any(g) for g in tau_met):
            return self.decision(rule, "violated", asked, path, note="undecided preconditions decided by M >= tau")
        if any(not any(g) and any(p.score is None for p in items) for g, items in zip(tau_met, asked, strict=True)):
            flat = tuple(p for g in asked for p in g)
            return RuleDecision(rule.id, "unknown", None, path, flat, note="undecided without a score, no cascade")
        return self.decision(rule, "not_violated", asked, path, note="undecided preconditions decided by M >= tau")

    def decision(
        self, rule: Rule, decision: str, asked: list[list[PreconditionScore]], path: str, note: str = ""
    ) -> RuleDecision:
        flat = tuple(p for g in asked for p in g)
        return RuleDecision(rule.id, decision, chain_score(asked), path, flat, note=note)  # type: ignore[arg-type]

    async def cascade(self, rule: Rule, asked: list[list[PreconditionScore]]) -> RuleDecision:
        """Think step by step, then rate: the rating decides the rule."""
        flat = tuple(p for g in asked for p in g)
        messages: list[Message] = []
        system = self.pack.render_system(self.size, self.convention, self.inputs, rule)
        if system:
            messages.append(Message("system", (TextPart(system),)))
        replies: list[str] = []
        last: Completion | None = None
        try:
            for turn in range(len(self.pack.turns)):
                messages.append(self.pack.render_turn(turn, self.size, replies, self.convention, self.inputs, rule))
                rating = turn == len(self.pack.turns) - 1  # a local model scores its rating's Yes / No tokens
                last = await self.send(messages, self.prepared, self.params.max_tokens, YES_NO if rating else None)
                replies.append(last.text)
                messages.append(Message("assistant", (TextPart(last.text),)))
        except _Failed as exc:
            return RuleDecision(rule.id, "unknown", None, "cascade", flat, note=str(exc)[:MAX_NOTE])
        assert last is not None
        self.replies.append(f"[{rule.id}] {last.text}")
        rating = cascade_rating(last.text)
        if rating is None:
            note = "the cascade's answer has no rating Yes or No"
            return RuleDecision(rule.id, "unknown", None, "cascade", flat, note=note)
        scored = (last.logprobs or last.score is not None) and not self.gap
        score, _ = yes_probability(last) if scored else (None, "")
        regions: tuple[Region, ...] = ()
        if rating and rule.ground:
            regions = parse_with_transform(last.text, self.convention, self.prepared.transform).regions
        decision = "violated" if rating else "not_violated"
        return RuleDecision(rule.id, decision, score, "cascade", flat, regions)  # type: ignore[arg-type]


async def _relevance(judge: JudgeParams, prepared: PreparedImage, rules: Sequence[Rule]) -> dict[str, float]:
    """Rule id → cos(image, objective) when the pack scans relevance, else nothing."""
    if judge.relevance is None or judge.relevance_model is None:
        return {}
    values = await scan(judge.relevance_model, prepared.pixels, [r.objective for r in rules])
    return {rule.id: value for rule, value in zip(rules, values, strict=True)}


def chain_score(asked: Sequence[Sequence[PreconditionScore]]) -> float | None:
    """min over the OR-groups asked of the max M(x, c) of each group; None when a group has no score.

    >>> s = lambda v: PreconditionScore("c", v)
    >>> chain_score([[s(0.2), s(0.9)], [s(0.7)]]), chain_score([[s(None)]])
    (0.7, None)
    """
    best = []
    for group in asked:
        scores = [p.score for p in group if p.score is not None]
        if not scores:
            return None
        best.append(max(scores))
    return min(best) if best else None


def cascade_rating(text: str) -> bool | None:
    """True for rating Yes, False for No, None when the answer has no such JSON.

    >>> cascade_rating('Sure: {"rating": "Yes", "rationale": "a rifle"}'), cascade_rating('{"rating": "maybe"}')
    (True, None)
    """
    for found in iter_json(text):
        if isinstance(found.value, Mapping) and isinstance(found.value.get("rating"), str):
            word = yes_no_word(found.value["rating"])
            if word is not None:
                return word == "yes"
    return None


def _one_token(params: GenerationParams) -> GenerationParams:
    return replace(params, max_tokens=1)


async def _complete(caller: Caller, request: Request) -> tuple[Completion, bool]:
    try:
        return await caller.complete(request)
    except Exception as exc:  # a failed request is data (principle 2), whatever raised it
        reason = str(exc) if isinstance(exc, BackendError) else f"{type(exc).__name__}: {exc}"
        raise _Failed(f"request failed: {reason or type(exc).__name__}") from None
