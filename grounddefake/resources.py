"""Where the shipped assets (prompt packs, report template, demo set) live, in a wheel or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """The directory of a shipped asset: ``prompts``, ``visualize`` or ``data/demo``.

    An installed wheel carries them under ``grounddefake/_assets/``; a checkout (editable install) has them at the
    repository root.
    """
    for candidate in (_PACKAGE / "_assets" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"grounddefake asset '{name}' is missing from this installation")


def demo_manifest() -> Path:
    """The manifest of the built-in demo set."""
    return asset_dir("data/demo") / "manifest.jsonl"
