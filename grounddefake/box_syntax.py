"""How boxes are written in text: one place to import every box syntax from.

The machinery lives in modules of one idea each:

- :mod:`grounddefake.model_regions`: :class:`ModelRegion` (numbers as the model wrote them) and the :class:`Syntax`
  interface;
- :mod:`grounddefake.json_recovery`: JSON found anywhere in an answer, repaired when truncated;
- :mod:`grounddefake.json_regions`: which JSON keys hold boxes, points, labels and scores; the JSON-list syntax;
- :mod:`grounddefake.native_syntaxes`: each model family's own markup (Qwen tokens, PaliGemma ``<locNNNN>``, …).

What the numbers mean (pixels, 0–1000, y first, …) is the convention's business: :mod:`grounddefake.conventions`.
"""

from __future__ import annotations

from grounddefake.json_recovery import JsonValue, iter_json, loads_tolerant
from grounddefake.json_regions import (
    BOX_KEYS,
    LABEL_KEYS,
    POINT_KEYS,
    REGION_LIST_KEYS,
    SCORE_KEYS,
    JsonList,
    first_key,
    is_region,
    item_regions,
    read_items,
    region_items,
)
from grounddefake.model_regions import (
    MAX_ITEMS,
    MAX_LABEL,
    NUMBER,
    Found,
    Markup,
    ModelRegion,
    Syntax,
    clean_label,
    format_number,
)
from grounddefake.native_syntaxes import (
    KOSMOS_GRID,
    BareList,
    DoubleBracket,
    Florence,
    KosmosPatches,
    LocTokens,
    MolmoPoints,
    Tagged,
    box_to_patch_index,
    patch_index_to_box,
)

__all__ = [
    "BOX_KEYS",
    "KOSMOS_GRID",
    "LABEL_KEYS",
    "MAX_ITEMS",
    "MAX_LABEL",
    "NUMBER",
    "POINT_KEYS",
    "REGION_LIST_KEYS",
    "SCORE_KEYS",
    "BareList",
    "DoubleBracket",
    "Florence",
    "Found",
    "JsonList",
    "JsonValue",
    "KosmosPatches",
    "LocTokens",
    "Markup",
    "ModelRegion",
    "MolmoPoints",
    "Syntax",
    "Tagged",
    "box_to_patch_index",
    "clean_label",
    "first_key",
    "format_number",
    "is_region",
    "item_regions",
    "iter_json",
    "loads_tolerant",
    "patch_index_to_box",
    "read_items",
    "region_items",
]
