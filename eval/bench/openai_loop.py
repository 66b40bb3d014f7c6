"""A hand-written ``AsyncOpenAI`` loop: the floor ``grounddefake eval`` is compared with (its own process).

    python eval/bench/openai_loop.py REQUEST_TEMPLATE.json MANIFEST.jsonl BASE_URL CONCURRENCY

For every image of the manifest: read the file, base64 it into the template's image part (the body ``grounddefake``
sends, captured by ``_common.request_template``), ``client.chat.completions.create``, keep the answer's text.
Nothing else: no parsing, no records, no scoring. Prints ``request_seconds: S`` (files read, sent and answered).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import sys
import time
from pathlib import Path

MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


def image_part(body: dict) -> dict:
    """The ``image_url`` part of the template's last user message."""
    for message in reversed(body["messages"]):
        if message["role"] == "user" and isinstance(message["content"], list):
            for part in message["content"]:
                if part.get("type") == "image_url":
                    return part["image_url"]
    raise ValueError("the request template has no image")


async def main(template: Path, manifest: Path, base_url: str, concurrency: int) -> None:
    from openai import AsyncOpenAI

    body = json.loads(template.read_text())
    paths = [manifest.parent / json.loads(line)["image"] for line in manifest.read_text().splitlines() if line.strip()]
    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)
    answers: list[str | None] = []

    async def one(path: Path) -> None:
        async with semaphore:
            request = copy.deepcopy(body)
            data = base64.b64encode(path.read_bytes()).decode()
            image_part(request)["url"] = f"data:{MEDIA_TYPES[path.suffix.lower()]};base64,{data}"
            response = await client.chat.completions.create(**request)
            answers.append(response.choices[0].message.content)

    start = time.perf_counter()
    await asyncio.gather(*(one(p) for p in paths))
    seconds = time.perf_counter() - start
    await client.close()
    if len(answers) != len(paths):
        raise SystemExit(f"{len(answers)} answers for {len(paths)} images")
    print(f"request_seconds: {seconds:.4f}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
