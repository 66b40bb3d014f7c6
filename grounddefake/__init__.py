"""grounddefake: ask any multimodal LLM whether an image is AI-generated, where and why, and measure it."""

from __future__ import annotations

from grounddefake.api import Detector, RunConfig, RunResult, build_report, detect, evaluate, merge, resume, score
from grounddefake.datasets import load_dataset
from grounddefake.grounding import regions_to_heatmap, regions_to_mask
from grounddefake.images import ImageError, load_image, prepare_image
from grounddefake.local import LocalOptions
from grounddefake.parsing import parse
from grounddefake.prompts import load_pack
from grounddefake.types import Completion, Region, Sample, Transform
from grounddefake.verdict import Verdict
from grounddefake.version import __version__

__all__ = [
    "Completion",
    "Detector",
    "ImageError",
    "LocalOptions",
    "Region",
    "RunConfig",
    "RunResult",
    "Sample",
    "Transform",
    "Verdict",
    "__version__",
    "build_report",
    "detect",
    "evaluate",
    "load_dataset",
    "load_image",
    "load_pack",
    "merge",
    "parse",
    "prepare_image",
    "regions_to_heatmap",
    "regions_to_mask",
    "resume",
    "score",
]
