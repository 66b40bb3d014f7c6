"""Untrusted text (model answers, error bodies, dataset ids) made safe to print, to put in Markdown, or to write as
JSON.

A terminal obeys escape sequences: ESC ``[2J`` clears the screen, OSC sets the window title or makes a link, C1
``CSI`` does the same in one byte, and bidirectional overrides reorder what the eye reads. Every such character is
shown as a visible escape (``\\x1b``, ``\\u202e``) instead; newline and tab stay where text may have several lines.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\t\n{_CONTROLS}]")
_MULTI_LINE = re.compile(f"[{_CONTROLS}]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, multiline: bool = False) -> str:
    """``text`` with every control character (C0, DEL, C1, bidirectional controls) shown as an escape; newline and
    tab are kept when ``multiline``.

    >>> visible("fake\\x1b]0;pwned\\x07 hand")
    'fake\\\\x1b]0;pwned\\\\x07 hand'
    >>> visible("line 1\\nline 2", multiline=True), visible("line 1\\nline 2")
    ('line 1\\nline 2', 'line 1\\\\x0aline 2')
    """
    return (_MULTI_LINE if multiline else _ONE_LINE).sub(_escape, str(text))


def json_line(value: Any, **options: Any) -> str:
    """``value`` as JSON whose every control character is a ``\\u`` escape (JSON escapes C0 itself; C1,
    bidirectional controls and line separators are escaped here too), readable text kept as it is.

    >>> json_line({"label": "a\\x9b2Jb\\u202e"})
    '{"label": "a\\\\u009b2Jb\\\\u202e"}'
    """
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
