"""Every metric against an independent reference (scikit-learn, scipy, pycocotools, shapely, brute-force numpy)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from grounddefake.grounding import polygon_mask, regions_to_heatmap, regions_to_mask
from grounddefake.metrics.accumulator import MetricsAccumulator, SampleRows
from grounddefake.metrics.classification import (
    ClassificationRow,
    average_precision,
    binary_auc,
    classification_metrics,
    expected_calibration_error,
)
from grounddefake.metrics.heatmap import auc_judd, cc, heatmap_metrics, heatmap_row, kld, nss, sim
from grounddefake.metrics.localization import (
    LocalizationScorer,
    coco_ap,
    matched_ious,
    pixel_scores,
    pointing_hit,
)
from grounddefake.metrics.scores import plcc, srcc
from grounddefake.types import Region

# -- classification ---------------------------------------------------------------------------------------------


def _random_rows(seed: int, n: int = 200, unknown: float = 0.1, ties: bool = False) -> list[ClassificationRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        truth = "fake" if rng.random() < 0.4 else "real"
        predicted = "unknown" if rng.random() < unknown else ("fake" if rng.random() < 0.5 else "real")
        score = float(rng.integers(0, 5) / 4) if ties else float(rng.random())
        rows.append(ClassificationRow(truth, predicted, score))
    return rows


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # 'unknown' is never a truth
@pytest.mark.parametrize(("seed", "ties"), [(s, t) for s in range(6) for t in (False, True)])
def test_classification_matches_scikit_learn(seed: int, ties: bool) -> None:
    rows = _random_rows(seed, ties=ties)
    m = classification_metrics(rows)
    truth = [r.truth for r in rows]
    predicted = [r.predicted for r in rows]
    assert m["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(truth, predicted))
    answered = [(t, p) for t, p in zip(truth, predicted, strict=True) if p != "unknown"]
    t_a, p_a = [a for a, _ in answered], [b for _, b in answered]
    assert m["precision"] == pytest.approx(precision_score(t_a, p_a, pos_label="fake"))
    assert m["recall"] == pytest.approx(recall_score(t_a, p_a, pos_label="fake"))
    assert m["f1"] == pytest.approx(f1_score(t_a, p_a, pos_label="fake"))
    y = [t == "fake" for t in truth]
    s = [r.score for r in rows]
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["ap"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert m["accuracy_answered"] == pytest.approx(accuracy_score(t_a, p_a))
    assert m["coverage"] == pytest.approx(len(answered) / len(rows))


def test_ece_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(500)
    truth = rng.random(500) < scores  # roughly calibrated
    expected = 0.0
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        members = [(s, t) for s, t in zip(scores, truth, strict=True) if lo <= s < hi or (b == 9 and s == 1.0)]
        if members:
            mean_s = sum(s for s, _ in members) / len(members)
            share = sum(t for _, t in members) / len(members)
            expected += len(members) / 500 * abs(mean_s - share)
    assert expected_calibration_error(truth, scores) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rows", "checks"),
    [
        ([], {"n": 0, "accuracy": None, "auc": None, "f1": None}),
        ([ClassificationRow("real", "unknown")] * 3, {"accuracy": 0.0, "coverage": 0.0, "accuracy_answered": None}),
        (
            [ClassificationRow("real", "real", 0.1)] * 3,
            {"accuracy": 1.0, "accuracy_fake": None, "auc": None, "balanced_accuracy": None},
        ),
        ([ClassificationRow("fake", "fake", 0.9)] * 2, {"recall": 1.0, "precision": 1.0, "auc": None, "ap": None}),
        (
            [ClassificationRow("fake", "real"), ClassificationRow("real", "real")],
            {"auc": None, "ece": None, "n_scored": 0},
        ),
    ],
)
def test_classification_edge_cases(rows, checks) -> None:
    m = classification_metrics(rows)
    for key, value in checks.items():
        assert m[key] == value, key
    if m["auc"] is None and m["n"]:
        assert m["auc_null_reason"]


# -- localization -----------------------------------------------------------------------------------------------


def _random_case(seed: int, size=(97, 61), n_regions=4):
    rng = np.random.default_rng(seed)
    w, h = size
    truth = np.zeros((h, w), bool)
    x, y = rng.integers(0, w - 20), rng.integers(0, h - 15)
    truth[y : y + rng.integers(5, 15), x : x + rng.integers(5, 20)] = True
    regions = []
    for _ in range(rng.integers(0, n_regions + 1)):
        x1, y1 = rng.uniform(-5, w), rng.uniform(-5, h)
        box = (x1, y1, x1 + rng.uniform(1, 40), y1 + rng.uniform(1, 30))
        score = None if rng.random() < 0.2 else float(rng.integers(1, 5) / 4)
        regions.append(Region(box, score=score))
    return regions, truth


def _independent_heatmap(regions, shape) -> np.ndarray:
    """The highest clipped score of the boxes whose [x1, x2) × [y1, y2) holds each pixel centre (1 without a score)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    heat = np.zeros(shape)
    for r in regions:
        level = 1.0 if r.score is None or not math.isfinite(r.score) else min(max(r.score, 0.0), 1.0)
        inside = (xs >= r.box[0]) & (xs < r.box[2]) & (ys >= r.box[1]) & (ys < r.box[3])
        heat[inside] = np.maximum(heat[inside], level)
    return heat


