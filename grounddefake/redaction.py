"""Secrets kept out of everything written: endpoints with their credentials redacted, texts scrubbed of a key.

A key or a URL's credentials live only in memory (the HTTP clients). What is described or written shows an endpoint
as :func:`redact_url` has it (``http://***@host/v1?api-key=***``), and every text that comes back from a server
passes a :class:`Scrubber`, which masks the secrets in every form a message may carry them: verbatim, escaped as
Python, bytes or JSON would (``b'Bearer sk-x\\r'``), URL-quoted, in Basic-auth base64, and, for a secret with a
control character in it, each printable run of it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from grounddefake.types import Completion, TokenLogprob

MASK = "***"
MIN_SECRET = 4
"""Shorter strings are not scrubbed: masking ``x`` or ``v1`` everywhere would garble answers and protect nothing."""
_UNSCHEMED_USERINFO = re.compile(r"^[^/@?#]*@")


def redact_url(url: str) -> str:
    """``url`` with its user information, query values and fragment masked (the rest as given).

    >>> redact_url("http://user:secret@host:8000/v1?api-key=secret&v=2")
    'http://***@host:8000/v1?api-key=***&v=***'
    >>> redact_url("http://localhost:8000/v1")
    'http://localhost:8000/v1'
    """
    parts = urlsplit(url)
    if not parts.netloc:  # no scheme: ``user:pass@host/v1`` reads as scheme ``user``
        return _UNSCHEMED_USERINFO.sub(f"{MASK}@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(_redact_pair(pair) for pair in parts.query.split("&")) if parts.query else ""
    fragment = MASK if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def _redact_pair(pair: str) -> str:
    name, eq, value = pair.partition("=")
    if not eq:
        return MASK if name else name
    return f"{name}={MASK}" if value else pair


def is_redacted(url: str) -> bool:
    """Whether ``url`` lost credentials to :func:`redact_url` (it cannot reach its server as written)."""
    parts = urlsplit(url)
    masked = any(pair == MASK or pair.endswith(f"={MASK}") for pair in parts.query.split("&"))
    return f"{MASK}@" in url or masked or parts.fragment == MASK


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials in ``url``: the user information (its password, or a lone user: a token), query values and
    fragment, raw and decoded, and the Basic-auth base64 an HTTP client makes of the user information."""
    parts = urlsplit(url)
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0] if parts.netloc else ""
    if not parts.netloc and _UNSCHEMED_USERINFO.match(url):
        userinfo = url.partition("@")[0]
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found += [userinfo, password, unquote(password)] if colon else [user, unquote(user)]  # a lone user: a token
        found.append(base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii"))
    for pair in parts.query.split("&") if parts.query else ():
        name, eq, value = pair.partition("=")
        secret = value if eq else name
        found += [secret, unquote_plus(secret)]
    if parts.fragment:
        found += [parts.fragment, unquote(parts.fragment)]
    return tuple(dict.fromkeys(s for s in found if s))


def header_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent in an HTTP header (without quoting it), or None.

    Only visible ASCII is accepted: a control character (a ``\\r`` left by a CRLF ``.env`` file), a space or a
    non-ASCII letter makes the HTTP client raise an error that quotes the whole header, key included.
    """
    for i, char in enumerate(value):
        if not "!" <= char <= "~":
            what = "a control character" if ord(char) < 32 or ord(char) == 127 else "a space" if char == " " else None
            what = what or "a non-ASCII character"
            where = "at its end (a CRLF .env file?)" if not value[i:].strip() else f"at position {i + 1}"
            return f"{what} {where}"
    return None


def secret_forms(secret: str) -> set[str]:
    """The forms ``secret`` takes in messages: verbatim, escaped (Python str and bytes, JSON), URL-quoted, and
    its printable runs when it holds control characters or spaces."""
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        secret.encode("unicode_escape").decode("ascii"),
    }
    forms.update(run for run in re.split(r"[\x00-\x20\x7f]+", secret))
    return {form for form in forms if len(form) >= MIN_SECRET}


class Scrubber:
    """Masks secrets in texts: each endpoint URL becomes its redacted form, every secret form becomes ``***``."""

    def __init__(self, replacements: dict[str, str] | None = None) -> None:
        self.replacements = {k: v for k, v in (replacements or {}).items() if k != v}
        forms = sorted(self.replacements, key=lambda s: (-len(s), s))  # the longest match wins
        self.pattern = re.compile("|".join(re.escape(form) for form in forms)) if forms else None

    @classmethod
    def of(cls, secrets: Iterable[str | None] = (), urls: Iterable[str | None] = ()) -> Scrubber:
        """A scrubber for ``secrets`` (such as the API key) and the credentials of ``urls``."""
        replacements: dict[str, str] = {}
        for url in urls:
            if url and url != redact_url(url):
                replacements[url] = redact_url(url)
                replacements.update(dict.fromkeys((f for s in url_secrets(url) for f in secret_forms(s)), MASK))
        for secret in secrets:
            if secret:
                replacements.update(dict.fromkeys(secret_forms(secret), MASK))
        return cls(replacements)

    def __call__(self, text: str) -> str:
        if self.pattern is None or not isinstance(text, str):
            return text
        return self.pattern.sub(lambda m: self.replacements[m.group()], text)

    def finds(self, text: str) -> bool:
        """Whether ``text`` holds any secret form."""
        return self.pattern is not None and self.pattern.search(text) is not None


def scrub_completion(completion: Completion, scrub: Scrubber) -> Completion:
    """``completion`` with every string that reaches disk scrubbed: the text, the finish reason, each
    log-probability token (also a secret spread over several tokens) and each alternative."""
    if scrub.pattern is None:
        return completion
    tokens = [t.token for t in completion.logprobs or ()]
    strings = [completion.text, completion.finish_reason or "", *tokens]
    strings += [alt for t in completion.logprobs or () for alt, _ in t.top]
    if not scrub.finds("\x00".join(strings)) and not scrub.finds("".join(tokens)):
        return completion  # the usual case: one search, nothing copied
    logprobs = completion.logprobs
    if logprobs is not None:
        masked = _scrub_stream(tokens, scrub)
        logprobs = tuple(
            TokenLogprob(token, t.logprob, tuple((scrub(alt), lp) for alt, lp in t.top))
            for token, t in zip(masked, logprobs, strict=True)
        )
    finish = None if completion.finish_reason is None else scrub(completion.finish_reason)
    return replace(completion, text=scrub(completion.text), logprobs=logprobs, finish_reason=finish)


def _scrub_stream(tokens: list[str], scrub: Scrubber) -> list[str]:
    """``tokens`` with each secret form of their concatenation masked: the token where a form begins gets the mask,
    every token it covers loses its part of it."""
    joined = "".join(tokens)
    assert scrub.pattern is not None
    matches = [(m.start(), m.end(), scrub.replacements[m.group()]) for m in scrub.pattern.finditer(joined)]
    out: list[str] = []
    start = 0
    for token in tokens:
        end = start + len(token)
        pieces, cursor = [], start
        for s, e, mask in matches:
            if e <= start or s >= end:
                continue
            pieces += [joined[cursor:s]] if s > cursor else []
            pieces += [mask] if s >= start else []
            cursor = max(cursor, min(e, end))
        out.append("".join(pieces) + joined[cursor:end])
        start = end
    return out
