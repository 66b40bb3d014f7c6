"""The run directory: the one owner of its layout, its files and its lock.

A run directory holds one run, that is one model evaluated on one dataset with one configuration::

    config.json        what was asked and what it resolved to (never a secret)
    predictions.jsonl  one record per sample, appended and flushed as answers arrive
    samples.jsonl      one score row per sample (what the report is built from)
    metrics.json       every metric with its definition
    report.md          the summary as Markdown
    report.html        a self-contained page with the gallery
    overlays/          <sample id>.jpg, drawn by a pass of their own
    .lock              held (an OS file lock) while a process writes the directory

Every other module asks this one for a path or a file; none builds a run directory path itself.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from grounddefake.records import SampleScore, upgrade_record

CONFIG = "config.json"
PREDICTIONS = "predictions.jsonl"
SAMPLES = "samples.jsonl"
METRICS = "metrics.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
OVERLAYS = "overlays"
OVERLAY_SUFFIX = ".jpg"
"""Overlays are JPEGs (quality 90): a tenth of a PNG's size and time for a photograph."""
LEGACY_OVERLAY_SUFFIX = ".png"
"""Runs of schema 1 drew PNG overlays; they are still found."""
LOCK = ".lock"


class RunDirectoryError(ValueError):
    """A run directory cannot be used: not a run, another configuration's answers, or another process writes it."""


@contextmanager
def replacing(path: Path) -> Iterator[IO[str]]:
    """A text file that replaces ``path`` atomically when the block ends (a temporary file renamed over it): a kill
    never leaves half a file. The temporary name carries the process id, so two writers never rename each other's
    file away."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as sink:
        yield sink
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (see :func:`replacing`)."""
    with replacing(path) as sink:
        sink.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path, what: str) -> Any:
    """A JSON file of a run.

    Raises:
        FileNotFoundError: missing or unreadable, naming ``what``.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FileNotFoundError(f"{path}: {what} missing or unreadable ({exc})") from None


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file; blank lines, lines that are not objects and a torn last line are skipped."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as f:  # a damaged byte costs its line, not the file
        for line in f:
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                yield value


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """Prediction records by id (brought to the current schema), from a run's file or a user's; a later line for the
    same id wins."""
    return {str(r["id"]): upgrade_record(r) for r in read_jsonl(path) if "id" in r}


def repair_torn_tail(path: Path) -> None:
    """Cut a last line that a killed run left without its newline, so appending starts on a fresh line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        end = f.seek(0, 2)
        f.seek(end - 1)
        if f.read(1) == b"\n":
            return
        # Walk back from the end in blocks: the file can hold a whole benchmark's answers.
        position = end
        while position > 0:
            start = max(0, position - 65536)
            f.seek(start)
            newline = f.read(position - start).rfind(b"\n")
            if newline >= 0:
                f.truncate(start + newline + 1)
                return
            position = start
        f.truncate(0)


def overlay_name(sample_id: str, suffix: str = OVERLAY_SUFFIX) -> str:
    """A safe file name for a sample's overlay (ids may hold any characters); ids that had to be changed get a short
    hash, so ``a/b`` and ``a:b`` never share a file.

    >>> overlay_name("0001"), overlay_name("a/b")
    ('0001.jpg', 'a_b-c14cddc033.jpg')
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", sample_id)
    if safe != sample_id or len(safe) > 120:
        safe = f"{safe[:100]}-{hashlib.sha256(sample_id.encode('utf-8')).hexdigest()[:10]}"
    return safe + suffix


def find_overlay(sample_id: str, drawn: Set[str]) -> str | None:
    """The file name of ``sample_id``'s overlay among the ``drawn`` ones (a JPEG, or a PNG of a schema-1 run)."""
    for suffix in (OVERLAY_SUFFIX, LEGACY_OVERLAY_SUFFIX):
        name = overlay_name(sample_id, suffix)
        if name in drawn:
            return name
    return None


