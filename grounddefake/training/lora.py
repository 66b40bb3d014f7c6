"""``grounddefake train``: LoRA (QLoRA where CUDA is present) fine-tuning of a local model on a dataset and a pack.

The model learns to answer the pack as ``eval`` asks it: each sample's conversation is rendered for the image its
processor will see (:mod:`grounddefake.training.examples`), encoded by the family's own input builder and scored on
the answer tokens only (:mod:`grounddefake.training.batches`). LoRA adapters go on the language model's attention
and MLP projections; the vision tower and the projector stay frozen.

The output folder holds the adapter as peft writes it (``adapter_config.json``, ``adapter_model.safetensors``),
loadable with ``--adapter``, and ``training.json``: the configuration, the data's hash, the base checkpoint's
fingerprint, the loss history, the validation loss before and after, speed and peak memory. ``checkpoints/step-N``
holds the adapter, optimizer, scheduler and random state every ``save_every`` steps; ``resume`` continues from the
latest one, with the same configuration and data, exactly where it stopped.

QLoRA (4-bit NF4 base weights through bitsandbytes, ``pip install 'grounddefake[qlora]'``) is used when
``quantize`` is ``4bit``, or ``auto`` on a CUDA machine with bitsandbytes installed; that path has not been run
on the CPU machines this project is tested on.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import resource
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grounddefake.images import fit_size, prepare_image
from grounddefake.local.checkpoint import load_network, open_checkpoint
from grounddefake.local.loading import LocalModelError
from grounddefake.prompt_pack import NATIVE, PromptPack
from grounddefake.training.batches import TrainingItem, answer_loss, collate, items_of
from grounddefake.training.checkpoints import CHECKPOINTS, history_of, latest_checkpoint, save_checkpoint, write_state
from grounddefake.training.config import StepLog, TrainConfig, TrainingError, TrainResult
from grounddefake.training.examples import Conversation, conversations_of
from grounddefake.training.targets import check_trainable
from grounddefake.types import Sample

Progress = Callable[[int, int, float, float], None]
"""Called after each optimizer step with (step, total steps, loss, samples per second)."""


def load_trainable(config: TrainConfig) -> tuple[Any, Any, Any, str, bool, str | None]:
    """The base model (4-bit when QLoRA applies), its family's input builder, torch, its folder, whether it is
    quantised, and the family's own box convention (as ``eval`` uses it for a ``native`` pack).

    Raises:
        LocalModelError: the checkpoint cannot be loaded, its family is not supported, or peft is missing.
    """
    from grounddefake.backends.local import load_torch
    from grounddefake.local.inputs import native_convention

    torch = load_torch()
    try:
        import peft  # noqa: F401
    except ImportError:
        raise LocalModelError("training needs peft: pip install 'grounddefake[train]'") from None
    checkpoint = open_checkpoint(config.model, config.device, config.dtype)
    quantized = _quantize(config.quantize, checkpoint.device)
    kwargs: dict[str, Any] = {}
    if quantized:
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if checkpoint.dtype == "bfloat16" else torch.float16
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
        )
        kwargs["device_map"] = {"": checkpoint.device}
    network = load_network(checkpoint, torch, **kwargs)
    if quantized:
        from peft import prepare_model_for_kbit_training

        network = prepare_model_for_kbit_training(network)
    else:
        network = network.to(checkpoint.device)
    inputs = checkpoint.inputs
    return network, inputs, torch, checkpoint.path, quantized, native_convention(checkpoint.family, inputs)


def _quantize(choice: str, device: str) -> bool:
    if choice == "none":
        return False
    try:
        import bitsandbytes  # noqa: F401

        available = True
    except ImportError:
        available = False
    if choice == "4bit":
        if not device.startswith("cuda") or not available:
            raise TrainingError(
                "--quantize 4bit needs a CUDA device and bitsandbytes: pip install 'grounddefake[qlora]'"
            )
        return True
    return device.startswith("cuda") and available


def data_hash(conversations: Sequence[Conversation]) -> str:
    """sha256 of what the model learns from: each conversation's id, split, image bytes and every message."""
    digest = hashlib.sha256()
    for conversation in sorted(conversations, key=lambda c: c.sample_id):
        image = hashlib.sha256(conversation.image.read_bytes()).hexdigest()
        texts = [[m.role, m.text] for m in conversation.messages]
        digest.update(json.dumps([conversation.sample_id, conversation.split, image, texts]).encode())
    return digest.hexdigest()


