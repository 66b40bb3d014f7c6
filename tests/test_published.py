"""Published numbers beside ours: the suite entries are checked, and ``eval --suite`` prints each paper's number with
our comparable one (metrics.json → published, the table, both reports)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grounddefake.cli import app
from grounddefake.published import PublishedError, PublishedNumber
from grounddefake.suites import list_suites

from .servers.openai_server import FakeOpenAIServer
from .test_dataset_formats import fakexplained, loki, synthscars

GOOD = {
    "system": "LEGION",
    "metric": "mIoU",
    "value": 54.62,
    "scale": "percent",
    "ours": "localization.miou_2class",
    "comparable": "yes",
    "reason": "2-class mIoU",
    "source": "arXiv 2503.15264",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"value": "54.62 / 29.90"}, "field 'value' is one number"),
        ({"value": True}, "field 'value' is one number"),
        ({"scale": "ratio"}, "field 'scale' is one of fraction, percent"),
        ({"comparable": "maybe"}, "field 'comparable' is yes or no"),
        ({"reason": " "}, "field 'reason' says what matches or differs"),
        ({"ours": ""}, "field 'ours' is a dotted metrics.json key"),
        ({"note": "x"}, "unknown field 'note'"),
        ({"source": None, "drop": "source"}, "field 'source' is required"),
    ],
)
def test_a_malformed_entry_is_refused_with_its_field(change: dict, message: str) -> None:  # type: ignore[type-arg]
    entry = {**GOOD, **change}
    if "drop" in change:
        entry.pop(entry.pop("drop"))
    with pytest.raises(PublishedError, match=message):
        PublishedNumber.from_json(entry, "suite.yaml: published[0]")


@pytest.mark.parametrize(
    ("scale", "ours", "expected"), [("percent", 0.5309, 53.09), ("fraction", 0.5309, 0.5309), ("fraction", None, None)]
)
def test_ours_is_given_in_the_papers_scale(scale: str, ours: float | None, expected: float | None) -> None:
    number = PublishedNumber.from_json({**GOOD, "scale": scale})
    metrics = {"localization": {"miou_2class": ours}}
    assert number.ours_in_scale(metrics) == pytest.approx(expected)


def test_every_shipped_number_is_one_number_with_its_scale_and_a_key_of_a_known_group() -> None:
    groups = {"classification", "localization", "rules", "moderation", "heatmap", "score", "sid_set"}
    for suite in list_suites():
        for number in suite.published:
            assert number.ours is None or number.ours.split(".")[0] in groups, (suite.name, number)
            if number.scale == "percent":
                assert number.value > 1, (suite.name, number)


def _answered(build, suite: str, tmp_path: Path) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    """Run ``eval --suite`` on a fixture against a server whose every answer is fake with one box
    [100, 100, 500, 500] in norm1000 (pixels (4, 3, 20, 15) of the 40 x 30 fixture images)."""
    data = build(tmp_path / "data")
    out = tmp_path / "run"
    with FakeOpenAIServer() as server:
        args = ["eval", "--suite", suite, "--data", str(data), "--model", "test-model", "--convention", "norm1000"]
        result = CliRunner().invoke(app, [*args, "--base-url", server.base_url, "--out", str(out), "--no-cache"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text()), result.output


# The predicted box covers 16 x 12 = 192 px. The fixtures' artifact, drawn LEGION's way, is 16 x 16 = 256 px (the
# polygon (10, 5)..(25, 20) filled with its outline; LOKI's [10, 5, 15, 15] end-inclusive); 10 x 10 overlap, of 1,200.
LEGION_MIOU = (100 / 348 + (1200 - 348) / (1200 - 100)) / 2 * 100
LEGION_F1 = 2 * 100 / (192 + 256) * 100


@pytest.mark.parametrize(("build", "suite"), [(synthscars, "synthscars"), (loki, "loki")])
def test_legion_suites_show_the_two_class_miou_beside_legions(build, suite: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    metrics, output = _answered(build, suite, tmp_path)
    assert metrics["localization"]["gt_raster"] == "legion"
    rows = {(r["system"], r["metric"], r["published"]): r for r in metrics["published"]["rows"]}
    miou = rows[("LEGION", "mIoU", 54.62 if suite == "synthscars" else 48.66)]
    assert miou["ours_key"] == "localization.miou_2class" and miou["comparable"] is True
    assert miou["ours"] == pytest.approx(LEGION_MIOU)
    f1 = rows[("LEGION", "F1", 29.9 if suite == "synthscars" else 16.71)]
    assert f1["ours"] == pytest.approx(LEGION_F1)
    assert "beside the papers" in output and f"{LEGION_MIOU:.2f}" in output
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"## Beside the papers (suite {suite})" in report and f"{LEGION_MIOU:.2f} %" in report
    assert 'id="published"' in (tmp_path / "run" / "report.html").read_text()


def test_fakexplained_shows_fakexplains_box_iou_beside_the_papers(tmp_path: Path) -> None:
    metrics, _ = _answered(fakexplained, "fakexplained", tmp_path)
    rows = {(r["system"], r["metric"]): r for r in metrics["published"]["rows"]}
    iou = rows[("FakeXplainer 32B", "IoU")]
    assert (iou["published"], iou["ours_key"], iou["comparable"]) == (0.36, "localization.iou_fakexplain", True)
    # the box (4, 3, 20, 15) against the GT (10, 5, 25, 20): 100 / (192 + 225 - 100)
    assert iou["ours"] == pytest.approx(100 / 317)
    assert rows[("FakeXplainer 32B", "Acc")]["ours"] == 1.0


def test_sid_set_shows_the_three_class_accuracy_beside_sidas(tmp_path: Path) -> None:
    """Every answer is fake with a box: read as 'tampered' (sid_set.definition), right only on the tampered image."""
    from .test_dataset_formats import sid_set

    metrics, output = _answered(sid_set, "sid-set", tmp_path)
    rows = {(r["system"], r["metric"]): r for r in metrics["published"]["rows"]}
    acc = rows[("SIDA-13B", "overall Acc")]
    assert (acc["published"], acc["scale"], acc["comparable"]) == (93.6, "percent", True)
    assert acc["ours"] == pytest.approx(100 / 3)
    assert rows[("SIDA-13B", "tampered F1")]["ours"] == pytest.approx(100 * 2 * 1 / (1 + 3))  # P 1/3, R 1
    assert rows[("SIDA-13B", "overall F1")]["ours"] is None and rows[("SIDA-13B", "overall F1")]["comparable"] is False
    assert "33.33" in output
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## SID-Set, SIDA's way (3 classes, 3 samples)" in report and "| tampered | 1 | 1.000 | 0.333 |" in report
    assert 'id="sid-classes"' in (tmp_path / "run" / "report.html").read_text()


def test_imdl_benco_scores_its_way_beside_ours(tmp_path: Path) -> None:
    """Tp/ x2, x10 (mask (10, 5)..(25, 20)), an orphan without a mask and Au/au1; every answer fake with the box
    (4, 3, 20, 15): each tampered image F1 200 / 417; IMDL-BenCo averages the negative in at 0."""
    from .test_dataset_formats import imdl_folders

    metrics, _ = _answered(imdl_folders, "imdl-benco", tmp_path)
    loc = metrics["localization"]
    imdl = loc["imdl_benco"]
    assert loc["f1_mean"] == pytest.approx(200 / 417)
    assert imdl["n"] == loc["n"] + loc["n_empty_truth"] + loc["n_real"] and imdl["n_negative"] == loc["n_real"] == 1
    assert imdl["pixel_f1"] == pytest.approx(loc["f1_mean"] * loc["n"] / imdl["n"], abs=1e-6)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "IMDL-BenCo's way" in report and "IMDL-BenCo's way" in (tmp_path / "run" / "report.html").read_text()
