"""Benchmark the parser: typical 1–2 KB answers per second on one core, for every convention.

Run from the repository root::

    .venv/bin/python eval/bench/parse.py [--n 4000] [--seconds 2]

Each answer is a rationale of a few sentences plus 1–4 regions in the family's own syntax (JSON for the JSON
families, fenced or bare; native markup for the others), some with a verdict tag, some with free text only, built
from a fixed seed. Goal (issue #3): at least 5,000 answers per second on one core. Printed side by side in one run:
answers/s through ``grounddefake.parse`` and, on the same texts, through a bare ``json.loads`` of the JSON part.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time

from grounddefake.conventions import conventions
from grounddefake.parsing import parse
from grounddefake.types import Region

GOAL_PER_SECOND = 5000
SENTENCES = [
    "The lighting on the subject's face comes from the left, while the shadows on the wall fall towards the left too.",
    "The fingers of the right hand merge into each other and there appear to be six of them.",
    "Text on the shop sign is garbled: the letters do not form words in any language.",
    "The reflection in the window does not match the scene in front of it.",
    "Noise in the sky is much lower than in the rest of the frame, as if that area had been painted over.",
    "The edges around the person are unnaturally smooth compared with the background texture.",
    "Perspective lines of the building converge to two different vanishing points.",
    "The texture of the grass repeats exactly in two places, which suggests cloning.",
    "Skin looks waxy and lacks pores, a common trait of diffusion models.",
    "The earrings differ in shape between the left and the right ear.",
    "JPEG blocking is visible everywhere except inside the pasted patch.",
    "Hair strands dissolve into the background instead of ending cleanly.",
]
LABELS = ["fused fingers", "garbled text", "inconsistent shadow", "smooth patch", "cloned grass", "waxy skin"]


def make_answers(n: int, seed: int = 20261122) -> list[tuple[str, object, tuple[int, int]]]:
    """(answer text, convention, image size) for ``n`` answers of 1–2 KB across all conventions."""
    rng = random.Random(seed)
    families = conventions()
    answers = []
    for i in range(n):
        convention = families[i % len(families)]
        width, height = rng.choice([(640, 480), (1024, 768), (1080, 1920), (512, 512), (3000, 2000)])
        regions = []
        for _ in range(rng.randint(1, 4)):
            x1, y1 = rng.uniform(0, width * 0.7), rng.uniform(0, height * 0.7)
            x2, y2 = x1 + rng.uniform(20, width * 0.3), y1 + rng.uniform(20, height * 0.3)
            regions.append(Region((x1, y1, x2, y2), label=rng.choice(LABELS), score=round(rng.random(), 2)))
        prose = " ".join(rng.choices(SENTENCES, k=rng.randint(9, 16)))
        boxes = convention.format(regions, (width, height))
        verdict = rng.choice(["fake", "real"])
        style = rng.randrange(3)
        if convention.syntax.json and style == 0:
            body = {"verdict": verdict, "rationale": prose, "regions": json.loads(boxes)}
            text = f"```json\n{json.dumps(body, indent=2)}\n```"
        elif style == 1:
            text = f"<verdict>{verdict}</verdict>\n{prose}\n{boxes}"
        else:
            text = f"After a careful look, I think this image is {'AI-generated' if verdict == 'fake' else 'real'}. "
            text += f"{prose}\n\nRegions: {boxes}"
        answers.append((text, convention, (width, height)))
    return answers


def rate(function, items, seconds: float) -> float:
    """Calls per second of ``function`` over ``items``, the best of repeated passes lasting ``seconds`` in all."""
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or not rates:
        start = time.perf_counter()
        for item in items:
            function(item)
        rates.append(len(items) / (time.perf_counter() - start))
    return max(rates)


_JSON_PART = re.compile(r"```json\n(.*?)\n```|(\[.*\])", re.DOTALL)


def json_only(item) -> object:
    match = _JSON_PART.search(item[0])
    if match is None:
        return None
    try:
        return json.loads(match.group(1) or match.group(2))
    except json.JSONDecodeError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3400, help="number of answers (default: 200 per convention)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    args = parser.parse_args()
    answers = make_answers(args.n)
    sizes = [len(text.encode()) for text, _, _ in answers]
    failures = sum(not parse(t, c, s).regions for t, c, s in answers)
    per_second = rate(lambda a: parse(a[0], a[1], a[2]), answers, args.seconds)
    json_per_second = rate(json_only, answers, args.seconds)
    print(f"answers: {len(answers)}  bytes median {statistics.median(sizes):.0f}  min {min(sizes)}  max {max(sizes)}")
    print(f"answers without a parsed region (should be 0): {failures}")
    print("per convention (answers/s):")
    for convention in conventions():
        mine = [a for a in answers if a[1] is convention]
        print(f"  {convention.name:13s} {rate(lambda a: parse(a[0], a[1], a[2]), mine, args.seconds / 6):8.0f}")
    print(f"parse_answers_per_second: {per_second:.0f}")
    print(f"json_loads_answers_per_second: {json_per_second:.0f}")
    print(f"parse_cost_vs_json_loads: {json_per_second / per_second:.1f}x")
    print(f"parse_goal_ratio: {per_second / GOAL_PER_SECOND:.2f} (goal {GOAL_PER_SECOND}/s; >= 1 meets it)")


if __name__ == "__main__":
    main()
