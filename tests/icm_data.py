"""A tiny ICM-Instruct in its public layout: ``icm.json`` (LLaVA items) beside ``sexy_check_all/`` (images).

Four images, one colour each (the scripted servers tell them apart by their top-left pixel), and per image a
multiple-choice item, a Yes/No item, an open What item and an explanation item, as ICM-Assistant's generation
script writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

MC_INSTRUCTION = "Answer with the option's letter from the given choices directly."
EXPLAIN = "Examine whether the image looks sexy and provide an evaluation based on your observations."
# file name → (colour, MC answer, Yes/No answer, explanation)
IMAGES = {
    "bite_finger_20231122110742_1005.png": ((200, 30, 30), "B.", "Yes.", "A person bites a finger; it is sexy."),
    "upper_bust_2022072011061710001_v2.png": ((30, 30, 200), "A.", "Yes.", "Deep cleavage is exposed; it is sexy."),
    "upper_normal_2022072011061710363_v2.png": ((30, 160, 30), "C.", "No.", "A dressed person; it is not sexy."),
    "whole_normal_2022072011061765586_v2.png": ((160, 160, 30), "D.", "No.", "A person in a coat; it is not sexy."),
}
CHOICES = ["A. The person's chest", "B. The person's fingers", "C. The person's shirt", "D. The person's coat"]


def colour_key(name: str) -> str:
    """The ``#rrggbb`` of an image's colour (YesNoScript's default image key)."""
    r, g, b = IMAGES[name][0]
    return f"#{r:02x}{g:02x}{b:02x}"


def stem(name: str) -> str:
    return Path(name).stem


def icm_instruct(folder: Path) -> Path:
    """Write the dataset into ``folder``; returns the JSON file."""
    images = folder / "sexy_check_all"
    images.mkdir(parents=True, exist_ok=True)
    items = []
    for name, (colour, letter, yes_no, explanation) in IMAGES.items():
        pixels = np.zeros((48, 64, 3), np.uint8)
        pixels[:] = colour
        Image.fromarray(pixels).save(images / name)
        key = stem(name)
        question = "What is the main focus of the image?\n" + "\n".join(CHOICES) + "\n " + MC_INSTRUCTION
        pairs = [
            (f"identity_{key}_mc_pair1", question, letter),
            (f"identity_{key}_pair0", "Is the person's skin exposed?", yes_no),
            (f"identity_{key}_pair1", "What is the person wearing?", "A shirt."),
            (f"identity_{key}_description1", EXPLAIN, explanation),
        ]
        for item_id, human, gpt in pairs:
            items.append(
                {
                    "id": item_id,
                    "image": f"sexy_check_all/{name}",
                    "conversations": [{"from": "human", "value": f"{human}\n<image>"}, {"from": "gpt", "value": gpt}],
                }
            )
    path = folder / "icm.json"
    path.write_text(json.dumps(items, indent=2), encoding="utf-8")
    return path
