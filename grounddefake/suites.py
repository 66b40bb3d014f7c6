"""Evaluation suites: one YAML per public benchmark (``eval/suites/``) with its adapter, prompt, metric options and the
published numbers it can be compared with. ``grounddefake eval --suite NAME --data PATH`` (or
``grounddefake.evaluate(data, suite=NAME)``) runs one; options the run gives itself win."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grounddefake.published import PublishedError, PublishedNumber
from grounddefake.resources import asset_dir
from grounddefake.run_config import GT_RASTERS, RunConfig
from grounddefake.scalar import Direction, ScalarError, direction_of

_FIELDS = {
    "name",
    "description",
    "format",
    "layout",
    "prompt",
    "with_boxes",
    "group_by",
    "iou_threshold",
    "gt_raster",
    "bootstrap",
    "published",
    "positive",
    "score_direction",
    "score_direction_basis",
}
BASES = ("measured", "read")
"""How a suite's score direction was established: measured on the data, or read from the dataset's own text."""


class SuiteError(ValueError):
    """An unknown or malformed suite (names the file and field)."""


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    format: str
    layout: str
    prompt: str
    with_boxes: bool
    group_by: str | None = None
    iou_threshold: float | None = None
    gt_raster: str | None = None
    """How the benchmark's own evaluation rasterises its ground-truth regions (``legion``), if not ``centre``."""
    bootstrap: int | None = None
    positive: str | None = None
    """The positive class the suite's metrics use (default: the pack's)."""
    score_direction: Direction | None = None
    """The direction of the dataset's ground-truth score (``plausibility``: higher = fewer defects)."""
    score_direction_basis: str | None = None
    """How it was established, starting ``measured`` (on the data) or ``read`` (in the dataset's own text)."""
    published: tuple[PublishedNumber, ...] = field(default_factory=tuple)
    """The papers' numbers, each with the key of ours that reproduces it and whether the two are comparable."""


def suite_dir() -> Path:
    return asset_dir("eval/suites")


def list_suites() -> list[Suite]:
    return [load_suite(p) for p in sorted(suite_dir().glob("*.yaml"))]


def load_suite(source: str | Path) -> Suite:
    """A suite by name (``sid-set``) or YAML path.

    Raises:
        SuiteError: unknown name, unreadable file, unknown field or format.
    """
    from grounddefake.datasets import FORMATS

    path = Path(source)
    if not path.suffix:
        path = suite_dir() / f"{source}.yaml"
        if not path.is_file():
            names = ", ".join(p.stem for p in sorted(suite_dir().glob("*.yaml")))
            raise SuiteError(f"no suite named '{source}' (suites: {names})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteError(f"{path}: unreadable suite ({exc})") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise SuiteError(f"{path}: unknown field '{unknown[0]}' (allowed: {', '.join(sorted(_FIELDS))})")
    if data.get("gt_raster") not in (None, *GT_RASTERS):
        raise SuiteError(f"{path}: field 'gt_raster' must be one of {', '.join(GT_RASTERS)}")
    if data.get("format") not in FORMATS:
        raise SuiteError(f"{path}: field 'format' must be one of {', '.join(FORMATS)}")
    direction, basis = _score_direction(data, path)
    return Suite(
        name=str(data.get("name") or path.stem),
        description=str(data.get("description") or ""),
        format=data["format"],
        layout=str(data.get("layout") or ""),
        prompt=str(data.get("prompt") or "grounded"),
        with_boxes=bool(data.get("with_boxes", False)),
        group_by=data.get("group_by"),
        iou_threshold=data.get("iou_threshold"),
        gt_raster=data.get("gt_raster"),
        bootstrap=data.get("bootstrap"),
        positive=None if data.get("positive") is None else str(data["positive"]),
        score_direction=direction,
        score_direction_basis=basis,
        published=_published(data.get("published"), path),
    )


def _score_direction(data: dict[str, object], path: Path) -> tuple[Direction | None, str | None]:
    """A suite's ``score_direction`` and ``score_direction_basis``: a direction, said how it was established, and
    the one its format's reader writes (``meta.score_direction``, what scoring reads) when it writes one.

    Raises:
        SuiteError: not a direction, no basis starting ``measured:`` or ``read:``, or another than the reader's.
    """
    from grounddefake.datasets.annotation_files import SCORE_DIRECTIONS

    raw, basis = data.get("score_direction"), data.get("score_direction_basis")
    if raw is None:
        if basis is not None:
            raise SuiteError(f"{path}: field 'score_direction_basis' without 'score_direction'")
        return None, None
    try:
        direction = direction_of(raw, "field 'score_direction'")
    except ScalarError as exc:
        raise SuiteError(f"{path}: {exc}") from None
    if not isinstance(basis, str) or not re.match(rf"({'|'.join(BASES)})\b", basis.strip()):
        raise SuiteError(f"{path}: field 'score_direction_basis' says how, starting 'measured' or 'read'")
    written = SCORE_DIRECTIONS.get(str(data.get("format")))
    if written is not None and written != direction:
        raise SuiteError(
            f"{path}: field 'score_direction' is {direction}, but the {data.get('format')} reader writes {written}"
        )
    return direction, basis.strip()


def _published(entries: object, path: Path) -> tuple[PublishedNumber, ...]:
    """A suite's ``published`` list, each entry checked.

    Raises:
        SuiteError: not a list, or an entry :meth:`PublishedNumber.from_json` refuses.
    """
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise SuiteError(f"{path}: field 'published' is a list")
    try:
        return tuple(PublishedNumber.from_json(e, f"{path}: published[{i}]") for i, e in enumerate(entries))
    except PublishedError as exc:
        raise SuiteError(str(exc)) from None


def apply_suite(config: RunConfig) -> RunConfig:
    """``config`` with its suite's options filled in where the run did not give its own (given options win).

    A run that names a non-grounding prompt pack under a suite that asks for boxes keeps the pack and answers
    without boxes; one that names a grounding pack keeps the boxes.

    Raises:
        SuiteError: unknown or malformed suite.
        PromptPackError: the run's own pack cannot be read.
    """
    if config.suite is None:
        return config
    from grounddefake.prompts import load_pack

    suite = load_suite(config.suite)
    with_boxes = config.with_boxes or suite.with_boxes
    if config.prompt is not None and suite.with_boxes and not config.with_boxes:
        with_boxes = load_pack(config.prompt).task == "grounded"
    return config.replace(
        prompt=config.prompt or suite.prompt,
        with_boxes=with_boxes,
        data_format=config.data_format or suite.format,
        group_by=config.group_by or suite.group_by,
        iou_threshold=config.iou_threshold if config.iou_threshold is not None else suite.iou_threshold,
        bootstrap=config.bootstrap if config.bootstrap is not None else suite.bootstrap,
        gt_raster=config.gt_raster or suite.gt_raster,
        positive=config.positive or suite.positive,
    )
