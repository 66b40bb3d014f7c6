"""ICM-Instruct (ICM-Assistant, AAAI 2025): its LLaVA JSON read two ways, by image and by question.

The public layout is a LLaVA conversation list, one Q-A pair per item::

    {"id": "identity_<img>_pair<j>" | "identity_<img>_mc_pair<j>" | "identity_<img>_description<k>",
     "image": "sexy_check_all/<category>_<timestamp>_<n>.<ext>",
     "conversations": [{"from": "human", "value": "<q>\\n<image>"}, {"from": "gpt", "value": "<a>"}]}

- ``icm-instruct`` (the moderation view): one sample per image. ICM's positive class "sexy" is ``unsafe`` and its
  negative "normal" is ``safe`` (the rule packs' label space): an image is ``safe`` iff its category or file name
  contains ``normal`` or ``not-sexy``. ``meta``: ``category`` (an item's ``category`` / ``cate``, else the file
  name's leading words, else the image's folder), ``attribute`` (the category without its framing prefix ``upper_``,
  ``middle_``, ``lower_`` or ``whole_``) and ``icm`` (``sexy`` / ``normal``). Per-rule truth: a sexy image violates
  ``sexy`` and its ``attribute`` (the rule ids of the shipped ``icm-attributes`` pack); a normal one none.
- ``icm-qa`` (the question view): one sample per multiple-choice (A-D), Yes/No and explanation item, unlabelled
  (``label`` null; the image's label in ``meta.image_label``). ``meta.question`` and ``meta.choices`` (``["A. ...",
  ...]``, empty for the others) are what a pack may declare as inputs, with ``meta.kind`` (``mc``, ``yes_no``,
  ``explanation``: the question's type); the reference answer is ``meta.truth``, a name no pack can declare, read
  only by scoring (MQA accuracy, MEQ). Open What/How items are left out (neither MQA nor MEQ scores them), counted in
  the dataset's problems.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from grounddefake.datasets.common import find_under, read_json
from grounddefake.datasets.entries import IMAGE_FOLDERS, each_entry, finish, path_text
from grounddefake.datasets.manifest import Dataset, DatasetError
from grounddefake.types import Sample

IMAGE_ROOT = "sexy_check_all"
"""The folder ICM-Instruct's items name their images under."""
NEGATIVE_MARKS = ("normal", "not-sexy", "not_sexy")
FRAMINGS = ("upper_", "middle_", "lower_", "whole_")
"""Category prefixes that say how much of the body the picture frames, not what it shows."""
KINDS = ("mc", "yes_no", "explanation")
_ID = re.compile(r"^identity_.+_(?:mc_)?(?:pair|description)\d+$")
_CHOICE = re.compile(r"^\s*([A-E])[.)]\s*\S")
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def looks_like_icm(item: Any) -> bool:
    """Whether a LLaVA item is ICM-Instruct's: an ``identity_..._pair<j>`` id or an image under ``sexy_check_all/``.

    >>> looks_like_icm({"id": "identity_pout_2023_7_mc_pair2", "image": "x.jpg", "conversations": []})
    True
    >>> looks_like_icm({"id": "0001", "image": "images/0001.jpg", "conversations": []})
    False
    """
    if not isinstance(item, Mapping) or "conversations" not in item or not isinstance(item.get("image"), str):
        return False
    first = PurePosixPath(item["image"].replace("\\", "/")).parts[:1]
    return bool(_ID.match(str(item.get("id", "")))) or first == (IMAGE_ROOT,)


def category_of(name: str) -> str | None:
    """The category an ICM file name starts with: its words up to the first that begins with a digit.

    >>> category_of("bite_finger_20231122110742_1005.JPEG"), category_of("lower_hips_2022072011061710062_v2.jpg")
    ('bite_finger', 'lower_hips')
    >>> category_of("0001.png") is None
    True
    """
    words = []
    for word in PurePosixPath(name).stem.split("_"):
        if not word or word[0].isdigit():
            break
        words.append(word)
    return "_".join(words) or None


