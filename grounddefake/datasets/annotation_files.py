"""Annotation files of public benchmarks, read as they ship (each reader names the layout it expects; the README's
Data section lists them).

- ``imdl-json``: IMDL-BenCo ``[[image, mask | "Negative"], ...]`` ("Negative" = real).
- ``coco``: COCO JSON (:mod:`grounddefake.datasets.coco`).
- ``synthscars``: LEGION's SynthScars (fully synthetic; one flat polygon list per phrase).
- ``loki``: LOKI (UTF-16 JSON); open-ended items carry regions ``[x, y, w, h]``; yes/no items carry their label.
- ``fakexplained``: FakeXplained JSONL (``objects.bbox`` in pixels, ``objects.ref`` their descriptions).
- ``llava``: LLaVA conversation JSON (FakeClue): the ``label`` field, else the verdict of the answer.
- ``icm-instruct`` / ``icm-qa``: ICM-Instruct's LLaVA JSON by image or by question (:mod:`grounddefake.datasets.icm`).
- ``expl-aigi``: Expl-AIGI-Eval / RichHF JSONL: a heatmap PNG and a score per generated image.

One bad entry costs only itself (:mod:`grounddefake.datasets.entries`): every reader keeps each usable entry and
lists every unusable one (a path leaving the dataset, a field of the wrong type, a line that is not JSON) in
``Dataset.problems``, with file and entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grounddefake.datasets import icm
from grounddefake.datasets.coco import read_coco
from grounddefake.datasets.common import IMAGE_EXTENSIONS as IMAGE_SUFFIXES
from grounddefake.datasets.common import find_under, first_line_keys, read_json, read_jsonl
from grounddefake.datasets.entries import IMAGE_FOLDERS, each_entry, finish, path_text, polygon_region, xywh
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.datasets.paligemma import looks_like_paligemma
from grounddefake.types import Region, Sample


def read_imdl_json(path: Path) -> Dataset:
    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: an IMDL-BenCo JSON is a list of [image, mask] pairs")
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not (isinstance(item, list) and len(item) == 2 and all(path_text(v) for v in item)):
            raise DatasetError(f"{where}: not an [image, mask] pair of paths")
        image = find_under(path.parent, item[0], where)
        real = item[1] == "Negative"
        mask = None if real else find_under(path.parent, item[1], where)
        return Sample(Path(item[0]).with_suffix("").as_posix(), image, "real" if real else "fake", mask=mask)

    samples = each_entry(((f"{path}: item {i}", item) for i, item in enumerate(data)), read, problems)
    return finish(path, samples, problems, "imdl-json")


def read_synthscars(path: Path) -> Dataset:
    data = read_json(path)
    problems: list[str] = []

    def entries() -> Iterable[tuple[str, Any]]:
        for i, entry in enumerate(data if isinstance(data, list) else [data]):
            if isinstance(entry, Mapping):
                yield from ((f"{path}: {sample_id}", (sample_id, item)) for sample_id, item in entry.items())
            else:
                yield f"{path}: entry {i}", None

    def read(where: str, pair: Any) -> Sample:
        if pair is None:
            raise DatasetError(f"{where}: not an object of samples by id")
        sample_id, item = pair
        if not isinstance(item, Mapping) or not path_text(item.get("img_file_name")):
            raise DatasetError(f"{where}: no img_file_name")
        regions = []
        for ref in item.get("refs") or []:
            if not isinstance(ref, Mapping):
                problems.append(f"{where}: a ref that is not an object")
                continue
            for flat in ref.get("segmentation") or []:
                try:
                    regions.append(polygon_region(flat, ref.get("sentence")))
                except (TypeError, ValueError) as exc:
                    problems.append(f"{where}: a polygon unusable ({exc})")
        image = find_under(path.parent, item["img_file_name"], where, IMAGE_FOLDERS)
        meta = {"caption": item.get("caption")} if item.get("caption") else {}
        return Sample(str(sample_id), image, "fake", tuple(regions), meta=meta)

    return finish(path, each_entry(entries(), read, problems), problems, "synthscars")


def read_loki(path: Path) -> Dataset:
    data = read_json(path)
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, Mapping) else []
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not path_text(item.get("image_path")):
            raise DatasetError(f"{where} has no image_path")
        regions = []
        problems_field = item.get("problems")
        if isinstance(problems_field, Mapping):
            for regional in problems_field.get("regional") or []:
                try:
                    box = xywh(regional["region"])
                    regions.append(Region.from_json({"box": list(box), "label": regional.get("desc")}))
                except (TypeError, ValueError, KeyError) as exc:
                    problems.append(f"{where}: a region unusable ({exc})")
        label = _loki_label(item, bool(regions))
        sample_id = str(item.get("id", Path(item["image_path"]).with_suffix("").as_posix()))
        meta = {k: item[k] for k in ("question_type", "metric", "modality") if k in item}
        return Sample(sample_id, find_under(path.parent, item["image_path"], where), label, tuple(regions), meta=meta)

    samples = each_entry(((f"{path}: item {i}", item) for i, item in enumerate(items)), read, problems)
    return finish(path, samples, problems, "loki")


def _loki_label(item: Mapping[str, Any], has_regions: bool) -> str | None:
    """Open-ended items with regions are fake; a yes/no item answers the concept its question names first
    ("Is this image AI-generated?" → yes = fake; "Is this a real photo rather than AI-generated?" → yes = real)."""
    if has_regions:
        return "fake"
    answer = str(item.get("answer", "")).strip().lower().rstrip(".")
    question = str(item.get("question", "")).lower()
    fake = re.search(r"ai[- ]generated|generated|synthetic|fake|synthesi[sz]ed", question)
    real = re.search(r"\breal\b|authentic|genuine|natural photo", question)
    if answer not in ("yes", "no") or not (fake or real):
        return None
    asks_fake = bool(fake) and (not real or fake.start() < real.start())
    return ("fake" if answer == "yes" else "real") if asks_fake else ("real" if answer == "yes" else "fake")


def read_fakexplained(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        images = item.get("images") if isinstance(item, Mapping) else None
        if isinstance(images, str):
            images = [images]
        if not isinstance(images, list) or not images or not path_text(images[0]):
            raise DatasetError(f"{where}: no images")
        objects = item.get("objects") if isinstance(item.get("objects"), Mapping) else {}
        regions = []
        for i, box in enumerate(objects.get("bbox") or []):
            refs = objects.get("ref") or []
            try:
                regions.append(Region.from_json({"box": box, "label": refs[i] if i < len(refs) else None}))
            except (TypeError, ValueError) as exc:
                problems.append(f"{where}: box {i} unusable ({exc})")
        answer = next(
            (
                m.get("content")
                for m in reversed(item.get("messages") or [])
                if isinstance(m, Mapping) and m.get("role") == "assistant"
            ),
            None,
        )
        label = parse(answer, None, (1, 1)).label if isinstance(answer, str) else "unknown"
        if label == "unknown":
            label = "fake" if regions else None  # FakeXplained's boxes mark fakes; real images have none
        sample_id = str(item.get("id", Path(images[0]).with_suffix("").as_posix()))
        described = [str(r.label) for r in regions if r.label]  # the annotators' descriptions: the reference
        meta = {"explanation": "; ".join(described)} if described else {}
        return Sample(sample_id, find_under(path.parent, images[0], where), label, tuple(regions), meta=meta)

    samples = each_entry(((f"{path}:{n}", item) for n, item in read_jsonl(path, problems)), read, problems)
    return finish(path, samples, problems, "fakexplained")


def read_llava(path: Path) -> Dataset:
    from grounddefake.parsing import parse

    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: a LLaVA conversation file is a list of objects")
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not path_text(item.get("image")):
            raise DatasetError(f"{where} has no image")
        label = _label_value(item.get("label"))
        if label is None:
            answer = next(
                (
                    t.get("value")
                    for t in item.get("conversations") or []
                    if isinstance(t, Mapping) and t.get("from") == "gpt"
                ),
                None,
            )
            verdict = parse(answer, None, (1, 1)).label if isinstance(answer, str) else "unknown"
            label = None if verdict == "unknown" else verdict
        sample_id = str(item.get("id", Path(item["image"]).with_suffix("").as_posix()))
        meta = {k: item[k] for k in ("cate", "category", "generator") if k in item}
        return Sample(sample_id, find_under(path.parent, item["image"], where, IMAGE_FOLDERS), label, meta=meta)

    samples = each_entry(((f"{path}: item {i}", item) for i, item in enumerate(data)), read, problems)
    return finish(path, samples, problems, "llava")


def _label_value(value: Any) -> str | None:
    """FakeClue labels: "real" / "fake", or FakeVLM's numbers (1 = real, 0 = fake)."""
    if isinstance(value, str) and value.lower() in ("real", "fake"):
        return value.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return "real" if value == 1 else "fake"
    return None