def default_run_dir(model: str, data: str) -> Path:
    """``runs/<time>-<model>-<data>``, with every character a file name may not hold replaced."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{model}-{Path(data).stem}")
    return Path("runs") / f"{stamp}-{safe}"


@dataclass(frozen=True)
class RunDir:
    """One run directory: paths, reading and writing of its files, and its lock."""

    path: Path

    @classmethod
    def at(cls, path: str | Path) -> RunDir:
        return cls(Path(path))

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def samples(self) -> Path:
        return self.path / SAMPLES

    @property
    def report_md(self) -> Path:
        return self.path / REPORT_MD

    @property
    def report_html(self) -> Path:
        return self.path / REPORT_HTML

    @property
    def overlays(self) -> Path:
        return self.path / OVERLAYS

    def overlay(self, sample_id: str) -> Path:
        """Where the overlay of ``sample_id`` is (or will be) drawn."""
        return self.overlays / overlay_name(sample_id)

    def drawn_overlays(self) -> set[str]:
        """File names of the overlays drawn so far (one directory listing)."""
        try:
            suffixes = (OVERLAY_SUFFIX, LEGACY_OVERLAY_SUFFIX)
            return {entry.name for entry in os.scandir(self.overlays) if entry.name.endswith(suffixes)}
        except OSError:
            return set()

    def create(self) -> RunDir:
        """Make the folder (and its parents).

        Raises:
            RunDirectoryError: the path is a file, or the folder cannot be made (permissions, a full disk).
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunDirectoryError(f"{self.path} is a file, not a run directory; choose another --out")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirectoryError(f"{self.path}: cannot make the run directory ({exc.strerror or exc})") from None
        return self

    # -- config and metrics ------------------------------------------------------------------------------------------

    def has_config(self) -> bool:
        return (self.path / CONFIG).is_file()

    def read_config(self) -> dict[str, Any]:
        """``config.json``.

        Raises:
            RunDirectoryError: missing, unreadable, or not a grounddefake run configuration.
        """
        try:
            config = json.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunDirectoryError(f"{self.path} is not a run directory (no readable config.json: {exc})") from None
        if not isinstance(config, dict) or "run_key" not in config:
            raise RunDirectoryError(f"{self.path}/config.json is not a grounddefake run configuration")
        return config

    def write_config(self, config: Mapping[str, Any]) -> None:
        write_json(self.path / CONFIG, dict(config))

    def read_metrics(self) -> dict[str, Any]:
        """``metrics.json``.

        Raises:
            FileNotFoundError: missing or unreadable.
        """
        return read_json(self.path / METRICS, "metrics.json")

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        write_json(self.path / METRICS, dict(metrics))

    def check_answers_belong(self, run_key: str) -> None:
        """Refuse to mix answers of different configurations in one run directory.

        Raises:
            RunDirectoryError: the directory holds predictions of another configuration.
        """
        if not self.predictions.exists() or self.predictions.stat().st_size == 0 or not self.has_config():
            return
        try:
            previous = json.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            previous = {}
        if previous.get("run_key") != run_key:
            raise RunDirectoryError(
                f"{self.path} holds predictions of another configuration (model {previous.get('model')!r}, prompt "
                f"{previous.get('prompt')!r}); choose another --out, or delete that folder to start over"
            )

    # -- predictions -------------------------------------------------------------------------------------------------

    def read_predictions(self) -> dict[str, dict[str, Any]]:
        return read_predictions(self.predictions)

    @contextmanager
    def appending_predictions(self) -> Iterator[IO[str]]:
        """The predictions file open for appending, its torn last line (a killed run's) cut first."""
        repair_torn_tail(self.predictions)
        with open(self.predictions, "a", encoding="utf-8") as sink:
            yield sink

    def write_predictions(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replace the predictions file with ``records`` (merged shards, a scored file made elsewhere)."""
        _write_jsonl(self.predictions, records)

    # -- score rows and reports --------------------------------------------------------------------------------------

    def write_samples(self, rows: Iterable[SampleScore]) -> None:
        """The per-sample score rows (``samples.jsonl``): what the report's gallery and histograms are built from."""
        _write_jsonl(self.samples, (row.to_json() for row in rows))

    def read_samples(self) -> list[SampleScore]:
        """The score rows (any schema).

        Raises:
            FileNotFoundError: the run has none.
        """
        if not self.samples.is_file():
            raise FileNotFoundError(f"{self.samples}: missing; rebuild it with `grounddefake score` or re-run eval")
        return [SampleScore.from_json(row) for row in read_jsonl(self.samples)]

    def write_report(self, markdown: str, html: str) -> tuple[Path, Path]:
        """Write ``report.md`` and ``report.html``; returns their paths."""
        for path, text in ((self.report_md, markdown), (self.report_html, html)):
            with replacing(path) as sink:
                sink.write(text)
        return self.report_md, self.report_html

    # -- lock --------------------------------------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[RunDir]:
        """Hold the directory's lock while writing it: a second writer gets :class:`RunDirectoryError` at once.

        The lock is the operating system's (``flock``), so a crashed or killed process releases it.
        """
        self.create()
        try:
            handle = open(self.path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
        except OSError as exc:
            raise RunDirectoryError(f"{self.path}: cannot write in the run directory ({exc.strerror or exc})") from None
        try:
            _lock_exclusive(handle, self.path)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield self
        finally:
            handle.close()  # closing releases the lock


def _write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Replace ``path`` with one JSON line per row, atomically."""
    with replacing(path) as sink:
        for row in rows:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def _lock_exclusive(handle: IO[str], path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            handle.close()
            raise RunDirectoryError(
                f"{path} is being written by another process; wait for it or use another --out"
            ) from None
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise RunDirectoryError(
            f"{path} is being written by another process{who}; wait for it or use another --out"
        ) from None
