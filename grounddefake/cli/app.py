"""The command-line application, its consoles, and what every command shares: user errors and common options."""

from __future__ import annotations

import sqlite3
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from grounddefake.backends import UnknownModelError
from grounddefake.datasets import DatasetError
from grounddefake.heatmaps.modes import HeatmapModeError
from grounddefake.images import ImageError
from grounddefake.local import LocalModelError
from grounddefake.prompts import PromptPackError
from grounddefake.rundir import RunDirectoryError
from grounddefake.suites import SuiteError
from grounddefake.untrusted import visible

app = typer.Typer(
    help="Ask multimodal LLMs whether an image is AI-generated, where and why, and measure how right they are.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
USER_ERRORS = (
    DatasetError,
    PromptPackError,
    UnknownModelError,
    ImageError,
    RunDirectoryError,
    FileNotFoundError,
    LocalModelError,
    SuiteError,
    HeatmapModeError,
    OSError,  # the file system's refusals (permissions, a full disk, a file where a folder belongs), in one line
    sqlite3.Error,  # the response cache's database
)


def fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(visible(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def device_option() -> Any:
    return typer.Option("auto", "--device", help="Local models: auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps.")


def dtype_option() -> Any:
    return typer.Option(
        "auto", "--dtype", help="Local models: auto (bf16 where supported), float32, bfloat16, float16."
    )


def batch_option() -> Any:
    return typer.Option(
        None, "--batch-size", min=1, help="Local models: requests generated together, left-padded (default 8)."
    )


def max_tokens_option() -> Any:
    return typer.Option(1024, "--max-new-tokens", min=1, help="Tokens generated per answer, at most.")


def local_options(model: str | None, device: str, dtype: str, batch_size: int | None = None) -> Any:
    """LocalOptions for a local model (``local:``/``hf:``), else None.

    Raises:
        LocalModelError: local-model options given for another model (they would be silently ignored).
    """
    from grounddefake.local import LocalModelError, LocalOptions, is_local_ref

    if is_local_ref(model):
        return LocalOptions(device=device, dtype=dtype, batch_size=batch_size or LocalOptions.batch_size)
    given = [
        f"--{name} {value}"
        for name, value, default in (
            ("device", device, "auto"),
            ("dtype", dtype, "auto"),
            ("batch-size", batch_size, None),
        )
        if value is not None and value != default
    ]
    if given:
        raise LocalModelError(f"{', '.join(given)}: only for local models (--model local:/path or hf:ORG/NAME)")
    return None


def judge_model_option() -> Any:
    return typer.Option(
        None, "--judge-model", help="An LLM judge of explanations (MEQ), any OpenAI-compatible model (scoring)."
    )


def judge_base_url_option() -> Any:
    return typer.Option(None, "--judge-base-url", help="The judge's endpoint.")


def judge_api_key_env_option() -> Any:
    return typer.Option(None, "--judge-api-key-env", help="Environment variable holding the judge's API key.")


def judge_prompt_option() -> Any:
    return typer.Option("meq-judge", "--judge-prompt", help="The judge's pack (task: judge).")


def overlays_option() -> Any:
    return typer.Option(
        "mistakes",
        "--overlays",
        help="Overlays to draw: none, mistakes (false positives, false negatives, unknowns and the lowest-IoU "
        "fakes, at most 200) or all.",
    )


def overlay_size_option() -> Any:
    return typer.Option(1024, "--overlay-size", min=16, help="Long side of a drawn overlay, at most (pixels).")


def gt_raster_option() -> Any:
    return typer.Option(
        None,
        "--gt-raster",
        help="How ground-truth regions become a mask: centre (a pixel counts when its centre is inside; default) or "
        "legion (LEGION's evaluation code: truncated vertices, outline and far edge included).",
    )


def heatmap_option() -> Any:
    return typer.Option(
        None,
        "--heatmap",
        help="Dense heatmap mode: boxes (default; region confidences), consensus:N (N sampled answers; needs "
        "--temperature > 0) or probe:K (a Yes/No question per tile of a KxK grid; K*K more requests).",
    )


def label_map_option() -> Any:
    return typer.Option(
        None,
        "--label-map",
        help="What numeric labels mean, e.g. 0=fake,1=real (never guessed; SID-Set's mask layout names its own).",
    )
