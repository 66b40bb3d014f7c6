"""Box conventions: how each model family writes a box — the registry and its table of families.

Each entry of the table below is a :class:`Convention` (defined in :mod:`grounddefake.box_convention`): the syntax
the family writes (:mod:`grounddefake.native_syntaxes`, :mod:`grounddefake.json_regions`), the coordinate space and
scale, the axis order, the quantisation and the reference image. Qwen2.5-VL's boxes, for instance, are ``bbox_2d``
JSON in pixels of the smart-resized image (:func:`grounddefake.images.smart_resize`); Qwen2-VL's are
``<|box_start|>`` tokens in 0–1000; PaliGemma's are ``<locNNNN>`` tokens, y first, in 1024 bins.

>>> get_convention("qwen2.5-vl").reference, get_convention("qwen2-vl").scale
('smart-resize', 1000.0)
>>> convention_for_model("Qwen/Qwen2.5-VL-7B-Instruct").name
'qwen2.5-vl'

A new family is one :func:`register` call with a new :class:`Convention`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from grounddefake.box_convention import (
    EXAMPLE_REGION,
    EXAMPLE_SIZE,
    MIN_EXTENT,
    POINT_BOX_FRACTION,
    Binning,
    Convention,
    Reference,
    sanitize_box,
)
from grounddefake.images import QWEN_MAX_PIXELS, QWEN_MAX_RATIO, QWEN_MIN_PIXELS, QWEN_PATCH_FACTOR, smart_resize
from grounddefake.json_regions import JsonList
from grounddefake.model_regions import Markup
from grounddefake.native_syntaxes import (
    BareList,
    DoubleBracket,
    Florence,
    KosmosPatches,
    LocTokens,
    MolmoPoints,
    Tagged,
)

# -- registry -------------------------------------------------------------------------------------------------

_REGISTRY: dict[str, Convention] = {}


def register(convention: Convention) -> Convention:
    """Add ``convention`` to the registry (the name must be new)."""
    if convention.name in _REGISTRY:
        raise ValueError(f"convention '{convention.name}' is already registered")
    _REGISTRY[convention.name] = convention
    return convention


def get_convention(name: str | Convention) -> Convention:
    """Look a convention up by name.

    ``qwen2.5-vl@1003520`` is Qwen2.5-VL served with a 1,003,520-pixel smart-resize limit.

    >>> get_convention("paligemma").axis_order, get_convention("paligemma").scale
    ('yx', 1024.0)
    >>> get_convention("qwen2.5-vl@1003520").max_pixels
    1003520
    >>> get_convention("qwen9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    KeyError: "unknown box convention 'qwen9' (known: cogvlm, deepseek-vl2, ..., qwen2.5-vl, qwen3-vl)"

    Raises:
        KeyError: unknown name; the message lists the known ones.
    """
    if isinstance(name, Convention):
        return name
    base, _, limit = name.partition("@")
    try:
        convention = _REGISTRY[base]
    except KeyError:
        raise KeyError(f"unknown box convention '{base}' (known: {', '.join(sorted(_REGISTRY))})") from None
    if not limit:
        return convention
    if convention.reference != "smart-resize" or not limit.isdigit() or int(limit) < QWEN_MIN_PIXELS:
        raise KeyError(
            f"'{name}': only smart-resize conventions take '@MAX_PIXELS' (e.g. qwen2.5-vl@1003520), "
            f"a whole number of at least {QWEN_MIN_PIXELS}"
        )
    return replace(convention, name=name, max_pixels=int(limit))


def convention_for_model(model: str) -> Convention | None:
    """The native convention of a model family, found by its name; None for prompt-defined models (GPT-4o, ...).

    A model name is a declaration of its family, not a guess from the numbers it writes.
    """
    for convention in _REGISTRY.values():
        if any(re.search(pattern, model, re.IGNORECASE) for pattern in convention.models):
            return convention
    return None


def conventions() -> list[Convention]:
    """All registered conventions, in registry order (prompt-defined first, then model families)."""
    return list(_REGISTRY.values())


_JSON_BOX = JsonList("box", "point")
_QWEN_JSON = JsonList("bbox_2d", "point_2d", name="qwen-json")
_QWEN_TOKENS = Tagged(
    "qwen2-tokens", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "pairs"
)
_QWEN_TOKENS_FLAT = Tagged(
    "qwen-tokens-flat", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "flat"
)
_QWEN_V1 = Tagged("qwen-vl", "<ref>", "</ref>", "<box>", "</box>", "pairs")
_PROMPT_DEFINED = "prompt-defined (GPT-4o, GPT-4.1, Claude, any model told the format)"

for _convention in (
    Convention(
        "pixel",
        "absolute pixels of the image sent, (x1, y1, x2, y2)",
        (_PROMPT_DEFINED,),
        _JSON_BOX,
        "pixel",
        also=(BareList(),),
    ),
    Convention(
        "norm1",
        "fractions 0–1 of the image sent, (x1, y1, x2, y2)",
        (_PROMPT_DEFINED, "Moondream 2/3"),
        _JSON_BOX,
        "normalized",
        1.0,
        resolution=0.001,
        also=(BareList(),),
    ),
    Convention(
        "norm1000",
        "integers 0–1000 relative to the image sent, (x1, y1, x2, y2)",
        (_PROMPT_DEFINED, "the shipped `grounded` pack"),
        _JSON_BOX,
        "normalized",
        1000.0,
        also=(BareList(),),
    ),
    Convention(
        "qwen2-vl",
        "tokens <|box_start|>(x1,y1),(x2,y2)<|box_end|>, 0–1000",
        ("Qwen2-VL", "Qwen-VL"),
        _QWEN_TOKENS,
        "normalized",
        1000.0,
        also=(_QWEN_V1, _QWEN_TOKENS_FLAT),
        models=(r"qwen2[-_ ]?vl", r"qwen[-_ ]vl(?![-_ ]?(max|plus))"),
    ),
    Convention(
        "qwen2.5-vl",
        "JSON bbox_2d in pixels of the smart-resized input (28-px grid)",
        ("Qwen2.5-VL",),
        _QWEN_JSON,
        "pixel",
        reference="smart-resize",
        also=(_QWEN_TOKENS, _QWEN_TOKENS_FLAT),
        models=(r"qwen2\.5[-_ ]?vl",),
    ),
    Convention(
        "qwen3-vl",
        "JSON bbox_2d, 0–1000",
        ("Qwen3-VL",),
        _QWEN_JSON,
        "normalized",
        1000.0,
        also=(_QWEN_TOKENS_FLAT, _QWEN_TOKENS),
        models=(r"qwen3[-_ ]?vl",),
    ),
    Convention(
        "internvl",
        "<ref>label</ref><box>[[x1, y1, x2, y2]]</box>, 0–1000",
        ("InternVL2.5", "InternVL3"),
        Tagged("internvl"),
        "normalized",
        1000.0,
        models=(r"internvl",),
    ),
    Convention(
        "paligemma",
        "<locY1><locX1><locY2><locX2> label, 1024 bins, y first",
        ("PaliGemma", "PaliGemma 2"),
        LocTokens(),
        "normalized",
        1024.0,
        "yx",
        binning="floor",
        max_value=1023,
        models=(r"paligemma",),
    ),
    Convention(
        "florence2",
        "label<loc_x1><loc_y1><loc_x2><loc_y2>, 1000 bins read at their centres",
        ("Florence-2",),
        Florence(),
        "normalized",
        1000.0,
        binning="floor-centre",
        max_value=999,
        models=(r"florence[-_ ]?2",),
    ),
    Convention(
        "gemini",
        "JSON box_2d [ymin, xmin, ymax, xmax], 0–1000; points [y, x]",
        ("Gemini 2.0", "Gemini 2.5"),
        JsonList("box_2d", "point", name="gemini-json"),
        "normalized",
        1000.0,
        "yx",
        models=(r"gemini",),
    ),
    Convention(
        "deepseek-vl2",
        "<|ref|>label<|/ref|><|det|>[[x1, y1, x2, y2]]<|/det|>, divided by 999",
        ("DeepSeek-VL2",),
        Tagged("deepseek", "<|ref|>", "<|/ref|>", "<|det|>", "<|/det|>"),
        "normalized",
        999.0,
        models=(r"deepseek[-_ ]?vl2",),
    ),
    Convention(
        "cogvlm",
        "phrase [[x1,y1,x2,y2]] with three digits 000–999, boxes of a phrase joined by ;",
        ("CogVLM", "CogAgent"),
        DoubleBracket(),
        "normalized",
        1000.0,
        max_value=999,
        models=(r"cogvlm", r"cogagent"),
    ),
    Convention(
        "glm4v",
        "<|begin_of_box|>[x1, y1, x2, y2]<|end_of_box|>, 0–1000",
        ("GLM-4.5V", "GLM-4.6V"),
        Tagged("glm", None, None, "<|begin_of_box|>", "<|end_of_box|>", "flat"),
        "normalized",
        1000.0,
        models=(r"glm[-_ ]?4(\.\d)?v",),
    ),
    Convention(
        "minicpm-v",
        "<ref>label</ref><box>x1 y1 x2 y2</box> (spaces), 0–1000",
        ("MiniCPM-V 4.5",),
        Tagged("minicpm", layout="space"),
        "normalized",
        1000.0,
        models=(r"minicpm[-_ ]?v",),
    ),
    Convention(
        "llava-1.5",
        "bare [x1, y1, x2, y2] in 0–1 of the mean-padded square",
        ("LLaVA-1.5",),
        BareList(),
        "normalized",
        1.0,
        reference="square-pad",
        resolution=0.01,
        models=(r"llava[-_ ]?(v)?1\.5",),
    ),
    Convention(
        "kosmos2",
        "<phrase>label</phrase><object><patch_index_A><patch_index_B></object>, 32×32 cells",
        ("Kosmos-2",),
        KosmosPatches(),
        "normalized",
        1.0,
        resolution=1 / 32,
        binning="none",
        models=(r"kosmos[-_ ]?2",),
    ),
    Convention(
        "molmo",
        '<point x="61.5" y="40.6" alt="label">label</point>, percent; points only',
        ("Molmo",),
        MolmoPoints(),
        "normalized",
        100.0,
        resolution=0.1,
        models=(r"molmo(?!2)",),
    ),
):
    register(_convention)

__all__ = [
    "EXAMPLE_REGION",
    "EXAMPLE_SIZE",
    "MIN_EXTENT",
    "POINT_BOX_FRACTION",
    "QWEN_MAX_PIXELS",
    "QWEN_MAX_RATIO",
    "QWEN_MIN_PIXELS",
    "QWEN_PATCH_FACTOR",
    "Binning",
    "Convention",
    "Markup",
    "Reference",
    "convention_for_model",
    "conventions",
    "get_convention",
    "register",
    "sanitize_box",
    "smart_resize",
]