def attribute_of(category: str | None) -> str | None:
    """The category without its framing prefix: what the picture shows.

    >>> attribute_of("upper_bust"), attribute_of("whole_large_bare"), attribute_of("sexy_kiss"), attribute_of(None)
    ('bust', 'large_bare', 'sexy_kiss', None)
    """
    if category is None:
        return None
    for prefix in FRAMINGS:
        if category.startswith(prefix) and len(category) > len(prefix):
            return category[len(prefix) :]
    return category


def is_normal(category: str | None, file_name: str) -> bool:
    """ICM's label rule: negative iff the category or the file name contains ``normal`` or ``not-sexy``.

    >>> is_normal("upper_normal", "upper_normal_1.jpg"), is_normal(None, "x_not-sexy.png"), is_normal("wet", "w.jpg")
    (True, True, False)
    """
    text = f"{category or ''} {file_name}".lower()
    return any(mark in text for mark in NEGATIVE_MARKS)


@dataclass(frozen=True)
class QaItem:
    """One Q-A item: the question as a pack may see it, its type and the reference answer.

    Attributes:
        kind: ``mc``, ``yes_no``, ``explanation`` or ``open`` (What / How: not scored).
        question: the human turn without ``<image>`` and without the choices.
        choices: the choice lines (``"A. ..."``), in order; empty unless ``mc``.
        instruction: the text after the choices ("Answer with the option's letter ..."), as the dataset wrote it.
        truth: the gpt turn (the reference answer or explanation).
    """

    kind: str
    question: str
    choices: tuple[str, ...]
    instruction: str
    truth: str


def qa_item(item_id: str, human: str, answer: str) -> QaItem:
    """Split one item into question, choices and reference answer, and tell its type.

    >>> human = "What is shown?\\nA. Lips\\nB. Eyes\\n Answer with the letter.\\n<image>"
    >>> item = qa_item("identity_pout_1_mc_pair3", human, "A.")
    >>> item.kind, item.question, item.choices, item.instruction, item.truth
    ('mc', 'What is shown?', ('A. Lips', 'B. Eyes'), 'Answer with the letter.', 'A.')
    >>> qa_item("identity_pout_1_pair0", "Is the person pouting?\\n<image>", "Yes.").kind
    'yes_no'
    """
    text = human.replace("<image>", "").strip()
    lines = [line.strip() for line in text.split("\n")]
    marks = [i for i, line in enumerate(lines) if _CHOICE.match(line)]
    answer = answer.strip()
    if "_description" in item_id:
        return QaItem("explanation", text, (), "", answer)
    if len(marks) >= 2 and re.match(r"^\W*[A-E]\b", answer):
        first, last = marks[0], marks[-1]
        question = "\n".join(line for line in lines[:first] if line)
        instruction = "\n".join(line for line in lines[last + 1 :] if line)
        return QaItem("mc", question, tuple(lines[first : last + 1]), instruction, answer)
    kind = "yes_no" if _YES_NO.match(answer) else "open"
    return QaItem(kind, text, (), "", answer)


def _turns(item: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The first human and the first gpt value of an item's conversation."""
    human = gpt = None
    for turn in item.get("conversations") or []:
        if not isinstance(turn, Mapping) or not isinstance(turn.get("value"), str):
            continue
        if turn.get("from") in ("human", "user") and human is None:
            human = turn["value"]
        elif turn.get("from") in ("gpt", "assistant") and gpt is None:
            gpt = turn["value"]
    return human, gpt


@dataclass(frozen=True)
class _Image:
    relative: str
    path: Path
    category: str | None

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative.replace("\\", "/")).name

    @property
    def normal(self) -> bool:
        return is_normal(self.category, self.name)

    @property
    def label(self) -> str:
        return "safe" if self.normal else "unsafe"

    def meta(self) -> dict[str, Any]:
        return {"category": self.category, "attribute": attribute_of(self.category), "icm": self.icm}

    @property
    def icm(self) -> str:
        return "normal" if self.normal else "sexy"

    def rules(self) -> dict[str, bool]:
        """Per-rule truth: a sexy image violates ``sexy`` and its attribute; a normal one no rule."""
        attribute = attribute_of(self.category)
        if self.normal:
            return {}
        return {"sexy": True, **({attribute: True} if attribute else {})}