def train(
    samples: Sequence[Sample],
    pack: PromptPack,
    config: TrainConfig,
    out: Path,
    resume: bool = False,
    save_every: int = 0,
    on_step: Progress | None = None,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``samples`` answered as ``pack`` asks, writing the adapter to ``out``.

    ``save_every``: a checkpoint every N optimizer steps (0: at the end of each epoch). ``resume``: continue from
    the latest checkpoint under ``out`` (its configuration and data hash must be this run's).

    Raises:
        TrainingError: bad options, no usable sample, or a checkpoint that is not this run's.
        LocalModelError: the model cannot be loaded.
    """
    try:
        check_trainable(pack)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    start = time.perf_counter()
    network, inputs, torch, path, quantized, native = load_trainable(config)
    from grounddefake.conventions import get_convention

    chosen = native if pack.convention == NATIVE else pack.convention
    convention = get_convention(chosen) if chosen else None
    policy = inputs.image_policy
    conversations, skipped = conversations_of(
        samples, pack, convention, config.val_fraction, lambda size: fit_size(size, policy)
    )
    train_set = [c for c in conversations if c.split == "train"]
    val_set = [c for c in conversations if c.split == "val"]
    if not train_set:
        reasons = "; ".join(dict.fromkeys(s.reason for s in skipped[:10])) or "no sample in the train split"
        raise TrainingError(f"nothing to train on: {reasons}")
    fingerprint = {"config": config.to_json(), "data": data_hash(conversations)}
    train_items = _items(train_set, policy)
    val_items = _items(val_set, policy)

    from peft import LoraConfig, PeftModel, get_peft_model

    random.seed(config.seed)
    torch.manual_seed(config.seed)
    checkpoint = latest_checkpoint(out) if resume else None
    if resume and checkpoint is None:
        raise TrainingError(f"--resume: no checkpoint under {out / CHECKPOINTS}")
    with warnings.catch_warnings():  # transformers' deprecation notices about methods peft calls
        warnings.simplefilter("ignore", FutureWarning)
        if checkpoint is not None:
            saved = json.loads((checkpoint / "state.json").read_text())
            if saved["fingerprint"] != fingerprint:
                raise TrainingError(f"--resume: {checkpoint} was trained with another configuration or other data")
            model = PeftModel.from_pretrained(network, checkpoint, is_trainable=True)
        else:
            lora = LoraConfig(
                r=config.rank,
                lora_alpha=config.alpha,
                lora_dropout=config.dropout,
                target_modules=config.targets,
                bias="none",
            )
            try:
                model = get_peft_model(network, lora)
            except ValueError as exc:
                raise TrainingError(f"LoRA found no module to adapt ({config.targets}): {exc}") from None
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)
    per_epoch = math.ceil(math.ceil(len(train_items) / config.batch_size) / config.grad_accum)
    total = per_epoch * config.epochs
    warm = max(1, round(config.warmup * total)) if config.warmup > 0 else 0
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, warm, total))
    step = 0
    if checkpoint is not None:
        state = torch.load(checkpoint / "optimizer.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step = int(saved["step"])
    resumed_from = step if checkpoint is not None else None
    probe = val_items or train_items[: max(config.batch_size, min(len(train_items), 32))]
    probe_split = "val" if val_items else "train"
    before = saved["loss_before"] if checkpoint is not None else _mean_loss(model, inputs, probe, config, torch)
    history: list[StepLog] = list(history_of(saved)) if checkpoint is not None else []
    out.mkdir(parents=True, exist_ok=True)
    seen, timed = 0, 0.0
    model.train()
    for epoch in range(step // per_epoch, config.epochs):
        order = _order(len(train_items), config.seed, epoch)
        batches = [order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        groups = [batches[i : i + config.grad_accum] for i in range(0, len(batches), config.grad_accum)]
        for group in groups[step - epoch * per_epoch :]:
            tick = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            tokens = 0
            encoded = []
            for indices in group:
                batch, count = collate(inputs, [train_items[i] for i in indices])
                encoded.append((batch, count))
                tokens += count
            loss_sum = 0.0
            for batch, count in encoded:
                loss = _loss(model, batch, torch) * (count / tokens)  # each answer token weighs the same
                loss.backward()
                loss_sum += float(loss.detach())
            optimizer.step()
            scheduler.step()
            step += 1
            rows = sum(len(i) for i in group)
            seconds = time.perf_counter() - tick
            seen, timed = seen + rows, timed + seconds
            log = StepLog(step, epoch, loss_sum, scheduler.get_last_lr()[0], rows / max(seconds, 1e-9))
            history.append(log)
            epoch_end = step % per_epoch == 0
            if (save_every and step % save_every == 0) or (not save_every and epoch_end):
                save_checkpoint(model, optimizer, scheduler, torch, out, step, fingerprint, before, history)
            if on_step is not None:
                on_step(step, total, log.loss, seen / max(timed, 1e-9))
    model.eval()
    after = _mean_loss(model, inputs, probe, config, torch)
    model.save_pretrained(out)
    result = TrainResult(
        out,
        step,
        tuple(history),
        before,
        after,
        probe_split,
        seen / timed if timed else 0.0,
        time.perf_counter() - start,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        quantized,
        len(train_set),
        len(val_set),
        tuple(skipped),
        resumed_from,
    )
    write_state(out, config, pack, fingerprint, path, result, len(train_items))
    return result


def _items(conversations: Sequence[Conversation], policy: Any) -> list[TrainingItem]:
    items: list[TrainingItem] = []
    for conversation in conversations:
        items += items_of(conversation, prepare_image(conversation.image, policy))
    return items


def _order(n: int, seed: int, epoch: int) -> list[int]:
    """The data order of one epoch: a permutation seeded by (seed, epoch), so a resumed run sees the same one."""
    order = list(range(n))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return order


def _lr_factor(step: int, warm: int, total: int) -> float:
    if warm and step < warm:
        return (step + 1) / warm
    return max(0.0, (total - step) / max(1, total - warm))


def _loss(model: Any, batch: dict[str, Any], torch: Any) -> Any:
    device = next(model.parameters()).device
    batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    labels = batch.pop("labels")
    logits = model(**batch).logits
    return answer_loss(logits, labels)


def _mean_loss(model: Any, inputs: Any, items: Sequence[TrainingItem], config: TrainConfig, torch: Any) -> float:
    """Mean answer-token loss over ``items`` (no dropout, no gradient)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(items), config.batch_size):
            batch, tokens = collate(inputs, items[i : i + config.batch_size])
            total += float(_loss(model, batch, torch)) * tokens
            count += tokens
    if was_training:
        model.train()
    return total / max(count, 1)
