"""``RunConfig``: every option of a run in one value, the same from the CLI, the Python API, a suite and a resume.

``config.json`` stores it under ``options`` (what was asked), beside what the run resolved it to (the model's id, the
pack's hash, the convention, the dataset's fingerprint). :meth:`RunConfig.from_config` reads that back, from the
current schema or the first one (flat keys), so ``resume`` is ``evaluate(RunConfig.from_config(config))``.
Credentials in a ``base_urls`` entry or in ``judge_base_url`` are never written (``http://***@host/v1``,
``?api-key=***``): such a run is continued by giving the full URL again to ``eval`` with the same ``--out``;
``resume`` says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from grounddefake.backends.base import GenerationParams
from grounddefake.local.adapters import check_adapter_model
from grounddefake.local.loading import LocalOptions
from grounddefake.redaction import redact_url

GT_RASTERS = ("centre", "legion")
"""How ground-truth regions become a mask: ``centre`` (a pixel counts when its centre is inside, the rule for
predictions and truth alike) or ``legion`` (LEGION's evaluation code, :mod:`grounddefake.metrics.legion`)."""

FORENSIC = "forensic"
OVERLAY_MODES = ("none", "mistakes", "all")
OverlayMode = Literal["none", "mistakes", "all"]
DEFAULT_IOU_THRESHOLD = 0.5
DEFAULT_OVERLAY_SIZE = 1024


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` → (K, N) with 1 ≤ K ≤ N.

    >>> parse_shard("2/4"), parse_shard(None)
    ((2, 4), None)

    Raises:
        ValueError: any other text.
    """
    if text is None:
        return None
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes K/N such as 2/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 <= K <= N, got {text!r}")
    return (k, n)


def in_shard(sample_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``sample_id`` belongs to shard K of N (a hash of the id: stable across machines and orderings)."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(sample_id.encode("utf-8")).hexdigest(), 16) % n == k - 1


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run.

    Attributes:
        data: ``demo``, a manifest ``.jsonl``, a folder with ``manifest.jsonl`` or any supported dataset layout.
        model: ``forensic``, a preset or model id (``gpt-4o``), any model name with ``convention``, ``local:/path``,
            ``hf:ORG/NAME``, or None with ``base_urls`` (the server's only model).
        prompt: a pack name or YAML path; default ``grounded`` with ``with_boxes``, else ``verdict``.
        with_boxes: ask for regions and score localization.
        out: the run directory (default ``runs/<time>-<model>-<data>``).
        limit: only the first ``limit`` samples.
        shard: (K, N): only the samples of shard K of N (by a hash of the id).
        data_format: the dataset's format (default: detected).
        suite: the public-benchmark suite the run follows (its options fill the ones not given).
        concurrency: requests in flight (default: the backend's own).
        params: decoding parameters.
        base_urls: OpenAI-compatible endpoints sharing the load (written with their credentials redacted).
        api_key_env: the environment variable holding the key (its name, never its value).
        convention: the model's box convention, for a model that is not a preset.
        image_format: how resized images are encoded (default lossless PNG).
        timeout: seconds per request.
        max_retries: retries of a retryable failure.
        rpm, tpm: request and token limits per minute.
        cache: use the response cache; ``cache_dir`` names its folder.
        local: device, dtype and batch size of a local model.
        adapter: a peft LoRA adapter folder loaded on the local model (its content hash is in the run key; the
            path is what ``resume`` opens again).
        group_by: ``meta.FIELD``: the same metrics per value of that field.
        bootstrap: N > 0 adds seeded 95% intervals to the headline numbers (None: the suite's, else 0).
        iou_threshold: a box-matching threshold reported besides 0.5 (None: the suite's, else 0.5).
        heatmap: the heatmap mode (``boxes``, ``consensus:N``, ``probe:K``; :mod:`grounddefake.heatmaps.modes`); None:
            ``boxes``.
        label_map: what a dataset's numeric labels mean (``0=fake,1=real``); never guessed.
        faithfulness: ask every answer with regions again with them blanked, and with a control of the same area
            blanked elsewhere (``metrics.json → faithfulness``).
        gt_raster: how ground-truth regions become a mask: ``centre`` (a pixel counts when its centre is inside) or
            ``legion`` (LEGION's evaluation code: truncated vertices, outline and far edge included); None: the
            suite's, else ``centre``.
        overlays: which overlays the run draws: ``none``, ``mistakes`` (false positives, false negatives, unknowns and
            the lowest-IoU fakes, at most 200) or ``all``.
        overlay_size: the long side of a drawn overlay, at most (pixels).
        side_by_side: overlays as ground truth | prediction.
        positive: the positive class the metrics use, overriding the pack's (one of its labels).
        judge_model, judge_base_url, judge_api_key_env: the LLM judge of explanations (MEQ) that scoring asks, on
            its own OpenAI-compatible endpoint (the URL written with its credentials redacted; the key's variable
            named, never its value); None: no judge.
        judge_prompt: the judge's pack (a ``task: judge`` pack; default ``meq-judge``).
    """

    data: str = "demo"
    model: str | None = FORENSIC
    prompt: str | None = None
    with_boxes: bool = False
    out: str | None = None
    limit: int | None = None
    shard: tuple[int, int] | None = None
    data_format: str | None = None
    suite: str | None = None
    concurrency: int | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    base_urls: tuple[str, ...] = ()
    api_key_env: str | None = None
    convention: str | None = None
    image_format: Literal["png", "jpeg"] | None = None
    timeout: float = 120.0
    max_retries: int = 6
    rpm: float | None = None
    tpm: float | None = None
    cache: bool = True
    cache_dir: str | None = None
    local: LocalOptions | None = None
    adapter: str | None = None
    group_by: str | None = None
    bootstrap: int | None = None
    iou_threshold: float | None = None
    gt_raster: str | None = None
    heatmap: str | None = None
    faithfulness: bool = False
    label_map: str | None = None
    overlays: OverlayMode = "mistakes"
    overlay_size: int = DEFAULT_OVERLAY_SIZE
    side_by_side: bool = False
    positive: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_api_key_env: str | None = None
    judge_prompt: str = "meq-judge"

    def __post_init__(self) -> None:
        checks = (
            (self.image_format in (None, "png", "jpeg"), f"image_format is png or jpeg, got {self.image_format!r}"),
            (self.overlays in OVERLAY_MODES, f"overlays is one of {', '.join(OVERLAY_MODES)}, got {self.overlays!r}"),
            (self.limit is None or self.limit >= 1, f"limit is at least 1, got {self.limit}"),
            (self.concurrency is None or self.concurrency >= 1, f"concurrency is at least 1, got {self.concurrency}"),
            (self.bootstrap is None or self.bootstrap >= 0, f"bootstrap is at least 0, got {self.bootstrap}"),
            (self.overlay_size >= 16, f"overlay_size is at least 16 pixels, got {self.overlay_size}"),
            (self.timeout > 0 and self.max_retries >= 0, "timeout must be positive and max_retries at least 0"),
            (
                self.iou_threshold is None or 0.0 <= self.iou_threshold <= 1.0,
                f"iou_threshold is in [0, 1], got {self.iou_threshold}",
            ),
            (
                self.gt_raster in (None, *GT_RASTERS),
                f"gt_raster is one of {', '.join(GT_RASTERS)}, got {self.gt_raster!r}",
            ),
            (self.shard is None or 1 <= self.shard[0] <= self.shard[1], f"shard K/N needs 1 <= K <= N: {self.shard}"),
        )
        for ok, problem in checks:
            if not ok:
                raise ValueError(problem)
        check_adapter_model(self.model, self.adapter, self.base_urls)
        object.__setattr__(self, "base_urls", tuple(self.base_urls))

    @property
    def iou_thresholds(self) -> tuple[float, ...]:
        """0.5 and the extra threshold asked for, sorted."""
        extra = DEFAULT_IOU_THRESHOLD if self.iou_threshold is None else self.iou_threshold
        return tuple(sorted({DEFAULT_IOU_THRESHOLD, extra}))

    @property
    def label_mapping(self) -> dict[str, str] | None:
        """:attr:`label_map` read (``{"0": "fake", "1": "real"}``), None without one.

        Raises:
            LabelMapError: it cannot be read.
        """
        from grounddefake.datasets.label_map import parse_label_map

        return parse_label_map(self.label_map)

    @property
    def truth_raster(self) -> str:
        """The ground-truth rasterisation the run scores with (``centre`` unless set)."""
        return self.gt_raster or "centre"

    @property
    def bootstrap_draws(self) -> int:
        return self.bootstrap or 0

    def replace(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Every option as JSON (the ``options`` of ``config.json``), credentials in ``base_urls`` redacted.

        >>> RunConfig.from_json(RunConfig(data="d.jsonl", limit=3).to_json()) == RunConfig(data="d.jsonl", limit=3)
        True
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "params":
                value = value.to_json()
            elif f.name == "local":
                value = None if value is None else value.to_json()
            elif f.name == "shard":
                value = None if value is None else f"{value[0]}/{value[1]}"
            elif f.name == "base_urls":
                value = [redact_url(url) for url in value]
            elif f.name == "judge_base_url" and value is not None:
                value = redact_url(value)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        """Options written by :meth:`to_json`; unknown keys (a newer version's) are ignored."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("params"), Mapping):
            values["params"] = GenerationParams(**values["params"])
        if isinstance(values.get("local"), Mapping):
            values["local"] = LocalOptions(**values["local"])
        if "shard" in values:
            values["shard"] = parse_shard(values["shard"])
        if "base_urls" in values:
            values["base_urls"] = tuple(values["base_urls"] or ())
        return cls(**values)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunConfig:
        """The options of a run's ``config.json``: the current ``options``, or the flat keys of schema 1."""
        if isinstance(config.get("options"), Mapping):
            return cls.from_json(config["options"])
        backend = config.get("backend") or {}
        base_urls = backend.get("base_urls") if backend.get("backend") == "openai" else []
        scoring = config.get("scoring") or {}
        return cls.from_json(
            {
                "data": config["data"],
                "model": config.get("model_requested") or config.get("model"),
                "prompt": config.get("prompt_source") or str(config.get("prompt", "")).split("@")[0] or None,
                "with_boxes": bool(config.get("with_boxes")),
                "limit": config.get("limit"),
                "shard": config.get("shard"),
                "data_format": config.get("data_format"),
                "concurrency": config.get("concurrency"),
                "params": config.get("params") or {},
                "base_urls": [u for u in base_urls or [] if u != "https://api.openai.com/v1"],
                "api_key_env": config.get("api_key_env"),
                "convention": config.get("convention_requested"),
                "image_format": config.get("image_format"),
                "timeout": config.get("timeout", 120.0),
                "max_retries": config.get("max_retries", 6),
                "rpm": config.get("rpm"),
                "tpm": config.get("tpm"),
                "cache": config.get("cache", True),
                "cache_dir": config.get("cache_dir"),
                "local": config.get("local"),
                "group_by": scoring.get("group_by"),
                "bootstrap": scoring.get("bootstrap"),
                "iou_threshold": scoring.get("iou_threshold"),
                "side_by_side": bool(scoring.get("side_by_side")),
            }
        )
