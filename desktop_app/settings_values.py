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


def default_settings_file() -> Path:
    """Where ``QSettings("LSTM Vault", "LSTM Vault")`` keeps its INI file on Linux (XDG config dir)."""
    import os
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "LSTM Vault" / "LSTM Vault.conf"


def sanitize_settings_file(path: Path) -> bool:
    """Drop ``@Variant(...)`` lines from a settings INI file before Qt reads it.

    The app never writes serialised QVariants (only strings, numbers and byte arrays); a hand-crafted one
    can make Qt's own deserialiser throw ``std::bad_alloc`` and abort the process while the file is parsed.
    Returns True when the file was rewritten (atomically). Unreadable files are left to Qt, which ignores them.
    """
    import os
    try:
        if not path.is_file() or path.stat().st_size > 16 * 1024 * 1024:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    if b"@Variant(" not in data:
        return False
    kept = b"\n".join(line for line in data.split(b"\n") if b"@Variant(" not in line)
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        tmp.write_bytes(kept)
        os.replace(tmp, path)
    except OSError:
        return False
    return True