EXPL_AIGI_SCORE_DIRECTION = "plausibility"
"""Expl-AIGI-Eval's ``score`` is RichHF's plausibility (higher = fewer defects): its own answers call it "the
plausibility score", and on the public test split the images its reference says have no problematic region score
0.999 on average against 0.608 for the rest (see ``eval/suites/expl-aigi-eval.yaml``)."""


def read_expl_aigi(path: Path) -> Dataset:
    """Expl-AIGI-Eval: image, defect heatmap, score (``meta.score``, with ``meta.score_direction``). Unlabelled:
    every image is generated (Pick-a-Pic), and the data has no per-image class of plausibility."""
    problems: list[str] = []

    def read(where: str, item: Any) -> Sample:
        if not isinstance(item, Mapping) or not path_text(item.get("image")):
            raise DatasetError(f"{where}: no image")
        heatmap = item.get("heatmap") if path_text(item.get("heatmap")) else None
        meta: dict[str, Any] = {}
        if isinstance(item.get("score"), (int, float)) and not isinstance(item.get("score"), bool):
            meta["score"] = float(item["score"])
            meta["score_direction"] = EXPL_AIGI_SCORE_DIRECTION
        explanation = next(
            (
                t.get("value")
                for t in item.get("conversations") or []
                if isinstance(t, Mapping) and t.get("from") == "gpt" and isinstance(t.get("value"), str)
            ),
            None,
        )
        if explanation and explanation.strip():
            meta["explanation"] = explanation.strip()  # HEIE's chain of thought: the reference explanation
        return Sample(
            str(item.get("id", Path(item["image"]).with_suffix("").as_posix())),
            find_under(path.parent, item["image"], where, IMAGE_FOLDERS),
            None,  # no per-image class: all generated (Pick-a-Pic), and plausibility has no label in the data
            heatmap=None if not isinstance(heatmap, str) else find_under(path.parent, heatmap, where),
            meta=meta,
        )

    samples = each_entry(((f"{path}:{n}", item) for n, item in read_jsonl(path, problems)), read, problems)
    return finish(path, samples, problems, "expl-aigi")