def _items(path: Path) -> list[Any]:
    data = read_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: an ICM-Instruct file is a LLaVA list of {{id, image, conversations}} objects")
    return data


def _image(path: Path, item: Mapping[str, Any], where: str) -> _Image:
    relative = item["image"]
    declared = next((item[k] for k in ("category", "cate") if isinstance(item.get(k), str) and item[k]), None)
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    folder = parts[-2] if len(parts) > 1 and parts[-2] != IMAGE_ROOT else None
    category = declared or category_of(parts[-1]) or folder
    return _Image(relative, find_under(path.parent, relative, where, IMAGE_FOLDERS), category)


def _entries(path: Path) -> list[tuple[str, Any]]:
    return [(f"{path}: item {i}", item) for i, item in enumerate(_items(path))]


def _checked(where: str, item: Any) -> Mapping[str, Any]:
    if not isinstance(item, Mapping) or not path_text(item.get("image")):
        raise DatasetError(f"{where} has no image")
    return item


def read_icm_instruct(path: Path) -> Dataset:
    """The moderation view: one sample per image, labelled by ICM's rule (``safe`` = normal, ``unsafe`` = sexy),
    its id the file name's stem (the path without its suffix when two files share a stem). An item that cannot be
    read costs only itself (listed in the dataset's problems).

    Raises:
        DatasetError: not a list, or no usable item.
    """
    problems: list[str] = []
    found = each_entry(_entries(path), lambda where, item: _image_sample(path, where, _checked(where, item)), problems)
    images: dict[str, Sample] = {}
    for sample in found:  # the items of one image are one sample
        images.setdefault(sample.id, sample)
    stems = Counter(PurePosixPath(i).name for i in images)
    samples = [
        s if stems[PurePosixPath(i).name] > 1 else replace(s, id=PurePosixPath(i).name) for i, s in images.items()
    ]
    return finish(path, samples, problems, "icm-instruct")


def _image_sample(path: Path, where: str, item: Mapping[str, Any]) -> Sample:
    """An image's sample, its id the image's path without its suffix."""
    image = _image(path, item, where)
    relative = PurePosixPath(image.relative.replace("\\", "/")).with_suffix("").as_posix()
    return Sample(relative, image.path, image.label, meta=image.meta(), rules=image.rules())


def _kind(item: Any) -> str | None:
    """An item's question type, None when it has no question and answer to tell it by."""
    if not isinstance(item, Mapping):
        return None
    human, gpt = _turns(item)
    return None if human is None or gpt is None else qa_item(str(item.get("id") or ""), human, gpt).kind


def read_icm_qa(path: Path) -> Dataset:
    """The question view: one unlabelled sample per multiple-choice, Yes/No and explanation item. An item that
    cannot be read costs only itself (listed in the dataset's problems).

    Raises:
        DatasetError: not a list, or no usable item.
    """

    def read(where: str, entry: Any) -> Sample:
        item = _checked(where, entry)
        human, gpt = _turns(item)
        if human is None or gpt is None or not gpt.strip():
            raise DatasetError(f"{where} has no human question and gpt answer")
        item_id = str(item.get("id") or where.rpartition(" ")[2])
        parsed = qa_item(item_id, human, gpt)
        image = _image(path, item, where)
        meta = {
            **image.meta(),
            "image_id": PurePosixPath(image.name).stem,
            "image_label": image.label,
            "kind": parsed.kind,
            "question": parsed.question,
            "choices": list(parsed.choices),
            "instruction": parsed.instruction,
            "truth": parsed.truth,
        }
        return Sample(item_id, image.path, None, meta=meta)

    entries = _entries(path)
    asked = [(where, item) for where, item in entries if _kind(item) != "open"]
    problems: list[str] = []
    samples = each_entry(asked, read, problems)
    if len(asked) < len(entries):
        left_out = len(entries) - len(asked)
        problems.append(f"{left_out} open What/How items left out: neither MQA accuracy nor MEQ scores them")
    return finish(path, samples, problems, "icm-qa")