@pytest.mark.parametrize("seed", range(25))
def test_pixel_scores_match_brute_force_and_scikit_learn(seed: int) -> None:
    regions, truth = _random_case(seed)
    rng = np.random.default_rng(seed)
    odd = [0.0, -0.5, 1.7, float("nan"), None, 0.3]
    regions = [
        Region(r.box, score=odd[int(rng.integers(len(odd)))] if rng.random() < 0.4 else r.score) for r in regions
    ]
    got = pixel_scores(regions, truth)
    heat = _independent_heatmap(regions, truth.shape)
    pred = np.zeros(truth.shape, bool) if not regions else (heat > 0) | _covered(regions, truth.shape)
    tp, fp, fn = (pred & truth).sum(), (pred & ~truth).sum(), (~pred & truth).sum()
    assert got.iou == pytest.approx(tp / (tp + fp + fn), abs=1e-12)
    assert got.precision == pytest.approx(tp / (tp + fp) if tp + fp else 0.0, abs=1e-12)
    assert got.recall == pytest.approx(tp / (tp + fn), abs=1e-12)
    assert got.f1 == pytest.approx(f1_score(truth.ravel(), pred.ravel(), zero_division=0), abs=1e-12)
    assert got.auc == pytest.approx(roc_auc_score(truth.ravel(), heat.ravel()), abs=1e-12)
    size = (truth.shape[1], truth.shape[0])
    assert (regions_to_heatmap(regions, size) == heat.astype(np.float32)).all()  # the map the AUC claims to score
    assert (regions_to_mask(regions, size) == pred).all()


def _covered(regions, shape) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    out = np.zeros(shape, bool)
    for r in regions:
        out |= (xs >= r.box[0]) & (xs < r.box[2]) & (ys >= r.box[1]) & (ys < r.box[3])
    return out


def test_boxes_are_clipped_to_the_image_before_matching() -> None:
    truth = np.zeros((100, 100), bool)
    truth[0:50, 0:50] = True
    scorer = LocalizationScorer()
    row = scorer.update_fake([Region((-50, -50, 50, 50), score=0.9)], truth, [(0, 0, 50, 50)])
    assert row.pixels.iou == 1.0 and row.matches == (1.0,)


def test_f1_is_zero_for_a_model_that_never_says_fake() -> None:
    m = classification_metrics([ClassificationRow("fake", "real"), ClassificationRow("real", "real")])
    assert (m["f1"], m["precision"], m["recall"]) == (0.0, None, 0.0)


@pytest.mark.parametrize("seed", range(25))
def test_pointing_game_matches_brute_force(seed: int) -> None:
    regions, truth = _random_case(seed)
    if not regions:
        assert pointing_hit(regions, truth) is False
        return
    best = max(regions, key=lambda r: 1.0 if r.score is None else r.score)
    x, y = (best.box[0] + best.box[2]) / 2, (best.box[1] + best.box[3]) / 2
    rows, cols = np.nonzero(truth)
    expected = bool((((rows + 0.5 - y) ** 2 + (cols + 0.5 - x) ** 2) <= 15**2).any())
    assert pointing_hit(regions, truth) is expected


