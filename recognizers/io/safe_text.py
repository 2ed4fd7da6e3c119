"""Printing user text (file names, labels, model names) so that one message stays one line.

A file name may hold a newline, an ANSI escape sequence (``\\x1b[2J`` clears a terminal), other control
characters, bytes that are not UTF-8 (Python keeps them as lone surrogates ``\\udcff``) or a lone surrogate
from a JSON ``"\\ud800"``. Written raw, these split our one-line errors, rewrite the terminal, or make
``print`` itself raise ``UnicodeEncodeError``. :func:`safe_text` escapes exactly those characters and keeps
everything else (accents, CJK, emoji) as it is.
"""
from __future__ import annotations

import os
import unicodedata

_ESCAPED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")   # control, format (bidi overrides), surrogate, separators


def _escape(ch: str) -> str:
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:          # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    if o < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch, f"\\x{o:02x}")
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def safe_text(value: object) -> str:
    """``str(value)`` with control characters, line breaks, bidi controls and surrogates escaped."""
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    s = value if isinstance(value, str) else str(value)
    if s.isprintable() and s.isascii():
        return s
    return "".join(_escape(ch) if unicodedata.category(ch) in _ESCAPED_CATEGORIES else ch for ch in s)


def is_clean_text(value: str) -> bool:
    """True if ``value`` prints as itself (no character :func:`safe_text` would escape)."""
    return safe_text(value) == value
