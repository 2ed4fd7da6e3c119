"""Reading QSettings defensively: the settings file is the user's (or another version's), and any key may
hold a value of the wrong type, garbage, or a path the file system refuses. Each reader returns the type
the window needs or the default, never raises."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_SETTING_CHARS = 4096     # longer strings are not paths or names this app wrote


def setting_str(settings: QSettings, key: str, default: str = "") -> str:
    try:
        value = settings.value(key, default)
    except Exception:   # noqa: BLE001 - a value Qt cannot turn into Python
        return default
    if isinstance(value, str) and len(value) <= MAX_SETTING_CHARS and "\x00" not in value:
        return value
    return default


def setting_str_list(settings: QSettings, key: str, max_items: int = 100) -> list[str]:
    """A list of strings (QSettings gives a bare string for a one-item list); other items are dropped."""
    try:
        value = settings.value(key, [])
    except Exception:   # noqa: BLE001
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [v for v in value[:max_items] if isinstance(v, str) and 0 < len(v) <= MAX_SETTING_CHARS
            and "\x00" not in v]


def setting_bytes(settings: QSettings, key: str) -> QByteArray | None:
    try:
        value = settings.value(key)
    except Exception:   # noqa: BLE001
        return None
    if isinstance(value, QByteArray):
        return value
    if isinstance(value, (bytes, bytearray)):
        return QByteArray(bytes(value))
    return None


def path_exists(value: str) -> bool:
    """``Path(value).exists()`` that answers False for names the file system refuses (too long, bad bytes)."""
    try:
        return bool(value) and Path(value).exists()
    except (OSError, ValueError):
        return False
