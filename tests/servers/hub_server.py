"""A fake Hugging Face Hub on 127.0.0.1 that serves local folders as model repositories, for tests (aiohttp).

Enough of the Hub's API for ``huggingface_hub.snapshot_download`` / ``hf_hub_download``:

- ``GET /api/models/{repo_id}[/revision/{revision}]``: the repo's info (``sha``, ``siblings``);
- ``GET /api/models/{repo_id}/tree/{revision}[/{path}]``: the file listing (``?recursive=true`` for all of it);
- ``HEAD``/``GET /{repo_id}/resolve/{revision}/{path}``: a file, with ``X-Repo-Commit``, ``ETag`` (its git blob
  sha1) and ``Content-Length``. No ``X-Xet-*`` header or ``xetHash`` is ever sent, so the client downloads over
  plain HTTP.

Each repo has one fixed fake commit (:meth:`FakeHub.commit`); the revisions ``main`` and that commit are known.
Unknown repos answer 404 with ``X-Error-Code: RepoNotFound`` (``RepositoryNotFoundError`` in the client), unknown
revisions ``RevisionNotFound`` and missing files ``EntryNotFound``. Folders are read at request time. Every
request is recorded as ``"METHOD path"``.

In a test: ``with FakeHub({"acme/tiny": folder}) as hub: ...`` with ``HF_ENDPOINT=hub.endpoint``. If
``huggingface_hub`` is already imported, patch ``huggingface_hub.constants.ENDPOINT`` *and*
``HUGGINGFACE_CO_URL_TEMPLATE`` (file URLs are built from the latter, fixed at import time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.servers.background import BackgroundServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeHub(BackgroundServer):
    """The server, run on its own thread and event loop."""

    what = "the fake Hub"

    def __init__(self, repos: dict[str, Path]) -> None:
        self.repos = {repo_id: Path(folder) for repo_id, folder in repos.items()}
        self.port = 0
        self.requests: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def commit(repo_id: str) -> str:
        """The fake commit sha (40 hex digits) of a repo."""
        return hashlib.sha1(f"fake-hub-commit:{repo_id}".encode()).hexdigest()

    # -- helpers --------------------------------------------------------------------------------------------

    def _files(self, repo_id: str) -> dict[str, Path]:
        root = self.repos[repo_id]
        return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}

    def _check(self, request: web.Request) -> tuple[str, web.Response | None]:
        """The repo id of the request, and the error to answer if the repo or revision is unknown."""
        repo_id = f"{request.match_info['org']}/{request.match_info['name']}"
        if repo_id not in self.repos:
            return repo_id, _error(404, "RepoNotFound", "Repository not found")
        revision = request.match_info.get("revision", "main")
        if revision not in ("main", self.commit(repo_id)):
            return repo_id, _error(404, "RevisionNotFound", f"Invalid rev id: {revision}", self.commit(repo_id))
        return repo_id, None

    # -- handlers -------------------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        return await handler(request)

    async def _info(self, request: web.Request) -> web.Response:
        repo_id, error = self._check(request)
        if error is not None:
            return error
        body = {
            "_id": self.commit(repo_id)[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": self.commit(repo_id),
            "private": False,
            "gated": False,
            "disabled": False,
            "tags": [],
            "siblings": [{"rfilename": name} for name in self._files(repo_id)],
        }
        return web.json_response(body, headers={"X-Repo-Commit": self.commit(repo_id)})

    async def _tree(self, request: web.Request) -> web.Response:
        repo_id, error = self._check(request)
        if error is not None:
            return error
        prefix = request.match_info.get("path", "").strip("/")
        recursive = request.query.get("recursive", "false").lower() in ("1", "true")
        base = f"{prefix}/" if prefix else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, path in self._files(repo_id).items():
            if not name.startswith(base):
                continue
            parts = name[len(base) :].split("/")
            for depth in range(1, len(parts)):  # the folders on the way
                folder = base + "/".join(parts[:depth])
                if recursive or depth == 1:
                    entries.setdefault(folder, {"type": "directory", "oid": _sha1(folder.encode()), "path": folder})
            if recursive or len(parts) == 1:
                data = path.read_bytes()
                entries[name] = {"type": "file", "oid": _blob_id(data), "size": len(data), "path": name}
        if prefix and not entries:
            return _error(404, "EntryNotFound", f"{prefix} does not exist on main", self.commit(repo_id))
        return web.json_response(list(entries.values()))

    async def _resolve(self, request: web.Request) -> web.Response:
        repo_id, error = self._check(request)
        if error is not None:
            return error
        path = self._files(repo_id).get(request.match_info["path"])
        if path is None:
            return _error(404, "EntryNotFound", "Entry not found", self.commit(repo_id))
        data = path.read_bytes()
        headers = {"X-Repo-Commit": self.commit(repo_id), "ETag": f'"{_blob_id(data)}"', "Accept-Ranges": "none"}
        return web.Response(body=data, headers=headers, content_type="application/octet-stream")

    async def _unknown(self, request: web.Request) -> web.Response:
        return _error(404, None, "Sorry, we can't find the page you are looking for.")

    # -- lifecycle ------------------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        repo = "{org}/{name}"
        app.router.add_get(f"/api/models/{repo}", self._info)
        app.router.add_get(f"/api/models/{repo}/revision/{{revision}}", self._info)
        app.router.add_get(f"/api/models/{repo}/tree/{{revision}}", self._tree)
        app.router.add_get(f"/api/models/{repo}/tree/{{revision}}/{{path:.+}}", self._tree)
        app.router.add_get(f"/{repo}/resolve/{{revision}}/{{path:.+}}", self._resolve)  # and HEAD
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _blob_id(data: bytes) -> str:
    """The git blob sha1 of a file's bytes, as the Hub gives for a non-LFS file."""
    return _sha1(b"blob %d\0" % len(data) + data)


def _error(status: int, code: str | None, message: str, commit: str | None = None) -> web.Response:
    headers = {"X-Error-Message": message}
    if code is not None:
        headers["X-Error-Code"] = code
    if commit is not None:
        headers["X-Repo-Commit"] = commit
    return web.json_response({"error": message}, status=status, headers=headers)