@pytest.mark.parametrize("seed", range(20))
def test_hungarian_matching_is_the_best_one_to_one_matching(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def boxes(k):
        xy = rng.uniform(0, 80, (k, 2))
        return [tuple(map(float, (x, y, x + rng.uniform(5, 30), y + rng.uniform(5, 30)))) for x, y in xy]

    predicted, truth = boxes(rng.integers(1, 5)), boxes(rng.integers(1, 5))

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    k = min(len(predicted), len(truth))
    best = max(
        sum(iou(predicted[i], truth[j]) for i, j in zip(p, t, strict=True))
        for p in itertools.permutations(range(len(predicted)), k)
        for t in itertools.permutations(range(len(truth)), k)
    )
    assert sum(matched_ious(predicted, truth)) == pytest.approx(best)


def test_coco_ap_on_a_case_computed_by_hand() -> None:
    # Two GT boxes; a perfect detection (0.9) and a miss (0.8): recall stops at 0.5 with precision 1, so the
    # 101-point interpolated AP is 51/101 at every IoU threshold.
    truth = [(0, 0, 10, 10), (50, 50, 60, 60)]
    predicted = [((0, 0, 10, 10), 0.9), ((20, 20, 30, 30), 0.8)]
    ap, ap50 = coco_ap([(truth, predicted)])
    assert ap50 == pytest.approx(51 / 101) and ap == pytest.approx(51 / 101)
    assert coco_ap([(truth, [((0, 0, 10, 10), 0.9), ((50, 50, 60, 60), 0.5)])]) == (pytest.approx(1.0),) * 2


def test_localization_groups_box_metrics_and_false_alarms() -> None:
    scorer = LocalizationScorer(thresholds=(0.5, 0.75))
    truth = np.zeros((100, 100), bool)
    truth[10:50, 10:50] = True
    scorer.update_fake(
        [Region((10, 10, 50, 50), score=0.9), Region((60, 60, 70, 70), score=0.2)], truth, [(10, 10, 50, 50)]
    )
    scorer.update_fake([Region((12, 12, 48, 44))], truth, [(10, 10, 50, 50)])  # IoU 0.72: a match at .5, not .75
    scorer.update_fake([], truth, [(10, 10, 50, 50)])
    assert scorer.update_fake([], np.zeros((100, 100), bool)) is None
    scorer.update_real([Region((0, 0, 50, 100))], (100, 100))
    scorer.update_real([], (100, 100))
    m = scorer.compute()
    assert (m["n"], m["n_box"], m["n_empty_truth"]) == (3, 3, 1)
    assert m["box_precision"] == pytest.approx(2 / 3) and m["box_recall"] == pytest.approx(2 / 3)
    assert m["box_precision@0.75"] == pytest.approx(1 / 3)
    assert m["ap"] is None and "no score" in m["ap_null_reason"]
    assert m["real_fp_rate"] == 0.5 and m["real_fp_area"] == pytest.approx(0.25)
    assert m["pointing_game"] == pytest.approx(2 / 3)
    assert m["iou_mean"] == pytest.approx(np.mean([1600 / 1700, 36 * 32 / 1600, 0.0]))


@pytest.mark.parametrize(
    ("box", "pixels"),
    [((90, 0, 100, 10), 100), ((95, 95, 105, 105), 25), ((-5, -5, 3, 3), 9), ((99.6, 0, 100, 5), 0)],
)
def test_boxes_touching_the_border(box, pixels) -> None:
    truth = np.ones((100, 100), bool)
    assert pixel_scores([Region(box)], truth).predicted == pixels


def test_self_intersecting_polygon_agrees_with_shapely_make_valid() -> None:
    from shapely.geometry import Point, Polygon
    from shapely.validation import make_valid

    bowtie = [(0, 0), (40, 30), (40, 0), (0, 30)]
    valid = make_valid(Polygon(bowtie))
    mask = polygon_mask(bowtie, (40, 30))
    expected = np.array([[valid.contains(Point(c + 0.5, r + 0.5)) for c in range(40)] for r in range(30)])
    assert (mask == expected).all()


# -- heatmaps and scores -----------------------------------------------------------------------------------------


def _maps(seed: int):
    rng = np.random.default_rng(seed)
    pred = rng.random((24, 32))
    truth = np.where(rng.random((24, 32)) < 0.2, rng.random((24, 32)), 0.0)
    return pred, truth


@pytest.mark.parametrize("seed", range(8))
def test_heatmap_metrics_match_their_definitions(seed: int) -> None:
    pred, truth = _maps(seed)
    assert cc(pred, truth) == pytest.approx(np.corrcoef(pred.ravel(), truth.ravel())[0, 1])
    p, q = pred / pred.sum(), truth / truth.sum()
    eps = np.finfo(float).eps
    assert kld(pred, truth) == pytest.approx(np.sum(q * np.log(eps + q / (p + eps))))
    pn = (pred - pred.min()) / (pred.max() - pred.min())
    tn = (truth - truth.min()) / (truth.max() - truth.min())
    assert sim(pred, truth) == pytest.approx(np.minimum(pn / pn.sum(), tn / tn.sum()).sum())
    z = (pred - pred.mean()) / pred.std()
    assert nss(pred, truth) == pytest.approx(z[truth > 0].mean())
    # AUC-Judd by its loop definition
    fix = truth > 0
    thresholds = sorted(set(pred[fix]), reverse=True)
    tpr = [0.0] + [(pred[fix] >= t).mean() for t in thresholds] + [1.0]
    fpr = [0.0] + [(pred[~fix] >= t).mean() for t in thresholds] + [1.0]
    assert auc_judd(pred, truth) == pytest.approx(np.trapezoid(tpr, fpr))


def test_richhf_protocol_separates_empty_truth() -> None:
    pred, truth = _maps(0)
    rows = [heatmap_row(pred, truth), heatmap_row(pred, np.zeros_like(truth))]
    m = heatmap_metrics(rows)
    assert (m["n"], m["n_nonempty"]) == (2, 1)
    assert m["cc"] == pytest.approx(rows[0].cc) and m["mse_empty"] == pytest.approx(np.mean(pred**2))
    assert m["mse_all"] == pytest.approx((rows[0].mse + rows[1].mse) / 2)
    empty = heatmap_row(np.zeros_like(truth), truth)  # no region claimed: chance, not left out of the means
    assert (empty.cc, empty.nss, empty.auc_judd, empty.sim) == (0.0, 0.0, 0.5, 0.0)


def test_score_correlations_match_scipy() -> None:
    from scipy.stats import pearsonr, spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.random(50), rng.random(50)
    b[::5] = b[0]  # ties
    assert plcc(a, b) == pytest.approx(pearsonr(a, b)[0])
    assert srcc(a, b) == pytest.approx(spearmanr(a, b)[0])
    assert plcc([1, 2], [3, 3]) is None


# -- groups and bootstrap ----------------------------------------------------------------------------------------


def test_groups_equal_the_metrics_of_their_subsets_and_intervals_hold_the_estimate() -> None:
    rows = _random_rows(1, n=120)
    run = MetricsAccumulator(localization=False)
    for i, row in enumerate(rows):
        run.add(SampleRows(group="sdxl" if i % 3 else "midjourney", classification=row))
    out = run.compute(group_by="meta.generator", bootstrap=200, seed=7)
    sdxl = [r for i, r in enumerate(rows) if i % 3]
    assert out["groups"]["values"]["sdxl"]["classification"]["accuracy"] == classification_metrics(sdxl)["accuracy"]
    lo, hi = out["classification"]["ci95"]["accuracy"]
    assert lo <= out["classification"]["accuracy"] <= hi and hi - lo < 0.3
    assert run.compute(bootstrap=200, seed=7)["classification"]["ci95"] == out["classification"]["ci95"]


def test_binary_auc_and_ap_refuse_a_single_class() -> None:
    assert binary_auc([True, True], [0.1, 0.9]) is None
    assert average_precision([False, False], [0.1, 0.9]) is None
    assert math.isclose(binary_auc([True, False], [0.9, 0.1]), 1.0)
