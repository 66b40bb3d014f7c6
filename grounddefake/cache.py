"""A content-addressed response cache: a request that once succeeded is never sent (or paid for) again.

The key is a hash of everything that decides the answer: the backend's identity (model, endpoint hosts), the prompt
pack's hash, the rendered messages, the image bytes' hashes, the generation parameters and the server options
(schema, log-probabilities). Values are Completions as JSON in one SQLite file (WAL: shards of a run may share it).
It lives in the platform's user cache folder unless ``--cache-dir`` or ``GROUNDDEFAKE_CACHE_DIR`` says otherwise.

A cache is an optimisation: when its database cannot be opened, read or written (a full disk, a read-only folder, a
damaged file), it turns itself off for the rest of the run and says why once in :attr:`ResponseCache.problem`; the
answers are still asked and written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from grounddefake.types import Completion, TokenLogprob, Usage

SCHEMA_VERSION = 1
CACHE_ERRORS = (sqlite3.Error, OSError)
"""What the database and the file system raise when the cache cannot be used."""


def default_cache_dir() -> Path:
    """``GROUNDDEFAKE_CACHE_DIR``, else the platform's user cache folder (XDG on Linux)."""
    if os.environ.get("GROUNDDEFAKE_CACHE_DIR"):
        return Path(os.environ["GROUNDDEFAKE_CACHE_DIR"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "grounddefake"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "grounddefake" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grounddefake"


def request_key(parts: dict[str, Any]) -> str:
    """The hex key of a request from its canonical JSON."""
    canonical = json.dumps({"v": SCHEMA_VERSION, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def completion_to_json(completion: Completion) -> dict[str, Any]:
    return {
        "text": completion.text,
        "logprobs": None
        if completion.logprobs is None
        else [[t.token, t.logprob, [list(a) for a in t.top]] for t in completion.logprobs],
        "usage": completion.usage.to_json(),
        "latency_s": completion.latency_s,
        "finish_reason": completion.finish_reason,
        "score": completion.score,
    }


def completion_from_json(data: dict[str, Any]) -> Completion:
    logprobs = data.get("logprobs")
    return Completion(
        text=data["text"],
        logprobs=None
        if logprobs is None
        else tuple(TokenLogprob(t, float(lp), tuple((a, float(b)) for a, b in top)) for t, lp, top in logprobs),
        usage=Usage(**data.get("usage", {})),
        latency_s=float(data.get("latency_s", 0.0)),
        finish_reason=data.get("finish_reason"),
        score=None if data.get("score") is None else float(data["score"]),
    )


class ResponseCache:
    """Completions by request key in ``<folder>/responses.sqlite3``.

    Attributes:
        problem: why the cache turned itself off (its first failure, with the database's path), or None while it
            works; once off, every read is a miss and every write is skipped.
    """

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self.path = self.folder / "responses.sqlite3"
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except CACHE_ERRORS as exc:
            self._turn_off(exc)
        self._execute("PRAGMA journal_mode=WAL")
        self._execute("PRAGMA synchronous=NORMAL")
        self._execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT, created REAL)")
        self._execute("CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, value TEXT)")

    def _execute(self, sql: str, values: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of ``sql`` (none once the cache is off); a failure turns the cache off for good."""
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, values).fetchall()
        except CACHE_ERRORS as exc:
            self._turn_off(exc)
            return []

    def _turn_off(self, exc: Exception) -> None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        self.problem = self.problem or f"response cache turned off for the rest of the run: {reason} ({self.path})"
        self.close()

    def get(self, key: str) -> Completion | None:
        rows = self._execute("SELECT value FROM responses WHERE key = ?", (key,))
        if not rows:
            return None
        try:
            return completion_from_json(json.loads(rows[0][0]))
        except (ValueError, KeyError, TypeError):
            return None  # an entry from another version: ask again

    def put(self, key: str, completion: Completion) -> None:
        value = json.dumps(completion_to_json(completion), ensure_ascii=False)
        self._execute(
            "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)", (key, value, time.time())
        )

    def get_fact(self, key: str) -> Any:
        """What was learnt about a server (such as the features it rejects), or None."""
        rows = self._execute("SELECT value FROM facts WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put_fact(self, key: str, value: Any) -> None:
        self._execute("INSERT OR REPLACE INTO facts (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def __len__(self) -> int:
        rows = self._execute("SELECT COUNT(*) FROM responses")
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(*CACHE_ERRORS):
                db.close()