def detect_file(path: Path, guess: bool = True) -> str | None:
    """The annotation format of a file, from its structure (not its name). Any other ``.jsonl`` file is a manifest
    candidate (so a bad line is reported with file and line), unless ``guess`` is off (a folder's files)."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        keys = first_line_keys(path)
        if path.name == "manifest.jsonl":
            return "manifest"
        if {"images", "objects"} <= keys or {"images", "messages"} <= keys:
            return "fakexplained"
        if "image" in keys and ("conversations" in keys or ("score" in keys and "label" not in keys)):
            return "expl-aigi"
        if looks_like_paligemma(keys):
            return "paligemma"
        if {"id", "image"} <= keys or guess:
            return "manifest"
        return None
    if suffix != ".json":
        return None
    try:
        data = read_json(path)
    except DatasetError:
        return None
    if isinstance(data, Mapping) and "images" in data and "annotations" in data:
        return "coco"
    items = data if isinstance(data, list) else list(data.values()) if isinstance(data, Mapping) else []
    first = items[0] if items else None
    if isinstance(first, list) and len(first) == 2 and isinstance(first[0], str):
        if Path(first[0]).suffix.lower() in IMAGE_SUFFIXES:  # not IMDL's balanced [[ClassName, path]] lists
            return "imdl-json"
        return None
    if isinstance(data, Mapping) and any(isinstance(v, Mapping) and "img_file_name" in v for v in data.values()):
        return "synthscars"
    if isinstance(first, Mapping):
        if looks_like_paligemma(first):
            return "paligemma"
        if "image_path" in first:
            return "loki"
        if "conversations" in first and "image" in first:
            return "icm-instruct" if icm.looks_like_icm(first) else "llava"
        inner = next(iter(first.values()), None)
        if isinstance(inner, Mapping) and "img_file_name" in inner:
            return "synthscars"
    return None


def annotation_file_in(folder: Path, fmt: str | None = None) -> Path | None:
    """The one annotation file directly in ``folder`` whose structure is a known format (``fmt`` when given); None
    when there is none, several, or a folder of per-image JSON files (more than 8 to look at)."""
    candidates = [
        p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in (".json", ".jsonl") and not p.name.startswith(".") and p.is_file()
    ]
    if len(candidates) > 8:
        return None
    found = [
        p
        for p in candidates
        if (detected := detect_file(p, guess=False)) and fmt in (None, detected, *SAME_FILE.get(detected, ()))
    ]
    return found[0] if len(found) == 1 else None


SCORE_DIRECTIONS = {"expl-aigi": EXPL_AIGI_SCORE_DIRECTION}
"""The direction of the ``meta.score`` a format's reader writes (it writes it as ``meta.score_direction`` too)."""
SAME_FILE = {"icm-instruct": ("icm-qa", "llava")}
"""Formats that read a file detected as another: an ICM-Instruct JSON by question, or as plain LLaVA."""
READERS = {
    "imdl-json": read_imdl_json,
    "coco": read_coco,
    "synthscars": read_synthscars,
    "loki": read_loki,
    "fakexplained": read_fakexplained,
    "llava": read_llava,
    "expl-aigi": read_expl_aigi,
    "icm-instruct": icm.read_icm_instruct,
    "icm-qa": icm.read_icm_qa,
}
