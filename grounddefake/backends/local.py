"""Open multimodal models run locally with transformers: ``--model local:/path`` or ``--model hf:ORG/NAME``.

Requests that arrive together are batched (up to ``batch_size``, sorted by image size to reduce padding,
left-padded) and decoded greedily, so a batch answers exactly as single requests do. With a temperature above 0
each request is sampled on its own with its seed, so a sampled answer does not depend on its batch neighbours.
The verdict probability comes from the full distribution of the verdict token (:mod:`grounddefake.local.scoring`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grounddefake.backends.base import Backend, BackendError, Request
from grounddefake.local.adapters import Adapter, apply_adapter, find_adapter, load_peft
from grounddefake.local.checkpoint import load_network, open_checkpoint
from grounddefake.local.loading import (
    LocalModelError,
    LocalOptions,
    checkpoint_fingerprint,
)
from grounddefake.types import Completion, Usage

BATCH_WINDOW = 0.005
"""Seconds to wait for more requests before running a batch that is not full."""
PROMPT_DEFAULTS = {"paligemma": {"verdict": "paligemma-verdict", "grounded": "paligemma-detect"}}
"""Packs a family answers better than the generic ones: PaliGemma's own short prompts."""


def answers_key(answers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """A pack's short answers as a hashable key: requests with the same ones share a verdict vocabulary."""
    return tuple(sorted((answers or {}).items()))


def request_seed(request: Request) -> int:
    """The sampling seed of one request: its ``seed`` mixed with its images and text, so requests of one run draw
    independent streams and the same request always draws the same one."""
    text = "".join(m.text for m in request.messages)
    key = f"{request.params.seed}|{'|'.join(i.sha256 for i in request.images)}|{text}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % (2**63)


def load_torch() -> Any:
    """Import torch and transformers, or say how to install them."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise LocalModelError(
            f"local models need torch and transformers ({exc.name} is missing): pip install 'grounddefake[local]' "
            "(on CPU-only machines install torch first from the CPU wheel)"
        ) from None
    transformers.utils.logging.disable_progress_bar()  # our own progress bar is the one that counts
    return torch


class LocalBackend(Backend):
    """A transformers model in this process, behind the same interface as the API backends; with ``adapter`` (a peft
    LoRA folder), that adapter merged into its weights (:func:`grounddefake.local.adapters.apply_adapter`)."""

    cacheable = True  # local generation is slow: a re-run reuses answers like a paid API

    def __init__(
        self,
        ref: str,
        options: LocalOptions | None = None,
        convention: str | None = None,
        adapter: str | Path | None = None,
    ) -> None:
        torch = load_torch()
        self.adapter: Adapter | None = None
        if adapter is not None:  # a wrong folder or a missing peft fails before the base model loads
            self.adapter = find_adapter(adapter)
            load_peft()
        from grounddefake.local.inputs import native_convention

        self.options = options or LocalOptions()
        self.model = ref
        checkpoint = open_checkpoint(ref, self.options.device, self.options.dtype)
        self.path, self.family, self.model_type = checkpoint.path, checkpoint.family, checkpoint.model_type
        self.device, self.dtype, self.inputs = checkpoint.device, checkpoint.dtype, checkpoint.inputs
        self.image_policy = self.inputs.image_policy
        self.convention = convention or native_convention(self.family, self.inputs)
        network = load_network(checkpoint, torch)
        if self.adapter is not None:
            network = apply_adapter(network, self.adapter)
        self.network = network.to(self.device).eval()
        self.torch = torch
        self.batch_size = self.options.batch_size
        self.default_concurrency = 2 * self.batch_size  # the next batch queues while one runs
        self.prompt_defaults = PROMPT_DEFAULTS.get(self.model_type, {})
        self._fingerprint = checkpoint_fingerprint(self.path)
        self._vocabularies: dict[Any, Any] = {}
        self._token_texts: dict[int, str] = {}
        think = self.inputs.tokenizer.convert_tokens_to_ids("</think>")
        self._think_end = think if isinstance(think, int) and think != self.inputs.tokenizer.unk_token_id else None
        self._pending: list[tuple[Request, asyncio.Future[Completion]]] = []
        self._worker: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, Any]:
        described = {
            **super().describe(),
            "backend": "local",
            "model_type": self.model_type,
            "convention": self.convention,
            "device": self.device,
            "dtype": self.dtype,
            "batch_size": self.batch_size,
        }
        if self.adapter is not None:
            described["adapter"] = self.adapter.to_json()
        return described

    def cache_identity(self) -> dict[str, Any]:
        """The checkpoint's content (not its path or copy time), the adapter's content, family, convention, device,
        dtype, image policy."""
        identity = {**self.describe(), "weights": self._fingerprint}
        identity.pop("model")  # the same checkpoint elsewhere (another machine, a copy) answers the same
        if self.adapter is not None:
            identity["adapter"] = self.adapter.sha256  # so does the same adapter
        if self.dtype == "float32":
            identity.pop("batch_size")  # float32 batches answer as single requests do (tested); half precision may not
        return identity

    async def aclose(self) -> None:
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)

    # -- batching -------------------------------------------------------------------------------------------

    async def complete(self, request: Request) -> Completion:
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            if len(self._pending) < self.batch_size:
                await asyncio.sleep(BATCH_WINDOW)
            batch = self._pending[: self.batch_size]
            del self._pending[: len(batch)]
            batch = [item for item in batch if not item[1].done()]  # cancelled while waiting
            if not batch:
                continue
            batch.sort(key=lambda item: sum(i.pixels.size for i in item[0].images))  # less padding
            try:
                results = await asyncio.to_thread(self.answer, [request for request, _ in batch])
            except BaseException:  # interrupted: nobody waits forever
                for _, future in batch:
                    if not future.done():
                        future.set_exception(BackendError("the local model was interrupted"))
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def answer(self, requests: Sequence[Request]) -> list[Completion | BackendError]:
        """Completions of ``requests``, or the error of each request that fails. When a batch fails, its requests
        are tried one by one, so one bad request never fails its neighbours."""
        try:
            return list(self.generate(requests))
        except Exception as exc:
            if len(requests) > 1:
                return [self.answer([request])[0] for request in requests]
            return [exc if isinstance(exc, BackendError) else BackendError(f"{type(exc).__name__}: {exc}")]

    # -- generation -----------------------------------------------------------------------------------------

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        """Answers to ``requests``: left-padded greedy batches (one per verdict vocabulary and token limit), or one
        seeded sample per request."""
        groups: dict[Any, list[int]] = {}
        for i, request in enumerate(requests):
            alone = request.params.temperature > 0
            key = (i,) if alone else (answers_key(request.answers), request.params.max_tokens)
            groups.setdefault(key, []).append(i)
        results: list[Completion | None] = [None] * len(requests)
        for members in groups.values():
            for i, completion in zip(members, self._generate([requests[i] for i in members]), strict=True):
                results[i] = completion
        return [r for r in results if r is not None]

    def encode(self, requests: Sequence[Request]) -> dict[str, Any]:
        """The model inputs of ``requests`` on the model's device and dtype."""
        batch = self.inputs.encode(requests)
        out = {}
        for key, value in batch.items():
            if hasattr(value, "to"):
                value = value.to(self.device)
                if value.is_floating_point():
                    value = value.to(getattr(self.torch, self.dtype))
            out[key] = value
        return out

    def _after_thinking(self, tokens: Sequence[int]) -> int:
        """Where the answer starts: after the last ``</think>`` token of a thinking model, else 0."""
        end = self._think_end
        return max((i + 1 for i, token in enumerate(tokens) if token == end), default=0) if end is not None else 0

    def vocabulary(self, answers: Any) -> Any:
        from grounddefake.local.scoring import verdict_vocabulary

        key = answers_key(answers)
        if key not in self._vocabularies:
            self._vocabularies[key] = verdict_vocabulary(self.inputs.tokenizer, answers)
        return self._vocabularies[key]

    def answer_gap(self, answers: Mapping[str, str] | None) -> str | None:
        """Why this tokenizer cannot score ``answers`` (a Yes/No question without a Yes or a No token), else None."""
        from grounddefake.local.scoring import is_yes_no, yes_no_gap

        return yes_no_gap(self.vocabulary(answers)) if is_yes_no(answers) else None

    def _generate(self, requests: Sequence[Request]) -> list[Completion]:
        from transformers import GenerationConfig, LogitsProcessorList

        from grounddefake.local.scoring import StepRecorder, is_yes_no

        torch = self.torch
        start = time.perf_counter()
        tokenizer = self.inputs.tokenizer
        batch = self.encode(requests)
        params = requests[0].params
        sample = params.temperature > 0
        stops = sorted(self.inputs.stop_ids)
        config = GenerationConfig(
            max_new_tokens=params.max_tokens,
            do_sample=sample,
            # Explicit neutral values: a None would be filled in from the checkpoint's generation_config (Qwen2.5-VL
            # ships top_k 1, top_p 0.001, repetition penalty 1.05). Greedy decoding neither uses nor warns about
            # these top-k / top-p values; sampling gets no top-k, top-p or min-p cut.
            temperature=params.temperature if sample else 1.0,
            top_p=1.0,
            top_k=0 if sample else 50,
            min_p=0.0 if sample else None,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            num_beams=1,
            min_length=0,
            eos_token_id=stops or None,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
        )
        recorder = StepRecorder(self.vocabulary(requests[0].answers), self.options.top_logprobs)
        one_step = params.max_tokens == 1 and is_yes_no(requests[0].answers)  # CLUE's M(x, c): the one position
        if sample:  # one request at a time: its own stream, from its seed and its content
            torch.manual_seed(request_seed(requests[0]))
        with torch.inference_mode():
            sequences = self.network.generate(
                **batch, generation_config=config, logits_processor=LogitsProcessorList([recorder])
            )
        prompt_length = batch["input_ids"].shape[1]
        recorder.finish(sequences[:, -1])
        elapsed = time.perf_counter() - start

        def decode(token: int) -> str:
            text = self._token_texts.get(token)
            if text is None:
                text = self._token_texts[token] = tokenizer.decode([token])
            return text

        completions = []
        for row, request in enumerate(requests):
            tokens: list[int] = []
            for token in sequences[row, prompt_length:].tolist():
                if token in self.inputs.stop_ids:
                    break
                tokens.append(token)
            completions.append(
                Completion(
                    text=tokenizer.decode(tokens, skip_special_tokens=False),
                    logprobs=recorder.token_logprobs(row, tokens, decode),
                    usage=Usage(int(batch["attention_mask"][row].sum()), len(tokens)),
                    latency_s=elapsed / len(requests),
                    finish_reason="length" if len(tokens) >= request.params.max_tokens else "stop",
                    score=recorder.verdict_score(row, tokens, self._after_thinking(tokens), first=one_step),
                )
            )
        return completions
